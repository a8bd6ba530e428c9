// Engine reload (SPEC section 6) against failure injections: a closed port, an HTTP server that
// answers 500 or never answers, and one whose session status reports a busy session. The real
// engine is exercised in test/integration/engine.test.ts.
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, test } from "node:test";
import type { ServerSettings } from "../src/config.js";
import { busySessions } from "../src/services/engine.js";
import type { ServicesOptions } from "../src/services/index.js";
import { createHarness, type Harness, json, snapshot, tempDir, waitFor } from "./helpers/harness.js";
import { closedPort } from "./helpers/ports.js";

interface Seen {
  method: string;
  path: string;
  directory: string | null;
  auth: string | undefined;
  at: number;
}

type Handler = (req: IncomingMessage, res: ServerResponse, seen: Seen) => void;

/** A tiny HTTP server standing in for an engine that fails in a chosen way. */
async function fakeEngine(t: { after(fn: () => Promise<void>): void }, handler: Handler) {
  const seen: Seen[] = [];
  const open = new Set<ServerResponse>();
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const entry = {
      method: req.method ?? "",
      path: url.pathname,
      directory: url.searchParams.get("directory"),
      auth: req.headers.authorization,
      at: Date.now(),
    };
    seen.push(entry);
    open.add(res);
    res.on("close", () => open.delete(res));
    handler(req, res, entry);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(async () => {
    for (const res of open) res.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

const reply = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { "Content-Type": "application/json" });
  res.end(JSON.stringify(body));
};

/** A fake engine that is idle and disposes fine. */
const healthy: Handler = (req, res, seen) => {
  if (seen.path.endsWith("/session/status")) return reply(res, 200, {});
  if (seen.path.endsWith("/instance/dispose") && req.method === "POST") return reply(res, 200, true);
  reply(res, 404, { name: "NotFound" });
};

async function harnessFor(
  t: { after(fn: () => Promise<void>): void },
  workspace: { baseUrl?: string; directory?: string },
  overrides: Partial<ServerSettings> = {},
  services: ServicesOptions = {},
): Promise<Harness> {
  const root = await tempDir("ows-engine-unit-");
  const h = await createHarness(
    { workspaces: [{ path: root, workspaceType: "local", ...workspace }], authorizedRoots: [root], ...overrides },
    { root, services: { engine: { pollIntervalMs: 50, ...services.engine }, ...services } },
  );
  t.after(async () => {
    await h.close();
    await rm(root, { recursive: true, force: true });
  });
  return h;
}

async function expectError(res: Response, status: number, code: string) {
  const body = await json(res);
  assert.equal(res.status, status, JSON.stringify(body));
  assert.equal(body.code, code, JSON.stringify(body));
  assert.equal(typeof body.message, "string");
  assert.ok(!/\bat .+:\d+:\d+/.test(JSON.stringify(body)), "no stack trace");
  return body;
}

/** The actions audited as applied (denied and failed requests are audited with their outcome). */
const auditActions = async (h: Harness) =>
  ((await json(await h.call("GET", h.ws("/audit")))).items as Array<{ action: string; outcome: string }>)
    .filter((e) => e.outcome === "applied")
    .map((e) => e.action);
const auditOutcomes = async (h: Harness) =>
  ((await json(await h.call("GET", h.ws("/audit")))).items as Array<{ outcome: string; error?: string }>).map((e) =>
    e.error ? `${e.outcome}:${e.error}` : e.outcome,
  );

describe("engine reload: success", () => {
  test("disposes the instance of the workspace directory with basic auth; audited; no reload event", async (t) => {
    const engine = await fakeEngine(t, healthy);
    const h = await harnessFor(t, { baseUrl: engine.url }, { opencodeAuth: { username: "opencode", password: "s3cret" } });
    const before = Date.now();
    const res = await h.call("POST", h.ws("/engine/reload"));
    const body = await json(res);
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.deepEqual(Object.keys(body).sort(), ["ok", "reloadedAt"]);
    assert.equal(body.ok, true);
    assert.ok(body.reloadedAt >= before && body.reloadedAt <= Date.now());
    const dispose = engine.seen.filter((s) => s.path === "/instance/dispose");
    assert.equal(dispose.length, 1);
    assert.equal(dispose[0]!.method, "POST");
    assert.equal(dispose[0]!.directory, h.root);
    assert.equal(dispose[0]!.auth, `Basic ${Buffer.from("opencode:s3cret").toString("base64")}`);
    // The busy check came first, to the same directory.
    assert.equal(engine.seen[0]!.path, "/session/status");
    assert.equal(engine.seen[0]!.directory, h.root);
    assert.deepEqual(await auditActions(h), ["engine.reload"]);
    assert.deepEqual((await json(await h.call("GET", h.ws("/events")))).items, []);
  });

  test("uses the configured directory and a base URL with a path; no auth header without a password", async (t) => {
    const engine = await fakeEngine(t, healthy);
    const h = await harnessFor(t, { baseUrl: `${engine.url}/prefix/`, directory: "/srv/elsewhere" });
    const res = await h.call("POST", h.ws("/engine/reload"));
    assert.equal(res.status, 200);
    const dispose = engine.seen.find((s) => s.path.endsWith("/instance/dispose"))!;
    assert.equal(dispose.path, "/prefix/instance/dispose");
    assert.equal(dispose.directory, "/srv/elsewhere");
    assert.equal(dispose.auth, undefined);
  });

  test("allowed on a read-only server (writes are not)", async (t) => {
    const engine = await fakeEngine(t, healthy);
    const h = await harnessFor(t, { baseUrl: engine.url }, { readOnly: true });
    const res = await h.call("POST", h.ws("/engine/reload"));
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(engine.seen.filter((s) => s.path === "/instance/dispose").length, 1);
    await expectError(await h.call("PATCH", h.ws("/config"), { opencode: { share: "disabled" } }), 403, "read_only");
  });

  test("manual approval: the host sees engine.reload; a denial never reaches the engine", async (t) => {
    const engine = await fakeEngine(t, healthy);
    const h = await harnessFor(t, { baseUrl: engine.url }, { approval: { mode: "manual", timeoutMs: 5000 } });
    const pending = h.call("POST", h.ws("/engine/reload"));
    const request = await waitFor(async () => (await json(await h.host("GET", "/approvals"))).items[0]);
    assert.equal(request.action, "engine.reload");
    assert.deepEqual(request.paths, []);
    assert.equal((await h.host("POST", `/approvals/${request.id}`, { reply: "deny" })).status, 200);
    await expectError(await pending, 403, "write_denied");
    assert.deepEqual(engine.seen, []);
    assert.deepEqual(await auditActions(h), []);
    assert.deepEqual(await auditOutcomes(h), ["denied"]);
  });
});

describe("engine reload: failures", () => {
  test("no engine configured -> 400 opencode_not_configured, before any approval is asked", async (t) => {
    const h = await harnessFor(t, {}, { approval: { mode: "manual", timeoutMs: 5000 } });
    const files = await snapshot(h.root);
    await expectError(await h.call("POST", h.ws("/engine/reload")), 400, "opencode_not_configured");
    assert.deepEqual((await json(await h.host("GET", "/approvals"))).items, []);
    assert.deepEqual(await snapshot(h.root), files, "nothing written (no audit entry either)");
  });

  test("engine down -> 502 opencode_unreachable", async (t) => {
    const port = await closedPort();
    const h = await harnessFor(t, { baseUrl: `http://127.0.0.1:${port}` });
    const body = await expectError(await h.call("POST", h.ws("/engine/reload")), 502, "opencode_unreachable");
    assert.equal(body.details.baseUrl, `http://127.0.0.1:${port}`);
    assert.deepEqual(await auditActions(h), [], "a failed reload is not audited as done");
    // force skips the status check but the dispose fails the same way.
    await expectError(await h.call("POST", h.ws("/engine/reload?force=true")), 502, "opencode_unreachable");
    assert.deepEqual(await auditOutcomes(h), ["failed:opencode_unreachable", "failed:opencode_unreachable"]);
  });

  test("engine answers non-2xx -> 502 opencode_reload_failed with the status", async (t) => {
    const engine = await fakeEngine(t, (_req, res, seen) => {
      if (seen.path === "/session/status") return reply(res, 200, {});
      reply(res, 500, { name: "UnknownError", data: { message: "boom" } });
    });
    const h = await harnessFor(t, { baseUrl: engine.url });
    const body = await expectError(await h.call("POST", h.ws("/engine/reload")), 502, "opencode_reload_failed");
    assert.equal(body.details.status, 500);
    assert.match(body.details.body, /boom/);
    assert.deepEqual(await auditActions(h), []);
  });

  test("wrong engine password -> 502 opencode_reload_failed with status 401", async (t) => {
    const engine = await fakeEngine(t, (_req, res) => {
      res.writeHead(401, { "www-authenticate": 'Basic realm="Secure Area"' });
      res.end();
    });
    const h = await harnessFor(t, { baseUrl: engine.url }, { opencodeAuth: { username: "opencode", password: "wrong" } });
    const body = await expectError(await h.call("POST", h.ws("/engine/reload")), 502, "opencode_reload_failed");
    assert.equal(body.details.status, 401);
  });

  test("no answer in time -> 504 opencode_timeout", async (t) => {
    const engine = await fakeEngine(t, () => {
      /* never answers */
    });
    const h = await harnessFor(t, { baseUrl: engine.url }, {}, { engine: { requestTimeoutMs: 300 } });
    const started = Date.now();
    const body = await expectError(await h.call("POST", h.ws("/engine/reload?force=true")), 504, "opencode_timeout");
    assert.equal(body.details.timeoutMs, 300);
    assert.ok(Date.now() - started < 3000);
    assert.equal(engine.seen[0]!.path, "/instance/dispose");
  });

  test("bad query values -> 400", async (t) => {
    const engine = await fakeEngine(t, healthy);
    const h = await harnessFor(t, { baseUrl: engine.url });
    await expectError(await h.call("POST", h.ws("/engine/reload?force=maybe")), 400, "invalid_payload");
    await expectError(await h.call("POST", h.ws("/engine/reload?waitMs=-5")), 400, "invalid_payload");
    await expectError(await h.call("POST", h.ws("/engine/reload?waitMs=999999999")), 400, "invalid_payload");
    assert.deepEqual(engine.seen, []);
  });

  test("unknown workspace -> 404; no token -> 401", async (t) => {
    const engine = await fakeEngine(t, healthy);
    const h = await harnessFor(t, { baseUrl: engine.url });
    await expectError(await h.call("POST", "/workspace/ws_000000000000/engine/reload"), 404, "workspace_not_found");
    const res = await h.app.request(h.ws("/engine/reload"), { method: "POST", headers: { "X-OpenWork-Host-Token": "nope" } });
    assert.equal(res.status, 401);
    assert.deepEqual(engine.seen, []);
  });
});

describe("engine reload: busy sessions", () => {
  test("busySessions: everything not idle counts", () => {
    assert.deepEqual(busySessions({}), []);
    assert.deepEqual(busySessions({ a: { type: "idle" } }), []);
    assert.deepEqual(busySessions({ a: { type: "busy" }, b: { type: "idle" }, c: { type: "retry", attempt: 1, message: "x", next: 1 } }), [
      "a",
      "c",
    ]);
    assert.deepEqual(busySessions(null), []);
    assert.deepEqual(busySessions([]), []);
  });

  test("waits while a session is busy, then disposes", async (t) => {
    let busyUntil = Date.now() + 400;
    const engine = await fakeEngine(t, (_req, res, seen) => {
      if (seen.path === "/session/status")
        return reply(res, 200, Date.now() < busyUntil ? { ses_1: { type: "busy" } } : { ses_1: { type: "idle" } });
      if (seen.path === "/instance/dispose") return reply(res, 200, true);
      reply(res, 404, {});
    });
    const h = await harnessFor(t, { baseUrl: engine.url });
    busyUntil = Date.now() + 400;
    const res = await h.call("POST", h.ws("/engine/reload"));
    assert.equal(res.status, 200, await res.clone().text());
    const polls = engine.seen.filter((s) => s.path === "/session/status");
    const dispose = engine.seen.filter((s) => s.path === "/instance/dispose");
    assert.ok(polls.length >= 3, `polled ${polls.length} times`);
    assert.equal(dispose.length, 1);
    assert.ok(dispose[0]!.at >= busyUntil, "disposed only once the session was idle");
  });

  test("?force=true disposes at once without looking", async (t) => {
    const engine = await fakeEngine(t, (_req, res, seen) => {
      if (seen.path === "/session/status") return reply(res, 200, { ses_1: { type: "busy" } });
      if (seen.path === "/instance/dispose") return reply(res, 200, true);
      reply(res, 404, {});
    });
    const h = await harnessFor(t, { baseUrl: engine.url });
    const started = Date.now();
    const res = await h.call("POST", h.ws("/engine/reload?force=true"));
    assert.equal(res.status, 200);
    assert.ok(Date.now() - started < 1000);
    assert.deepEqual(
      engine.seen.map((s) => s.path),
      ["/instance/dispose"],
    );
  });

  test("still busy after the bound -> 409 opencode_busy, nothing disposed", async (t) => {
    const engine = await fakeEngine(t, (_req, res, seen) => {
      if (seen.path === "/session/status") return reply(res, 200, { ses_a: { type: "busy" }, ses_b: { type: "idle" } });
      reply(res, 200, true);
    });
    const h = await harnessFor(t, { baseUrl: engine.url }, {}, { engine: { idleWaitMs: 1500 } });
    let started = Date.now();
    let body = await expectError(await h.call("POST", h.ws("/engine/reload")), 409, "opencode_busy");
    assert.deepEqual(body.details.sessions, ["ses_a"]);
    assert.ok(Date.now() - started >= 1500, "waited the configured bound");
    // ?waitMs= overrides the bound per call.
    started = Date.now();
    body = await expectError(await h.call("POST", h.ws("/engine/reload?waitMs=0")), 409, "opencode_busy");
    assert.ok(Date.now() - started < 1000, "did not wait the configured bound");
    assert.equal(engine.seen.filter((s) => s.path === "/instance/dispose").length, 0);
    assert.deepEqual(await auditActions(h), []);
  });

  test("the wait does not hold the write lock: a config PATCH to the same workspace completes meanwhile", async (t) => {
    let busy = true;
    const engine = await fakeEngine(t, (_req, res, seen) => {
      if (seen.path === "/session/status") return reply(res, 200, { ses_1: { type: busy ? "busy" : "idle" } });
      if (seen.path === "/instance/dispose") return reply(res, 200, true);
      reply(res, 404, {});
    });
    const h = await harnessFor(t, { baseUrl: engine.url }, {}, { engine: { idleWaitMs: 10_000 } });
    const reload = h.call("POST", h.ws("/engine/reload"));
    // The reload is waiting on the busy session (approved, polling).
    await waitFor(() => engine.seen.filter((s) => s.path === "/session/status").length >= 2, 3000);
    let settled = false;
    void reload.then(() => (settled = true));
    const started = Date.now();
    const patch = await h.call("PATCH", h.ws("/config"), { opencode: { share: "disabled" } });
    assert.equal(patch.status, 200, await patch.clone().text());
    assert.ok(Date.now() - started < 2000, `the PATCH took ${Date.now() - started} ms`);
    assert.equal(settled, false, "the reload is still waiting");
    assert.equal(engine.seen.filter((s) => s.path === "/instance/dispose").length, 0);

    busy = false;
    const res = await reload;
    assert.equal(res.status, 200, await res.clone().text());
    const dispose = engine.seen.filter((s) => s.path === "/instance/dispose");
    assert.equal(dispose.length, 1);
    assert.deepEqual(await auditActions(h), ["engine.reload", "config.patch"], "newest first: the PATCH landed before the reload");
  });

  test("an engine without /session/status is treated as idle", async (t) => {
    const engine = await fakeEngine(t, (_req, res, seen) => {
      if (seen.path === "/instance/dispose") return reply(res, 200, true);
      reply(res, 404, {});
    });
    const h = await harnessFor(t, { baseUrl: engine.url });
    assert.equal((await h.call("POST", h.ws("/engine/reload"))).status, 200);
  });
});
