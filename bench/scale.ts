// `npm run bench -- --skills 20000`: the scale goals (issue 14), each measured against a limit
// measured in the same run, or against the fixed bound the goal names:
//   startup to /health (bound 500 ms; bare node:http startup shown beside it)
//   idle RSS after the first listing (bound 120 MiB; read after 10 s without requests)
//   warm skills listing vs bare node:http serving the same bytes (ratio >= 0.5)
//   listing right after a one-skill write (bound 50 ms)
//   durable skill write p50 vs the fsync floor (ratio <= 3): the floor is the same disk work done
//     directly by this process (temp file + fsync + rename + folder fsync + audit append + fsync)
//   write p50 with 1,000 event subscribers vs none (ratio <= 1.5)
import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, open, readFile, rename, writeFile } from "node:fs/promises";
import { Agent, request } from "node:http";
import { join } from "node:path";
import { createInterface } from "node:readline";
import autocannon from "autocannon";
import { workspaceId } from "../src/workspaces.js";
import { generateWorkspace, skillText } from "./workspace.js";

export interface ScaleOptions {
  dir: string;
  skills: number;
  duration: number;
  connections: number;
  rounds: number;
  cli: string;
  token: string;
  subscribers: number;
  writes: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

interface Answer {
  status: number;
  body: string;
}

const agent = new Agent({ keepAlive: true, maxSockets: 1 });

/** One request over a kept-alive connection (sequential writes measure the server, not the client). */
function call(port: number, method: string, path: string, token: string, body?: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      {
        host: "127.0.0.1",
        port,
        method,
        path,
        agent,
        headers: {
          Authorization: `Bearer ${token}`,
          ...(data ? { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(data) } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
      },
    );
    req.on("error", reject);
    req.end(data);
  });
}

