// Connection-level hostility over real sockets, against a child server: a flood of half-sent
// requests from one address, slow headers and bodies, the total cap with room kept for the host,
// while long approval waits and event streams keep working.
// Linux routes all of 127/8 to loopback, so `localAddress: 127.0.0.2` is "another client".
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdir, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { connect, type Socket } from "node:net";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { DEFAULTS } from "../../src/config.js";
import { loopbackReserve } from "../../src/http/connection-limits.js";
import { workspaceId } from "../../src/workspaces.js";
import { type ChildServer, startChildServer, TSX } from "../helpers/child-server.js";
import { tempDir, waitFor } from "../helpers/harness.js";

const TOKEN = "connections-client-token";
const HOST_TOKEN = "connections-host-token";
const ATTACKER = "127.0.0.2";
const FLOOD = fileURLToPath(new URL("../helpers/connection-flood.ts", import.meta.url));

interface Probe {
  socket: Socket;
  connected: boolean;
  closed: boolean;
  closedAt?: number;
  data: string;
}

/** Opens a TCP connection from `localAddress` and sends `head` (a request that never ends). */
function openProbe(port: number, host: string, localAddress: string, head: string): Promise<Probe> {
  return new Promise((resolve) => {
    const probe: Probe = { socket: connect({ port, host, localAddress }), connected: false, closed: false, data: "" };
    probe.socket.setEncoding("utf8");
    probe.socket.on("data", (d) => (probe.data += d));
    probe.socket.on("error", () => {});
    probe.socket.on("close", () => {
      probe.closed = true;
      probe.closedAt = Date.now();
      resolve(probe);
    });
    probe.socket.on("connect", () => {
      probe.connected = true;
      probe.socket.write(head);
      resolve(probe);
    });
  });
}

/** GET /health on a fresh connection (no keep-alive) from `localAddress`: status and time. */
function health(port: number, host = "127.0.0.1", localAddress = "127.0.0.1"): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path: "/health", agent: false, localAddress, headers: { Host: `127.0.0.1:${port}` } }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started }));
    });
    req.on("error", reject);
    req.setTimeout(10_000, () => req.destroy(new Error("health timed out")));
    req.end();
  });
}

/** Whether GET /health from `localAddress` answers 200 (false for a refused or dropped connection). */
const healthy = (port: number, localAddress = "127.0.0.1") =>
  health(port, "127.0.0.1", localAddress).then(
    (r) => r.status === 200,
    () => false,
  );

async function openFds(pid: number): Promise<number> {
  return (await readdir(`/proc/${pid}/fd`)).length;
}

async function serverWith(config: object, args: string[] = []): Promise<{ server: ChildServer; root: string; port: number }> {
  const root = await tempDir("ows-conn-");
  await writeFile(join(root, "server.json"), JSON.stringify(config));
  const server = await startChildServer(
    ["--workspace", root, "--config", join(root, "server.json"), "--token", TOKEN, "--host-token", HOST_TOKEN, ...args],
    { env: { HOME: root } },
  );
  return { server, root, port: Number(new URL(server.url).port) };
}

const HALF_SENT = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ";

