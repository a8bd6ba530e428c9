// The OpenCode gateway's cost, against a REAL engine (`opencode serve`, offline, as in the
// integration tests): one small engine route (GET /path) loaded straight at the engine and
// through the gateway in the same run, alternating rounds, best round of each side; and the time
// to the first event of the SSE stream (`GET /event`), direct and through the gateway. A bare
// node:http proxy (bench/bare-proxy.mjs) is loaded too: what any proxy hop costs on this machine.
import type { ChildProcess } from "node:child_process";
import { join } from "node:path";
import autocannon from "autocannon";
import { startOpencode } from "../test/helpers/opencode.js";
import { SERVER_LISTENING, spawnAndWait } from "./child.js";

export interface GatewayBenchOptions {
  duration: number;
  connections: number;
  rounds: number;
  /** The built server's entry point. */
  cli: string;
}

const TOKEN = "bench-gateway-token";
const ROUTE = "/path";
const SSE_SAMPLES = 20;

async function load(url: string, headers: Record<string, string>, options: GatewayBenchOptions) {
  const result = await autocannon({ url, connections: options.connections, duration: options.duration, headers });
  if (result.errors > 0 || result.non2xx > 0) throw new Error(`${url}: ${result.errors} errors, ${result.non2xx} non-2xx`);
  return { rps: result.requests.average, p99: result.latency.p99 };
}

/** ms from sending `GET <url>` to the first complete SSE event. */
async function firstEventMs(url: string, headers: Record<string, string>): Promise<number> {
  const controller = new AbortController();
  const started = performance.now();
  const res = await fetch(url, { headers: { ...headers, Accept: "text/event-stream" }, signal: controller.signal });
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  try {
    while (!/data:.*\n\n/.test(text)) {
      const { done, value } = await reader.read();
      if (done) throw new Error("stream ended before the first event");
      text += decoder.decode(value, { stream: true });
    }
    return performance.now() - started;
  } finally {
    controller.abort();
    await reader.cancel().catch(() => {});
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export async function benchGateway(options: GatewayBenchOptions): Promise<void> {
  const engine = await startOpencode();
  let server: ChildProcess | undefined;
  let bareProxy: ChildProcess | undefined;
  try {
    const started = await spawnAndWait(
      [
        options.cli,
        "--workspace",
        engine.repo,
        "--port",
        "0",
        "--token",
        TOKEN,
        "--opencode-base-url",
        engine.url,
        "--opencode-password",
        engine.password,
      ],
      SERVER_LISTENING,
      { HOME: engine.home, XDG_CONFIG_HOME: join(engine.home, ".config") },
    );
    server = started.proc;
    const gatewayUrl = `http://127.0.0.1:${started.port}/opencode${ROUTE}`;
    const directUrl = `${engine.url}${ROUTE}?directory=${encodeURIComponent(engine.repo)}`;
    const gatewayAuth = { Authorization: `Bearer ${TOKEN}` };
    const directAuth = { Authorization: `Basic ${Buffer.from(`${engine.username}:${engine.password}`).toString("base64")}` };
    const bare = await spawnAndWait(
      [new URL("./bare-proxy.mjs", import.meta.url).pathname, engine.url, directAuth.Authorization],
      /listening (\d+)/,
    );
    bareProxy = bare.proc;
    const bareUrl = `http://127.0.0.1:${bare.port}${ROUTE}?directory=${encodeURIComponent(engine.repo)}`;
    // Warm both paths (the engine builds its instance on the first request).
    for (const [url, headers] of [
      [gatewayUrl, gatewayAuth],
      [directUrl, directAuth],
      [bareUrl, {}],
    ] as const) {
      const res = await fetch(url, { headers });
      if (res.status !== 200) throw new Error(`${url} answered ${res.status}: ${await res.text()}`);
      await res.text();
    }

    console.log(`\nOpenCode gateway (real opencode serve): GET ${ROUTE}, best of ${options.rounds} alternating rounds`);
    console.log("path           req/s     p99");
    let gateway = { rps: 0, p99: 0 };
    let direct = { rps: 0, p99: 0 };
    let bareBest = { rps: 0, p99: 0 };
    for (let round = 0; round < options.rounds; round++) {
      const g = await load(gatewayUrl, gatewayAuth, options);
      const d = await load(directUrl, directAuth, options);
      const b = await load(bareUrl, {}, options);
      if (g.rps > gateway.rps) gateway = g;
      if (d.rps > direct.rps) direct = d;
      if (b.rps > bareBest.rps) bareBest = b;
    }
    const row = (name: string, r: { rps: number; p99: number }) =>
      console.log(`${name.padEnd(12)} ${r.rps.toFixed(0).padStart(9)} ${`${r.p99}ms`.padStart(7)}`);
    row("direct", direct);
    row("gateway", gateway);
    row("bare proxy", bareBest);
    console.log(`gateway/direct throughput: ${(gateway.rps / direct.rps).toFixed(2)} (target >= 0.80)`);
    console.log(
      `bare proxy/direct: ${(bareBest.rps / direct.rps).toFixed(2)}; gateway/bare proxy: ${(gateway.rps / bareBest.rps).toFixed(2)} (what a proxy hop costs here, and ours beyond it)`,
    );

    const eventUrl = `http://127.0.0.1:${started.port}/opencode/event`;
    const directEventUrl = `${engine.url}/event?directory=${encodeURIComponent(engine.repo)}`;
    const viaGateway: number[] = [];
    const straight: number[] = [];
    for (let i = 0; i < SSE_SAMPLES; i++) {
      viaGateway.push(await firstEventMs(eventUrl, gatewayAuth));
      straight.push(await firstEventMs(directEventUrl, directAuth));
    }
    console.log(
      `time to first SSE event (GET /event, median of ${SSE_SAMPLES}): direct ${median(straight).toFixed(1)} ms, gateway ${median(viaGateway).toFixed(1)} ms`,
    );
  } finally {
    server?.kill();
    bareProxy?.kill();
    await engine.stop();
  }
}
