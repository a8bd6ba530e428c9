// The OpenCode engine client: what `POST /workspace/:id/engine/reload` does.
// OpenCode reads its config, skills, commands, agents and plugins once per instance (one per
// directory) and does not hot-reload them; `POST /instance/dispose?directory=` drops the instance
// so the next request builds a fresh one from the files. Disposing aborts a running session, so by
// default we first wait (bounded) until `GET /session/status?directory=` shows no busy session.
import { ApiError } from "../errors.js";
import type { Workspace } from "../workspaces.js";

export interface EngineOptions {
  /** How long one engine request may take before we answer 504 (default 10 s). */
  requestTimeoutMs?: number;
  /** How long a reload waits for busy sessions to finish (default 30 s). */
  idleWaitMs?: number;
  /** How often the session status is polled while waiting (default 500 ms). */
  pollIntervalMs?: number;
}

export interface EngineTarget {
  baseUrl: string;
  directory: string;
}

export const ENGINE_DEFAULTS = { requestTimeoutMs: 10_000, idleWaitMs: 30_000, pollIntervalMs: 500 };

/** The engine a workspace is served by: 400 `opencode_not_configured` when it has none. */
export function engineTarget(workspace: Workspace): EngineTarget {
  if (!workspace.baseUrl) {
    throw new ApiError(400, "opencode_not_configured", "No OpenCode engine is configured for this workspace", {
      hint: "start the server with --opencode-base-url (or set baseUrl on the workspace in the config file)",
    });
  }
  return { baseUrl: workspace.baseUrl, directory: workspace.directory ?? workspace.path };
}

/** Session ids whose status is anything but idle (busy, retry). */
export function busySessions(status: unknown): string[] {
  if (!status || typeof status !== "object" || Array.isArray(status)) return [];
  return Object.entries(status as Record<string, unknown>)
    .filter(([, value]) => !(value && typeof value === "object" && (value as { type?: unknown }).type === "idle"))
    .map(([id]) => id);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class EngineClient {
  private readonly options: Required<EngineOptions>;

  constructor(
    private readonly auth: { username: string; password: string } | undefined,
    options: EngineOptions = {},
  ) {
    this.options = { ...ENGINE_DEFAULTS, ...stripUndefined(options) };
  }

  /**
   * Drops the engine's instance for the target directory, so the next request builds a fresh one
   * from the files. Returns when it was done (ms since the epoch).
   */
  async dispose(target: EngineTarget): Promise<number> {
    await this.call(target, "POST", "instance/dispose");
    return Date.now();
  }

  /**
   * Polls the session status until no session is busy; 409 `opencode_busy` after `waitMs`
   * (default `idleWaitMs`). An engine without session status (404) counts as idle.
   */
  async waitUntilIdle(target: EngineTarget, waitMs = this.options.idleWaitMs): Promise<void> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const res = await this.call(target, "GET", "session/status", { allow404: true });
      // An engine without session status: nothing to wait for.
      if (res.status === 404) return;
      let status: unknown;
      try {
        status = JSON.parse(res.text);
      } catch {
        status = {};
      }
      const busy = busySessions(status);
      if (busy.length === 0) return;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new ApiError(409, "opencode_busy", "The engine is still running a session; retry later or reload with ?force=true", {
          sessions: busy,
          waitedMs: waitMs,
        });
      }
      await sleep(Math.min(this.options.pollIntervalMs, left));
    }
  }

  /** One engine request, its body read in full: 504 on timeout, 502 when unreachable or non-2xx. */
  private async call(
    target: EngineTarget,
    method: string,
    path: string,
    opts: { allow404?: boolean } = {},
  ): Promise<{ status: number; text: string }> {
    const base = target.baseUrl.endsWith("/") ? target.baseUrl : `${target.baseUrl}/`;
    const url = new URL(path, base);
    url.searchParams.set("directory", target.directory);
    const headers: Record<string, string> = { Accept: "application/json" };
    if (this.auth) {
      headers.Authorization = `Basic ${Buffer.from(`${this.auth.username}:${this.auth.password}`).toString("base64")}`;
    }
    const timeoutMs = this.options.requestTimeoutMs;
    let status: number;
    let text: string;
    try {
      const res = await fetch(url, { method, headers, signal: AbortSignal.timeout(timeoutMs), redirect: "manual" });
      status = res.status;
      text = await res.text();
    } catch (error) {
      const name = (error as { name?: string }).name;
      if (name === "TimeoutError" || name === "AbortError") {
        throw new ApiError(504, "opencode_timeout", `The engine did not answer within ${timeoutMs} ms`, {
          baseUrl: target.baseUrl,
          timeoutMs,
        });
      }
      const cause = (error as { cause?: { code?: string } }).cause;
      throw new ApiError(502, "opencode_unreachable", "The engine is unreachable", {
        baseUrl: target.baseUrl,
        ...(cause?.code ? { reason: cause.code } : {}),
      });
    }
    if ((status >= 200 && status < 300) || (opts.allow404 && status === 404)) return { status, text };
    throw new ApiError(502, "opencode_reload_failed", `The engine answered ${status} to ${method} /${path}`, {
      status,
      ...(text ? { body: text.slice(0, 500) } : {}),
      ...(status === 401 ? { hint: "check --opencode-username / --opencode-password" } : {}),
    });
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
