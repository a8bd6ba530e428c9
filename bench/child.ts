// Starting the processes a benchmark measures: our server (the built CLI) and the baselines, each
// a child that prints the port it listens on.
import { type ChildProcess, spawn } from "node:child_process";

export interface Child {
  proc: ChildProcess;
  port: number;
  /** From spawn to the port being printed. */
  startedMs: number;
}

/** What our server prints once it listens. */
export const SERVER_LISTENING = /listening on http:\/\/127\.0\.0\.1:(\d+)/;

/** Runs `node <args>` and resolves once its stdout matches `pattern` (the port in group 1). */
export function spawnAndWait(args: string[], pattern: RegExp, env: NodeJS.ProcessEnv = {}): Promise<Child> {
  const started = performance.now();
  const proc = spawn(process.execPath, args, {
    env: { ...process.env, OPENWORK_LOG_LEVEL: "silent", ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let out = "";
    proc.stdout!.on("data", (d) => {
      out += d;
      const match = pattern.exec(out);
      if (match?.[1]) resolve({ proc, port: Number(match[1]), startedMs: performance.now() - started });
    });
    proc.on("exit", (code) => reject(new Error(`${args[0]} exited ${code}: ${out}`)));
  });
}
