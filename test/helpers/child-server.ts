// Starts openwork-server as a real child process (through tsx, no build needed) and reads
// the URL and tokens it prints.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const CLI = fileURLToPath(new URL("../../src/cli.ts", import.meta.url));
/** tsx's loader by absolute URL, so the child can run in any working directory. */
export const TSX = import.meta.resolve("tsx");

export interface ChildServer {
  proc: ChildProcess;
  url: string;
  stdout: () => string;
  stderr: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function runCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const proc = spawn(process.execPath, ["--import", TSX, CLI, ...args], {
      cwd: options.cwd ?? ROOT,
      env: { ...process.env, OPENWORK_LOG_LEVEL: "silent", ...options.env },
    });
    let stdout = "";
    let stderr = "";
    proc.stdout.on("data", (d) => (stdout += d));
    proc.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`CLI did not exit in time: ${stdout}${stderr}`));
    }, options.timeoutMs ?? 15_000);
    proc.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export async function startChildServer(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; readyTimeoutMs?: number } = {},
): Promise<ChildServer> {
  const proc = spawn(process.execPath, ["--import", TSX, CLI, "--port", "0", ...args], {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, OPENWORK_LOG_LEVEL: "silent", ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (err += d));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}${err}`)), options.readyTimeoutMs ?? 20_000);
    const check = () => {
      const match = /listening on (https?:\/\/[^\s,]+)/.exec(out);
      if (match?.[1] && out.includes("Workspaces:")) {
        clearTimeout(timer);
        // Give the printing a moment to finish (tokens follow the URL line).
        setTimeout(() => resolve(match[1]!), 50);
      }
    };
    proc.stdout!.on("data", check);
    proc.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}: ${out}${err}`));
    });
  });
  return {
    proc,
    url,
    stdout: () => out,
    stderr: () => err,
    stop(signal = "SIGTERM") {
      return new Promise((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve(proc.exitCode);
        proc.once("exit", (code) => resolve(code));
        proc.kill(signal);
      });
    },
  };
}

/**
 * Requests to our child servers with `token` as the bearer: `(base, method, path, body?, headers?)`.
 * A body is sent as JSON (a string as it is).
 */
export function clientOf(token: string) {
  return (base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${token}`,
        ...(body !== undefined ? { "Content-Type": "application/json" } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(60_000),
    });
}

/** The JSON body of an answer that has `status` (the body text is the failure message). */
export async function okJson<T = any>(res: Response, status = 200): Promise<T> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  return JSON.parse(text) as T;
}
