// Engine reachability for `GET /status` ("test connection"). Each engine is probed with
// `GET <baseUrl>/global/health`, bounded by a short timeout, and the answer is kept for a few
// seconds: a burst of status calls costs one probe, and a hanging engine costs each caller at
// most the timeout. A stale answer is served at once while a fresh probe runs behind it.
import type { EngineTarget } from "./engine.js";

export interface EngineHealth {
  reachable: boolean;
  latencyMs?: number;
  error?: string;
}

export interface EngineProbeOptions {
  /** How long one probe may take (default 1500 ms). */
  timeoutMs?: number;
  /** How long an answer is fresh (default 5000 ms). */
  ttlMs?: number;
}

interface Entry {
  at: number;
  result?: EngineHealth;
  running?: Promise<EngineHealth>;
}

export class EngineProbe {
  private readonly entries = new Map<string, Entry>();
  private readonly timeoutMs: number;
  private readonly ttlMs: number;

  constructor(
    private readonly auth: { username: string; password: string } | undefined,
    options: EngineProbeOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 1500;
    this.ttlMs = options.ttlMs ?? 5000;
  }

  async health(target: EngineTarget): Promise<EngineHealth> {
    const key = target.baseUrl;
    const entry = this.entries.get(key) ?? { at: 0 };
    this.entries.set(key, entry);
    const fresh = entry.result && Date.now() - entry.at < this.ttlMs;
    if (!fresh && !entry.running) {
      entry.running = this.probe(target).then((result) => {
        entry.result = result;
        entry.at = Date.now();
        entry.running = undefined;
        return result;
      });
    }
    return entry.result ?? (entry.running as Promise<EngineHealth>);
  }

  private async probe(target: EngineTarget): Promise<EngineHealth> {
    const url = new URL("global/health", target.baseUrl.endsWith("/") ? target.baseUrl : `${target.baseUrl}/`);
    const headers: Record<string, string> = { Accept: "application/json" };
    if (this.auth) headers.Authorization = `Basic ${Buffer.from(`${this.auth.username}:${this.auth.password}`).toString("base64")}`;
    const started = performance.now();
    try {
      const res = await fetch(url, { headers, signal: AbortSignal.timeout(this.timeoutMs), redirect: "manual" });
      await res.body?.cancel();
      const latencyMs = Math.round(performance.now() - started);
      if (res.status === 401)
        return { reachable: true, latencyMs, error: "the engine refused our credentials (401): check --opencode-password" };
      if (!res.ok) return { reachable: true, latencyMs, error: `the engine answered ${res.status}` };
      return { reachable: true, latencyMs };
    } catch (error) {
      const name = (error as { name?: string }).name;
      if (name === "TimeoutError" || name === "AbortError") return { reachable: false, error: `no answer within ${this.timeoutMs} ms` };
      const code = (error as { cause?: { code?: string } }).cause?.code;
      return { reachable: false, error: code ? `unreachable (${code})` : "unreachable" };
    }
  }
}
