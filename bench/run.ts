// npm run bench: each listing and the config read, against openwork-server and against a bare
// node:http server that answers the same bytes from memory, in the same run, as a ratio.
// Also: resident memory after the run, the time to start and list 5,000 skills, and the OpenCode
// gateway against a real engine (bench/gateway.ts; skip it with --no-gateway).
//
// Each route is loaded `--rounds` times on each server, alternating, and the best round of each
// side is reported, so a burst of noise on this shared machine does not decide the ratio.
// Options: --duration S (per route, server and round, default 5), --connections N (default 10),
//          --skills N (default 500), --commands N (default 250), --startup-skills N (default 5000),
//          --no-gateway
//
// With --skills 5000 or more (or --scale) it runs the scale mode instead (bench/scale.ts): each
// goal of the scale table against a limit measured in the same run. Scale options:
//          --subscribers N (default 1000), --writes N (sequential writes per round, default 200)
import type { ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { workspaceId } from "../src/workspaces.js";
import { SERVER_LISTENING, spawnAndWait } from "./child.js";
import { benchGateway } from "./gateway.js";
import { runScale } from "./scale.js";
import { generateWorkspace } from "./workspace.js";

const { values } = parseArgs({
  options: {
    duration: { type: "string", default: "5" },
    connections: { type: "string", default: "10" },
    skills: { type: "string", default: "500" },
    commands: { type: "string", default: "250" },
    "startup-skills": { type: "string", default: "5000" },
    rounds: { type: "string", default: "2" },
    "no-gateway": { type: "boolean", default: false },
    scale: { type: "boolean", default: false },
    subscribers: { type: "string", default: "1000" },
    writes: { type: "string", default: "200" },
  },
});
const duration = Number(values.duration);
const connections = Number(values.connections);
const rounds = Number(values.rounds);
const TOKEN = "bench-client-token";
// The built server, as users run it (`npm run bench` builds first).
const CLI = new URL("../dist/cli.js", import.meta.url).pathname;

const startServer = (root: string) =>
  spawnAndWait([CLI, "--workspace", root, "--port", "0", "--approval", "auto", "--token", TOKEN], SERVER_LISTENING, {
    HOME: root,
    XDG_CONFIG_HOME: join(root, ".xdg"),
  });

function rssMiB(pid: number): Promise<number> {
  return readFile(`/proc/${pid}/status`, "utf8").then((s) => Number(/VmRSS:\s+(\d+)/.exec(s)?.[1] ?? 0) / 1024);
}

async function load(url: string, headers: Record<string, string> = {}) {
  const result = await autocannon({ url, connections, duration, headers });
  if (result.errors > 0 || result.non2xx > 0) throw new Error(`${url}: ${result.errors} errors, ${result.non2xx} non-2xx`);
  return { rps: result.requests.average, p99: result.latency.p99 };
}

async function main() {
  const dir = await mkdtemp(join(tmpdir(), "ows-bench-"));
  if (values.scale || Number(values.skills) >= 5000) {
    try {
      await runScale({
        dir,
        skills: Number(values.skills),
        duration,
        connections,
        rounds,
        cli: CLI,
        token: TOKEN,
        subscribers: Number(values.subscribers),
        writes: Number(values.writes),
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    return;
  }
  const children: ChildProcess[] = [];
  try {
    const root = join(dir, "workspace");
    await generateWorkspace(root, { skills: Number(values.skills), commands: Number(values.commands), plugins: 25, mcp: 40 });
    const ws = workspaceId(root);
    const routes = ["skills", "commands", "plugins", "mcp", "config"].map((r) => `/workspace/${ws}/${r}`);

    const ours = await startServer(root);
    children.push(ours.proc);
    const auth = { Authorization: `Bearer ${TOKEN}` };

    // Record our exact answers, so the baseline serves identical bytes.
    const responses: Record<string, { status: number; type: string; body: string }> = {};
    for (const path of routes) {
      const res = await fetch(`http://127.0.0.1:${ours.port}${path}`, { headers: auth });
      const body = await res.text();
      if (res.status !== 200) throw new Error(`${path} answered ${res.status}: ${body}`);
      responses[path] = { status: res.status, type: res.headers.get("content-type") ?? "application/json", body };
    }
    const responsesFile = join(dir, "responses.json");
    await writeFile(responsesFile, JSON.stringify(responses));
    const baseline = await spawnAndWait([new URL("./baseline-server.mjs", import.meta.url).pathname, responsesFile], /listening (\d+)/);
    children.push(baseline.proc);

    console.log(`openwork-server benchmark: ${values.skills} skills, ${values.commands} commands, 25 plugins, 40 MCP servers`);
    console.log(
      `autocannon: ${connections} connections, ${duration}s per route and server, best of ${rounds} alternating rounds; baseline = bare node:http serving the same bytes\n`,
    );
    console.log("route        bytes   ours req/s  ours p99   base req/s  base p99   ratio");
    let worst = Number.POSITIVE_INFINITY;
    for (const path of routes) {
      const name = path.split("/").pop()!;
      let mine = { rps: 0, p99: 0 };
      let base = { rps: 0, p99: 0 };
      for (let round = 0; round < rounds; round++) {
        const m = await load(`http://127.0.0.1:${ours.port}${path}`, auth);
        const b = await load(`http://127.0.0.1:${baseline.port}${path}`);
        if (m.rps > mine.rps) mine = m;
        if (b.rps > base.rps) base = b;
      }
      const ratio = mine.rps / base.rps;
      worst = Math.min(worst, ratio);
      console.log(
        `${name.padEnd(10)} ${String(responses[path]!.body.length).padStart(7)} ${mine.rps.toFixed(0).padStart(12)} ${`${mine.p99}ms`.padStart(9)} ${base.rps.toFixed(0).padStart(12)} ${`${base.p99}ms`.padStart(9)} ${ratio.toFixed(2).padStart(7)}`,
      );
    }
    console.log(`\nworst ratio: ${worst.toFixed(2)} (target >= 0.50)`);
    console.log(`resident memory of openwork-server after the run: ${(await rssMiB(ours.proc.pid!)).toFixed(1)} MiB`);
    ours.proc.kill();
    baseline.proc.kill();

    // Start-up with many skills: process start until the first skills listing is answered.
    const big = join(dir, "big");
    const count = Number(values["startup-skills"]);
    await generateWorkspace(big, { skills: count, commands: 0, plugins: 0, mcp: 0 });
    const t0 = performance.now();
    const started = await startServer(big);
    children.push(started.proc);
    const listening = performance.now() - t0;
    const res = await fetch(`http://127.0.0.1:${started.port}/workspace/${workspaceId(big)}/skills`, { headers: auth });
    const listed = ((await res.json()) as { items: unknown[] }).items.length;
    const firstList = performance.now() - t0;
    console.log(
      `start with ${count} skills: listening after ${listening.toFixed(0)} ms, first listing (${listed} skills) after ${firstList.toFixed(0)} ms`,
    );
    started.proc.kill();

    if (!values["no-gateway"]) await benchGateway({ duration, connections, rounds, cli: CLI });
  } finally {
    for (const child of children) child.kill();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
