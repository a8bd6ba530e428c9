// GET /status, the one call behind a client's "test connection": its shape, and engine probes
// against local stand-in engines (none configured, one that is down, one that answers, one that
// refuses our credentials, one that hangs). A hanging engine costs the first caller at most the
// probe timeout; later callers are answered from the cache at once.
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { VERSION } from "../../src/version.js";
import { createHarness, type Harness, HOST_TOKEN, json, TOKEN, waitFor } from "../helpers/harness.js";
import { closedPort } from "../helpers/ports.js";
import { bearer, mint, send } from "./helpers.js";

const HOST = { "X-OpenWork-Host-Token": HOST_TOKEN };

/** A local HTTP server standing in for an engine; `hits` counts the requests it got. */
async function standIn(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  const state = { hits: 0 };
  const server: Server = createServer((req, res) => {
    state.hits++;
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    state,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const withEngine = (baseUrl: string, extra: Parameters<typeof createHarness>[1] = {}) =>
  createHarness({}, extra).then(async (h) => {
    await h.close();
    return createHarness({ workspaces: [{ path: h.root, workspaceType: "local", baseUrl }] }, extra);
  });

describe("GET /status", () => {
  test("shape, with no engine configured; any scope may ask", async () => {
    const h = await createHarness({ approval: { mode: "manual", timeoutMs: 4000 } });
    try {
      const viewer = await mint(h, { scope: "viewer" });
      const res = await send(h, "GET", "/status", { headers: bearer(viewer.token) });
      assert.equal(res.status, 200);
      const status = await json(res);
      assert.equal(status.version, VERSION);
      assert.equal(typeof status.instanceId, "string");
      assert.ok(status.uptimeMs >= 0);
      assert.equal(status.readOnly, false);
      assert.deepEqual(status.approval, { mode: "manual", timeoutMs: 4000 });
      assert.equal(status.pendingApprovals, 0);
      assert.deepEqual(status.workspaces, [{ id: h.wsId, name: h.root.split("/").pop(), engine: { configured: false }, watcher: "off" }]);
      // A pending write is counted.
      const write = send(h, "PATCH", h.ws("/config"), { headers: bearer(TOKEN), body: { opencode: { a: 1 } } });
      await waitFor(() => h.services.approvals.list().length === 1);
      assert.equal((await json(await send(h, "GET", "/status", { headers: HOST }))).pendingApprovals, 1);
      h.services.approvals.close();
      assert.equal((await write).status, 403);
      // The instance id is stable within a run.
      assert.equal((await json(await send(h, "GET", "/status", { headers: HOST }))).instanceId, status.instanceId);
    } finally {
      await h.close();
    }
  });

  test("the watcher is reported on when it runs", async () => {
    const h = await createHarness({}, { services: { watch: true } });
    try {
      await h.services.watcher?.ready;
      const status = await json(await send(h, "GET", "/status", { headers: HOST }));
      assert.equal(status.workspaces[0].watcher, "on");
    } finally {
      await h.close();
    }
  });

  test("an engine that is down: reachable false, with the error", async () => {
    const h = await withEngine(`http://127.0.0.1:${await closedPort()}`);
    try {
      const { engine } = (await json(await send(h, "GET", "/status", { headers: HOST }))).workspaces[0];
      assert.equal(engine.configured, true);
      assert.equal(engine.reachable, false);
      assert.match(engine.error, /ECONNREFUSED/);
      assert.equal(engine.latencyMs, undefined);
    } finally {
      await h.close();
    }
  });

  test("an engine that answers: reachable with its latency; a burst of calls costs one probe", async () => {
    const engine = await standIn((req, res) => {
      res.writeHead(req.url === "/global/health" ? 200 : 404, { "Content-Type": "application/json" });
      res.end('{"healthy":true}');
    });
    const h = await withEngine(engine.url);
    try {
      const answers = await Promise.all(Array.from({ length: 5 }, () => send(h, "GET", "/status", { headers: HOST }).then(json)));
      for (const status of answers) {
        const probed = status.workspaces[0].engine;
        assert.equal(probed.configured, true);
        assert.equal(probed.reachable, true);
        assert.equal(typeof probed.latencyMs, "number");
        assert.equal(probed.error, undefined);
      }
      assert.equal(engine.state.hits, 1, "five status calls, one probe");
    } finally {
      await h.close();
      await engine.close();
    }
  });

  test("an engine that refuses our credentials: reachable, with an error that says what to check", async () => {
    const engine = await standIn((_req, res) => {
      res.writeHead(401);
      res.end();
    });
    const h = await withEngine(engine.url);
    try {
      const probed = (await json(await send(h, "GET", "/status", { headers: HOST }))).workspaces[0].engine;
      assert.equal(probed.reachable, true);
      assert.match(probed.error, /401.*password/);
    } finally {
      await h.close();
      await engine.close();
    }
  });

  describe("an engine that never answers", () => {
    let engine: Awaited<ReturnType<typeof standIn>>;
    let h: Harness;
    before(async () => {
      engine = await standIn(() => {}); // accepts, reads, never answers
      h = await withEngine(engine.url, { services: { engineProbe: { ttlMs: 1000 } } });
    });
    after(async () => {
      await h.close();
      await engine.close();
    });

    test("the first call answers within ~2 s; the next is served from the cache at once", async () => {
      let started = performance.now();
      const first = await json(await send(h, "GET", "/status", { headers: HOST }));
      const firstMs = performance.now() - started;
      assert.ok(firstMs < 2500, `first call took ${Math.round(firstMs)} ms`);
      assert.deepEqual(first.workspaces[0].engine, { configured: true, reachable: false, error: "no answer within 1500 ms" });

      started = performance.now();
      const second = await json(await send(h, "GET", "/status", { headers: HOST }));
      const secondMs = performance.now() - started;
      // Far below the 1500 ms a probe of this engine takes: served without probing.
      assert.ok(secondMs < 1000, `the cached answer took ${Math.round(secondMs)} ms`);
      assert.deepEqual(second.workspaces[0].engine, first.workspaces[0].engine);
      assert.equal(engine.state.hits, 1);
    });

    test("once the answer is stale it is still served at once while a new probe runs behind it", async () => {
      await new Promise((r) => setTimeout(r, 1100));
      const started = performance.now();
      const status = await json(await send(h, "GET", "/status", { headers: HOST }));
      assert.ok(performance.now() - started < 1000, "a stale answer does not wait for the new probe (1500 ms)");
      assert.equal(status.workspaces[0].engine.reachable, false);
      await waitFor(() => engine.state.hits === 2, 1000); // a new probe was started
      // /health is not held up by a probe in flight either.
      const health = performance.now();
      assert.equal((await h.app.request("/health")).status, 200);
      assert.ok(performance.now() - health < 1000);
    });
  });
});
