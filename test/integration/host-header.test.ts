// The DNS rebinding guard on a real socket (startServer): a request whose Host is not an address
// the server listens on is refused with 421 misdirected_host, on every route, /health included.
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { connect } from "node:net";
import { hostname, networkInterfaces } from "node:os";
import { after, before, describe, test } from "node:test";
import type { ServerSettings } from "../../src/config.js";
import { silentLogger } from "../../src/logger.js";
import { type RunningServer, startServer } from "../../src/server.js";
import { createHarness, HOST_TOKEN, TOKEN, tempDir, testSettings } from "../helpers/harness.js";

/** Sends a raw request (any Host, or none) and returns the status and body. */
function raw(port: number, head: string, address = "127.0.0.1"): Promise<{ status: number; headers: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, address, () => socket.write(`${head}\r\nConnection: close\r\n\r\n`));
    let data = "";
    socket.setEncoding("utf8");
    socket.on("data", (d) => (data += d));
    socket.on("error", reject);
    socket.on("end", () => {
      const [headers = "", body = ""] = data.split("\r\n\r\n");
      resolve({ status: Number(/^HTTP\/1\.[01] (\d+)/.exec(headers)?.[1]), headers, body });
    });
  });
}

async function serverWith(overrides: Partial<ServerSettings>): Promise<{ server: RunningServer; close: () => Promise<void> }> {
  const root = await tempDir("ows-host-");
  const server = await startServer(testSettings(root, overrides), silentLogger, { watch: false });
  return {
    server,
    close: async () => {
      await server.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

describe("Host header check on the real server", () => {
  let server: RunningServer;
  let close: () => Promise<void>;
  before(async () => ({ server, close } = await serverWith({})));
  after(() => close());

  test("loopback names answer, with or without the port", async () => {
    for (const host of ["127.0.0.1", `127.0.0.1:${server.port}`, `localhost:${server.port}`, "LOCALHOST", `[::1]:${server.port}`]) {
      const res = await raw(server.port, `GET /health HTTP/1.1\r\nHost: ${host}`);
      assert.equal(res.status, 200, host);
    }
  });

  test("another name is 421 misdirected_host on every route, /health and preflights included", async () => {
    const routes = [
      "GET /health",
      "GET /ui",
      "GET /openapi.json",
      `GET /workspaces HTTP/1.1\r\nAuthorization: Bearer ${TOKEN}`,
      `GET /approvals HTTP/1.1\r\nX-OpenWork-Host-Token: ${HOST_TOKEN}`,
      `OPTIONS /workspaces HTTP/1.1\r\nOrigin: http://rebind.attacker.example:${server.port}\r\nAccess-Control-Request-Method: GET`,
    ];
    for (const route of routes) {
      const head = route.includes(" HTTP/1.1") ? route : `${route} HTTP/1.1`;
      const res = await raw(server.port, `${head}\r\nHost: rebind.attacker.example:${server.port}`);
      assert.equal(res.status, 421, route);
      const body = JSON.parse(res.body);
      assert.equal(body.code, "misdirected_host");
      assert.match(body.message, /allowedHosts/);
      assert.equal(body.details.host, `rebind.attacker.example:${server.port}`);
      assert.doesNotMatch(res.headers, /access-control-allow/i, "no CORS grant for a foreign host");
    }
  });

  test("names that only look like ours are refused too", async () => {
    for (const host of ["localhost.attacker.example", "127.0.0.1.nip.io", "127.0.0.2", "[::2]", hostname()]) {
      const res = await raw(server.port, `GET /health HTTP/1.1\r\nHost: ${host}`);
      assert.equal(res.status, 421, host);
    }
  });

  test("a request without Host (HTTP/1.0) is refused", async () => {
    const res = await raw(server.port, "GET /health HTTP/1.0");
    assert.equal(res.status, 421);
    assert.equal(JSON.parse(res.body).code, "misdirected_host");
  });

  test("in-process app.request() has no Host check (tests need no setup)", async () => {
    const h = await createHarness();
    try {
      const res = await h.app.request("/health", { headers: { Host: "anything.example" } });
      assert.equal(res.status, 200);
    } finally {
      await h.close();
    }
  });
});

describe("Host header check settings", () => {
  test("allowedHosts adds names; '*' turns the check off", async () => {
    const named = await serverWith({ allowedHosts: ["openwork.example", "*.ts.net"] });
    try {
      assert.equal((await raw(named.server.port, "GET /health HTTP/1.1\r\nHost: openwork.example:8443")).status, 200);
      assert.equal((await raw(named.server.port, "GET /health HTTP/1.1\r\nHost: box.tail.ts.net")).status, 200);
      assert.equal((await raw(named.server.port, "GET /health HTTP/1.1\r\nHost: localhost")).status, 200);
      assert.equal((await raw(named.server.port, "GET /health HTTP/1.1\r\nHost: other.example")).status, 421);
    } finally {
      await named.close();
    }
    const any = await serverWith({ allowedHosts: "*" });
    try {
      assert.equal((await raw(any.server.port, "GET /health HTTP/1.1\r\nHost: other.example")).status, 200);
    } finally {
      await any.close();
    }
  });

  test("bound to all interfaces: interface addresses and the machine's name answer; others do not", async () => {
    const { server, close } = await serverWith({ host: "0.0.0.0" });
    try {
      const lan = Object.values(networkInterfaces())
        .flat()
        .filter((net) => net && net.family === "IPv4" && !net.internal)
        .map((net) => net!.address);
      for (const host of [...lan, "localhost", hostname(), `${hostname()}.local`]) {
        assert.equal((await raw(server.port, `GET /health HTTP/1.1\r\nHost: ${host}:${server.port}`)).status, 200, host);
      }
      assert.equal((await raw(server.port, `GET /health HTTP/1.1\r\nHost: 203.0.113.9:${server.port}`)).status, 421);
    } finally {
      await close();
    }
  });
});