/** Spawns `args` and polls `GET <path>` until it answers 200; the ms from spawn to that answer. */
async function spawnUntilAnswer(args: string[], port: number, path: string, env: NodeJS.ProcessEnv = {}) {
  const t0 = performance.now();
  const proc = spawn(process.execPath, args, {
    env: { ...process.env, OPENWORK_LOG_LEVEL: "silent", ...env },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const once = () =>
    new Promise<number>((resolve) => {
      const req = request({ host: "127.0.0.1", port, path, agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", () => resolve(0));
      req.end();
    });
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${args.join(" ")} exited with ${proc.exitCode}`);
    if ((await once()) === 200) return { proc, ms: performance.now() - t0 };
    await sleep(2);
  }
}

async function freePort(): Promise<number> {
  const { createServer } = await import("node:net");
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

function stop(proc: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
    proc.once("exit", () => resolve());
    proc.kill();
  });
}

const rssMiB = (pid: number) => readFile(`/proc/${pid}/status`, "utf8").then((s) => Number(/VmRSS:\s+(\d+)/.exec(s)?.[1] ?? 0) / 1024);

/** The disk's floor for one durable skill write, done directly (same calls, same folder kind). */
async function floorRound(dir: string, count: number, text: string, line: string): Promise<number> {
  await mkdir(dir, { recursive: true });
  const audit = await open(join(dir, "audit.jsonl"), "a", 0o600);
  const times: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const t0 = performance.now();
      const temp = join(dir, `.SKILL.md.floor-${i}`);
      const file = await open(temp, "wx", 0o644);
      await file.writeFile(text);
      await file.sync();
      await file.close();
      await rename(temp, join(dir, "SKILL.md"));
      const folder = await open(dir, "r");
      await folder.sync();
      await folder.close();
      await audit.write(line);
      await audit.sync();
      times.push(performance.now() - t0);
    }
  } finally {
    await audit.close();
  }
  return median(times);
}

/** p50 of `count` sequential durable skill writes through the API. */
async function writeRound(port: number, token: string, ws: string, count: number, name: string): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    const res = await call(port, "POST", `/workspace/${ws}/skills`, token, { name, content: skillText(name, `Rewritten ${i} times.`) });
    times.push(performance.now() - t0);
    if (res.status !== 200) throw new Error(`skill write answered ${res.status}: ${res.body}`);
  }
  return median(times);
}

/** Opens `count` event streams in a child process; `report()` asks how many events arrived. */
async function subscribers(url: string, token: string, count: number) {
  const proc = spawn(process.execPath, [new URL("./subscribers.mjs", import.meta.url).pathname, url, token, String(count)], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = createInterface({ input: proc.stdout! });
  const waiters: Array<(line: string) => void> = [];
  lines.on("line", (line) => waiters.shift()?.(line));
  const next = () => new Promise<string>((resolve) => waiters.push(resolve));
  const ready = await next();
  if (!ready.startsWith("ready")) throw new Error(`subscribers: ${ready}`);
  return {
    async report() {
      proc.stdin!.write("count\n");
      const [, total, min] = (await next()).split(" ");
      return { total: Number(total), min: Number(min) };
    },
    async close() {
      proc.stdin!.end();
      await stop(proc);
    },
  };
}

function row(measure: string, value: string, limit: string, ok: boolean) {
  console.log(`${measure.padEnd(50)} ${value.padStart(22)}   ${limit.padEnd(42)} ${ok ? "ok" : "MISSED"}`);
}

export async function runScale(o: ScaleOptions): Promise<void> {
  const root = join(o.dir, "workspace");
  await generateWorkspace(root, { skills: o.skills, commands: 250, plugins: 25, mcp: 40 });
  const ws = workspaceId(root);
  const env = { HOME: root, XDG_CONFIG_HOME: join(root, ".xdg") };
  const children: ChildProcess[] = [];
  try {
    console.log(`openwork-server scale benchmark: ${o.skills} skills, 250 commands, 25 plugins, 40 MCP servers in one workspace\n`);

    // Startup: spawn until /health answers, three times each, median.
    const ours: number[] = [];
    const bare: number[] = [];
    let server: { proc: ChildProcess; port: number } | null = null;
    const responses = join(o.dir, "health.json");
    await writeFile(responses, JSON.stringify({ "/health": { status: 200, type: "application/json", body: '{"ok":true}' } }));
    // The subscriber row opens every stream from this one address: raise the per-address cap.
    const config = join(o.dir, "server.json");
    await writeFile(config, JSON.stringify({ connections: { maxPerAddress: o.subscribers + 64, maxTotal: o.subscribers + 512 } }));
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const args = [o.cli, "--config", config, "--workspace", root, "--port", String(port), "--approval", "auto", "--token", o.token];
      const started = await spawnUntilAnswer(args, port, "/health", env);
      ours.push(started.ms);
      if (i < 2) await stop(started.proc);
      else {
        server = { proc: started.proc, port };
        children.push(started.proc);
      }
      const basePort = await freePort();
      const base = await spawnUntilAnswer(
        [new URL("./baseline-server.mjs", import.meta.url).pathname, responses, String(basePort)],
        basePort,
        "/health",
      );
      bare.push(base.ms);
      await stop(base.proc);
    }
    const { port, proc } = server!;
    const skillsPath = `/workspace/${ws}/skills`;

    // First listing (waits for the watcher and the first scan), then idle memory.
    let t0 = performance.now();
    const first = await call(port, "GET", skillsPath, o.token);
    const firstMs = performance.now() - t0;
    const listed = (JSON.parse(first.body) as { items: unknown[] }).items.length;
    if (listed !== o.skills) throw new Error(`first listing has ${listed} skills, expected ${o.skills}`);
    // Idle: nothing asked of the server for 10 s (it settles its heap a few seconds after a burst).
    await sleep(10_000);
    const rss = await rssMiB(proc.pid!);

    // Warm listing vs the bare server answering the same bytes.
    const listingFile = join(o.dir, "listing.json");
    await writeFile(listingFile, JSON.stringify({ [skillsPath]: { status: 200, type: "application/json", body: first.body } }));
    const basePort = await freePort();
    const baseline = await spawnUntilAnswer(
      [new URL("./baseline-server.mjs", import.meta.url).pathname, listingFile, String(basePort)],
      basePort,
      skillsPath,
    );
    children.push(baseline.proc);
    let mine = 0;
    let theirs = 0;
    let mineP99 = 0;
    for (let round = 0; round < o.rounds; round++) {
      const m = await autocannon({
        url: `http://127.0.0.1:${port}${skillsPath}`,
        connections: o.connections,
        duration: o.duration,
        headers: { Authorization: `Bearer ${o.token}` },
      });
      const b = await autocannon({ url: `http://127.0.0.1:${basePort}${skillsPath}`, connections: o.connections, duration: o.duration });
      if (m.errors || m.non2xx || b.errors || b.non2xx) throw new Error("listing load had errors");
      if (m.requests.average > mine) {
        mine = m.requests.average;
        mineP99 = m.latency.p99;
      }
      theirs = Math.max(theirs, b.requests.average);
    }
    await stop(baseline.proc);

    // A listing right after a one-skill write: the write's entry is re-read, nothing else.
    const afterWrite: number[] = [];
    for (let i = 0; i < 20; i++) {
      const name = `skill-${(i * 997) % o.skills}`;
      const description = `Changed by write ${i}`;
      const res = await call(port, "POST", skillsPath, o.token, { name, content: skillText(name, description) });
      if (res.status !== 200) throw new Error(`write answered ${res.status}`);
      t0 = performance.now();
      const listing = await call(port, "GET", skillsPath, o.token);
      afterWrite.push(performance.now() - t0);
      if (!listing.body.includes(description)) throw new Error("the listing after a write does not show it");
    }

    // Durable write p50 vs the floor, alternating rounds, best of each.
    const text = skillText("skill-1", "The floor's text, as long as a real one.");
    const line = `${JSON.stringify({ id: "audit_00000000-0000-0000-0000-000000000000", workspaceId: ws, actor: { type: "remote", tokenHash: "000000000000" }, action: "skills.upsert", target: "skill-1", summary: 'Update skill "skill-1"', timestamp: Date.now() })}\n`;
    let floor = Number.POSITIVE_INFINITY;
    let write = Number.POSITIVE_INFINITY;
    for (let round = 0; round < 3; round++) {
      floor = Math.min(floor, await floorRound(join(root, ".bench-floor", "skill-1"), o.writes, text, line));
      write = Math.min(write, await writeRound(port, o.token, ws, o.writes, "skill-1"));
    }

    // Write p50 with event subscribers vs none (alternating, best of each).
    let none = Number.POSITIVE_INFINITY;
    let withSubs = Number.POSITIVE_INFINITY;
    let delivered = "";
    for (let round = 0; round < 2; round++) {
      none = Math.min(none, await writeRound(port, o.token, ws, o.writes, "skill-2"));
      const subs = await subscribers(`http://127.0.0.1:${port}/workspace/${ws}/events`, o.token, o.subscribers);
      try {
        const before = await subs.report();
        withSubs = Math.min(withSubs, await writeRound(port, o.token, ws, o.writes, "skill-2"));
        await sleep(1000);
        const after = await subs.report();
        delivered = `${(after.total - before.total) / o.subscribers} of ${o.writes} events per subscriber (least: ${after.min - before.min})`;
      } finally {
        await subs.close();
      }
    }

    console.log(`${"measure".padEnd(50)} ${"value".padStart(22)}   ${"limit (measured in this run or fixed)".padEnd(42)} goal`);
    const startup = median(ours);
    row("startup to /health", `${startup.toFixed(0)} ms`, `<= 500 ms (bare node:http: ${median(bare).toFixed(0)} ms)`, startup <= 500);
    console.log(`${"  (first skills listing, after the first scan)".padEnd(50)} ${`${firstMs.toFixed(0)} ms`.padStart(22)}`);
    row("idle RSS after the first listing (10 s idle)", `${rss.toFixed(1)} MiB`, "<= 120 MiB", rss <= 120);
    const ratio = mine / theirs;
    row(
      "warm skills listing vs bare node:http",
      `${ratio.toFixed(2)}x`,
      `>= 0.5x (${mine.toFixed(0)} vs ${theirs.toFixed(0)} req/s, ${(first.body.length / 1048576).toFixed(1)} MiB)`,
      ratio >= 0.5,
    );
    console.log(`${"  (p99 of our warm listing)".padEnd(50)} ${`${mineP99} ms`.padStart(22)}`);
    const after50 = median(afterWrite);
    row(
      "listing right after a one-skill write (p50)",
      `${after50.toFixed(1)} ms`,
      `<= 50 ms (max ${Math.max(...afterWrite).toFixed(1)} ms)`,
      after50 <= 50,
    );
    row(
      "durable skill write p50 vs fsync floor",
      `${(write / floor).toFixed(2)}x`,
      `<= 3x (${write.toFixed(2)} vs ${floor.toFixed(2)} ms)`,
      write / floor <= 3,
    );
    row(
      `write p50 with ${o.subscribers} subscribers vs none`,
      `${(withSubs / none).toFixed(2)}x`,
      `<= 1.5x (${withSubs.toFixed(2)} vs ${none.toFixed(2)} ms)`,
      withSubs / none <= 1.5,
    );
    console.log(`${"  (events delivered)".padEnd(50)} ${delivered}`);
  } finally {
    for (const child of children) await stop(child);
  }
}
