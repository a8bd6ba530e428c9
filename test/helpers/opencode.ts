// Starts a REAL OpenCode engine (`opencode serve` from the opencode-ai dev dependency) for
// integration tests: inside a fresh git repository, with a password, offline and isolated.
// - HOME and XDG_* point at a temp folder, so the user's own config, auth and data are untouched.
// - Nothing waits on the network: npm (which OpenCode runs to add @opencode-ai/plugin to every
//   config folder) is pointed at a closed loopback port with no retries, so it fails at once;
//   autoupdate, the models.dev fetch, LSP downloads, sharing and default plugins are disabled.
// - The engine runs in its own process group and is killed with it by `stop()`, and by an exit
//   hook should the test process end first.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const OPENCODE_BIN = fileURLToPath(new URL("../../node_modules/.bin/opencode", import.meta.url));

export interface Engine {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  username: string;
  password: string;
  /** The git repository the engine was started in (the workspace). */
  repo: string;
  /** The temp folder used as HOME / XDG base. */
  home: string;
  proc: ChildProcess;
  /** Everything the engine printed so far (stdout + stderr). */
  logs(): string;
  /** `fetch` against the engine with its basic auth; `path` may carry a query. */
  request(path: string, init?: RequestInit & { directory?: string }): Promise<Response>;
  /** Stops the engine (its whole process group) and removes the temp folders unless `keep`. */
  stop(options?: { keep?: boolean }): Promise<void>;
}

export interface EngineStartOptions {
  password?: string;
  username?: string;
  /** How long to wait for the engine to answer (default 60 s). */
  readyTimeoutMs?: number;
}

const live = new Set<ChildProcess>();
let hooked = false;
function killGroup(proc: ChildProcess, signal: NodeJS.Signals) {
  if (proc.pid === undefined) return;
  try {
    process.kill(-proc.pid, signal);
  } catch {
    try {
      proc.kill(signal);
    } catch {}
  }
}
function hookExit() {
  if (hooked) return;
  hooked = true;
  // Last resort: never leave an engine behind, whatever happened to the test.
  const killAll = () => {
    for (const proc of live) killGroup(proc, "SIGKILL");
  };
  process.on("exit", killAll);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      killAll();
      process.kill(process.pid, signal); // then the default action
    });
  }
}

/** The environment the engine runs with: nothing of the user's, nothing that reaches the network. */
export function engineEnv(home: string, auth: { username: string; password: string }): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    LANG: "C.UTF-8",
    TMPDIR: tmpdir(),
    HOME: home,
    USERPROFILE: home,
    XDG_CONFIG_HOME: join(home, ".config"),
    XDG_DATA_HOME: join(home, ".local", "share"),
    XDG_CACHE_HOME: join(home, ".cache"),
    XDG_STATE_HOME: join(home, ".local", "state"),
    // npm: a closed port, no retries (the default retry back-off waits over a minute per folder).
    npm_config_registry: "http://127.0.0.1:9/",
    npm_config_fetch_retries: "0",
    npm_config_fetch_retry_mintimeout: "10",
    npm_config_fetch_retry_maxtimeout: "10",
    npm_config_fetch_timeout: "2000",
    npm_config_cache: join(home, ".npm"),
    npm_config_audit: "false",
    npm_config_fund: "false",
    npm_config_update_notifier: "false",
    OPENCODE_DISABLE_AUTOUPDATE: "1",
    OPENCODE_DISABLE_MODELS_FETCH: "1",
    OPENCODE_DISABLE_LSP_DOWNLOAD: "1",
    OPENCODE_DISABLE_DEFAULT_PLUGINS: "1",
    OPENCODE_DISABLE_SHARE: "1",
    OPENCODE_SERVER_USERNAME: auth.username,
    OPENCODE_SERVER_PASSWORD: auth.password,
  };
}

export async function startOpencode(options: EngineStartOptions = {}): Promise<Engine> {
  hookExit();
  const base = await mkdtemp(join(tmpdir(), "ows-engine-"));
  const home = join(base, "home");
  const repo = join(base, "repo");
  await mkdir(join(home, ".config"), { recursive: true });
  await mkdir(repo, { recursive: true });
  execFileSync("git", ["init", "-q"], { cwd: repo, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home } });
  const username = options.username ?? "opencode";
  const password = options.password ?? `pw-${Math.random().toString(36).slice(2)}`;

  const proc = spawn(OPENCODE_BIN, ["serve", "--port", "0", "--hostname", "127.0.0.1", "--print-logs", "--log-level", "WARN"], {
    cwd: repo,
    env: engineEnv(home, { username, password }),
    detached: true, // its own process group, so stop() takes any children with it
    stdio: ["ignore", "pipe", "pipe"],
  });
  live.add(proc);
  let output = "";
  proc.stdout!.on("data", (d) => (output += d));
  proc.stderr!.on("data", (d) => (output += d));

  const authHeader = `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
  let stopped = false;
  const stop = async ({ keep = false } = {}) => {
    if (!stopped) {
      stopped = true;
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
        killGroup(proc, "SIGTERM");
        const timer = setTimeout(() => killGroup(proc, "SIGKILL"), 3000);
        await exited;
        clearTimeout(timer);
      }
      killGroup(proc, "SIGKILL"); // anything left in the group
      live.delete(proc);
    }
    if (!keep) await rm(base, { recursive: true, force: true }).catch(() => {});
  };

  try {
    const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
    const deadline = Date.now() + readyTimeoutMs;
    const url = await new Promise<string>((resolve, reject) => {
      // Settles once; the listeners go with it (the engine prints for as long as it runs).
      const settle = (error: Error | null, found?: string) => {
        clearTimeout(timer);
        proc.stdout!.off("data", check);
        proc.stderr!.off("data", check);
        proc.off("exit", exited);
        if (error) reject(error);
        else resolve(found!);
      };
      const timer = setTimeout(() => settle(new Error(`opencode did not start in ${readyTimeoutMs} ms:\n${output}`)), readyTimeoutMs);
      const check = () => {
        const match = /listening on (http:\/\/[\d.]+:\d+)/.exec(output);
        if (match?.[1]) settle(null, match[1]);
      };
      const exited = (code: number | null, signal: NodeJS.Signals | null) =>
        settle(new Error(`opencode exited (${code ?? signal}) before listening:\n${output}`));
      proc.stdout!.on("data", check);
      proc.stderr!.on("data", check);
      proc.once("exit", exited);
    });

    const request = (path: string, init: RequestInit & { directory?: string } = {}) => {
      const target = new URL(path, `${url}/`);
      if (init.directory) target.searchParams.set("directory", init.directory);
      const { directory: _d, headers, ...rest } = init;
      return fetch(target, {
        signal: AbortSignal.timeout(15_000),
        ...rest,
        headers: { Authorization: authHeader, ...(headers as Record<string, string>) },
      });
    };

    // Ready when the project instance answers (this also boots it). One request can stall while
    // the engine starts, so each try has its own short timeout.
    for (;;) {
      try {
        const res = await fetch(new URL(`/session/status?directory=${encodeURIComponent(repo)}`, url), {
          headers: { Authorization: authHeader },
          signal: AbortSignal.timeout(5000),
        });
        if (res.ok) {
          await res.text();
          break;
        }
      } catch {}
      if (Date.now() > deadline) throw new Error(`opencode did not answer in ${readyTimeoutMs} ms:\n${output}`);
      await new Promise((r) => setTimeout(r, 200));
    }

    return { url, username, password, repo, home, proc, logs: () => output, request, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