describe("connections", () => {
  test("20,000 half-sent requests from one address: the server keeps its descriptors and /health keeps answering everyone else", async () => {
    const { server, port } = await serverWith({}); // the default caps
    const cap = DEFAULTS.connections.maxPerAddress;
    const pid = server.proc.pid!;
    const baselineFds = await openFds(pid);
    // The attacker is its own process, so its work does not slow this one's measurements.
    const attacker = spawn(process.execPath, ["--import", TSX, FLOOD, String(port), "20000", "250", ATTACKER], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    try {
      let report = "";
      attacker.stdout!.on("data", (d) => (report += d));
      // Someone else polls /health on a fresh connection the whole time.
      const during: number[] = [];
      let maxFds = baselineFds;
      while (!report.includes("\n")) {
        const res = await health(port);
        assert.equal(res.status, 200, "/health answered during the flood");
        during.push(res.ms);
        maxFds = Math.max(maxFds, await openFds(pid));
        await new Promise((r) => setTimeout(r, 25));
      }
      const result = JSON.parse(report) as { held: number; closed: number; ms: number };
      // Exactly the cap is held; every other connection was closed by the server.
      assert.equal(result.held, cap, JSON.stringify(result));
      assert.equal(result.closed, 20_000 - cap);
      assert.ok(maxFds < baselineFds + cap + 100, `server descriptors stayed bounded: ${baselineFds} -> ${maxFds}`);
      during.sort((a, b) => a - b);
      const median = during[Math.floor(during.length / 2)]!;
      assert.ok(during.length >= 10 && median < 200, `/health during the flood: ${during.length} polls, median ${Math.round(median)} ms`);

      // With the attacker holding all it may, everyone else is answered at once, every time.
      for (const from of ["127.0.0.1", "127.0.0.3"]) {
        for (let i = 0; i < 10; i++) {
          const res = await health(port, "127.0.0.1", from);
          assert.equal(res.status, 200);
          assert.ok(res.ms < 200, `/health from ${from} took ${Math.round(res.ms)} ms`);
        }
      }
    } finally {
      attacker.kill("SIGKILL");
      await server.stop();
    }
  });

  test("a connection over the per-address cap gets a 503 too_many_connections and is closed; the request never runs", async () => {
    const { server, port } = await serverWith({ connections: { maxPerAddress: 3 } });
    const probes: Probe[] = [];
    try {
      for (let i = 0; i < 3; i++) probes.push(await openProbe(port, "127.0.0.1", ATTACKER, HALF_SENT));
      const extra = await openProbe(port, "127.0.0.1", ATTACKER, "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
      await waitFor(() => extra.closed, 3000);
      assert.match(extra.data, /^HTTP\/1\.1 503 /);
      assert.match(extra.data, /"code":"too_many_connections"/);
      assert.doesNotMatch(extra.data, /"ok":true/, "the request was not answered");
      assert.ok(
        probes.every((p) => !p.closed),
        "the first three stay open",
      );
      // Another address is not affected; a freed slot is usable again.
      assert.equal((await health(port)).status, 200);
      probes[0]!.socket.destroy();
      // (Refused tries may be just closed: a 503 goes out once a second per address.)
      await waitFor(() => healthy(port, ATTACKER), 3000);
    } finally {
      for (const probe of probes) probe.socket.destroy();
      await server.stop();
    }
  });

  describe("timeouts", () => {
    let server: ChildServer;
    let root: string;
    let port: number;
    before(async () => {
      ({ server, root, port } = await serverWith({ connections: { headersTimeoutMs: 1000, requestTimeoutMs: 2000 } }, [
        "--approval",
        "manual",
        "--approval-timeout",
        "30000",
      ]));
    });
    after(() => server.stop());

    test("slow-loris: headers trickled a byte at a time are cut off after the header timeout with 408", async () => {
      const started = Date.now();
      const probe = await openProbe(port, "127.0.0.1", ATTACKER, "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n");
      const drip = setInterval(() => probe.socket.write("X-A: b\r\n"), 100);
      try {
        await waitFor(() => probe.closed, 5000);
      } finally {
        clearInterval(drip);
      }
      const ms = probe.closedAt! - started;
      assert.ok(ms >= 900 && ms < 3000, `closed after ${ms} ms (header timeout 1000 ms)`);
      assert.match(probe.data, /^HTTP\/1\.1 408/);
    });

    test("a connection that sends nothing is closed after the header timeout", async () => {
      const started = Date.now();
      const probe = await openProbe(port, "127.0.0.1", ATTACKER, "");
      await waitFor(() => probe.closed, 5000);
      const ms = probe.closedAt! - started;
      assert.ok(ms >= 900 && ms < 3000, `closed after ${ms} ms`);
    });

    test("a body trickled slowly is cut off after the request timeout", async () => {
      const started = Date.now();
      const head = `PATCH /workspace/${workspaceId(root)}/config HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`;
      const probe = await openProbe(port, "127.0.0.1", ATTACKER, head);
      const drip = setInterval(() => probe.socket.write(" "), 100);
      try {
        await waitFor(() => probe.closed, 6000);
      } finally {
        clearInterval(drip);
      }
      const ms = probe.closedAt! - started;
      assert.ok(ms >= 1900 && ms < 4500, `closed after ${ms} ms (request timeout 2000 ms): ${probe.data}`);
      assert.match(probe.data, /^HTTP\/1\.1 408/);
    });

    test("an event stream and a write waiting for approval both outlive the header and request timeouts", async () => {
      const ws = workspaceId(root);
      const controller = new AbortController();
      const stream = await fetch(`${server.url}/workspace/${ws}/events`, {
        headers: { Authorization: `Bearer ${TOKEN}`, Accept: "text/event-stream" },
        signal: controller.signal,
      });
      assert.equal(stream.status, 200);
      const reader = stream.body!.getReader();
      let received = "";
      const reading = (async () => {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          received += Buffer.from(value).toString("utf8");
        }
      })().catch(() => {});

      const write = fetch(`${server.url}/workspace/${ws}/config`, {
        method: "PATCH",
        headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
        body: JSON.stringify({ opencode: { theme: "light" } }),
      });
      // Longer than both timeouts, then the host allows the write.
      await new Promise((r) => setTimeout(r, 3000));
      const pending = await (await fetch(`${server.url}/approvals`, { headers: { "X-OpenWork-Host-Token": HOST_TOKEN } })).json();
      assert.equal(pending.items.length, 1, "the write is still waiting");
      const allow = await fetch(`${server.url}/approvals/${pending.items[0].id}`, {
        method: "POST",
        headers: { "X-OpenWork-Host-Token": HOST_TOKEN, "Content-Type": "application/json" },
        body: JSON.stringify({ reply: "allow" }),
      });
      assert.equal(allow.status, 200);
      assert.equal((await write).status, 200, "the write went through after waiting 3 s");
      await waitFor(() => received.includes('"reason":"config"'), 3000);
      controller.abort();
      await reading;
    });
  });

  test("the total cap holds, and loopback (the host page) keeps a reserve while a LAN address holds the rest", async (t) => {
    const lan = Object.values(networkInterfaces())
      .flat()
      .find((net) => net && net.family === "IPv4" && !net.internal)?.address;
    if (!lan) {
      t.skip("no non-loopback IPv4 interface on this machine");
      return;
    }
    const maxTotal = 40;
    const reserve = loopbackReserve(maxTotal);
    const { server, port } = await serverWith({ connections: { maxPerAddress: 100, maxTotal } }, ["--host", "0.0.0.0"]);
    const probes: Probe[] = [];
    try {
      // From the LAN address: everything but the reserve.
      for (let i = 0; i < maxTotal; i++) probes.push(await openProbe(port, lan, lan, HALF_SENT));
      await waitFor(() => probes.filter((p) => p.closed).length === reserve, 3000);
      assert.equal(probes.filter((p) => !p.closed).length, maxTotal - reserve);
      // The host still gets in.
      assert.equal((await health(port)).status, 200);
      // Loopback fills the reserve; then nobody gets in until something closes.
      for (let i = 0; i < reserve; i++) probes.push(await openProbe(port, "127.0.0.1", ATTACKER, HALF_SENT));
      const refused = await openProbe(port, "127.0.0.1", "127.0.0.1", "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
      await waitFor(() => refused.closed, 3000);
      assert.match(refused.data, /^HTTP\/1\.1 503 /);
      assert.equal(probes.filter((p) => !p.closed).length, maxTotal);
      probes.at(-1)!.socket.destroy();
      await waitFor(() => healthy(port), 3000);
    } finally {
      for (const probe of probes) probe.socket.destroy();
      await server.stop();
    }
  });
});
