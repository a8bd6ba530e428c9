// The contract holds together: (a) the test-mode response check really rejects an answer its
// schema does not describe (a wrong success body or status, an error body with an undocumented
// code), so the suite-wide check (OPENWORK_VALIDATE_RESPONSES=1, scripts/run-tests.mjs) means
// something; (b) every operation of the route table is a client method that sends exactly the
// route's method and path (and its /w/:id mount); (c) /openapi.json names the same operations.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Hono } from "hono";
import { CLIENT_HELPERS, createClient, pathParams } from "../src/client/index.js";
import { isMounted, mountedPath, OPERATION_IDS, type OperationId, ROUTES, type RouteInfo } from "../src/contract/routes.js";
import { type OperationSchemas, SCHEMAS } from "../src/contract/schemas.js";
import { ApiError, type ErrorCode } from "../src/errors.js";
import type { AppEnv } from "../src/http/env.js";
import { errorHandler } from "../src/http/errors.js";
import { type Handlers, registerOperations } from "../src/http/route.js";
import { silentLogger } from "../src/logger.js";
import { buildOpenApiDocument } from "../src/openapi.js";
import { createHarness, type Harness, HOST_TOKEN, json } from "./helpers/harness.js";

let h: Harness;
before(async () => {
  h = await createHarness();
});
after(() => h.close());

/** An app with the contract's routes whose handlers are the given ones (the rest throw). */
function appWith(handlers: Partial<Handlers>, validateResponses = true) {
  const app = new Hono<AppEnv>();
  const all = new Proxy(handlers, {
    get: (target, id) =>
      target[id as OperationId] ??
      (() => {
        throw new Error(`no handler for ${String(id)} in this test`);
      }),
  }) as Handlers;
  registerOperations(app, all, {
    auth: h.services.auth,
    admitWrite: () => () => {},
    assertServed: () => {},
    logger: silentLogger,
    validateResponses,
  });
  app.onError(errorHandler(silentLogger, { validateResponses }));
  return app;
}

const hostHeaders = { "X-OpenWork-Host-Token": HOST_TOKEN, "Content-Type": "application/json" };

describe("(a) the response check", () => {
  test("the test suite runs with it on", () => {
    assert.equal(process.env.OPENWORK_VALIDATE_RESPONSES, "1", "run the tests with scripts/run-tests.mjs (npm test)");
  });

  test("a success body its schema does not describe becomes a 500 naming the operation and the problem", async () => {
    const wrong = { getHealth: () => ({ ok: true, version: 1 }) as never };
    let res = await appWith(wrong).request("/health");
    assert.equal(res.status, 500);
    const body = await json(res);
    assert.equal(body.code, "internal_error");
    assert.match(body.message, /getHealth does not match its schema/);
    const problem = JSON.stringify(body.details.problem);
    assert.match(problem, /version/);
    assert.match(problem, /uptimeMs/);
    // The same under the /w/:id mount.
    res = await appWith(wrong).request("/w/ws_x/health");
    assert.equal(res.status, 500);

    // Controls: without the check the wrong body goes out as it is; a right body passes the check.
    res = await appWith(wrong, false).request("/health");
    assert.deepEqual([res.status, await json(res)], [200, { ok: true, version: 1 }]);
    res = await appWith({ getHealth: () => ({ ok: true, version: "1", uptimeMs: 5 }) }).request("/health");
    assert.deepEqual([res.status, await json(res)], [200, { ok: true, version: "1", uptimeMs: 5 }]);
  });

  test("a wrong value deep inside an answer (an enum, an item of a list) fails it too", async () => {
    const item = { name: "a", path: "/x/SKILL.md", description: "d", scope: "project" };
    const app = appWith({
      listSkills: (_c, { query }) => ({ items: [item, { ...item, scope: query.includeGlobal ? "galaxy" : "global" }] }) as never,
    });
    const headers = { "X-OpenWork-Host-Token": HOST_TOKEN };
    assert.equal((await app.request("/workspace/ws_x/skills", { headers })).status, 200);
    const res = await app.request("/workspace/ws_x/skills?includeGlobal=true", { headers });
    assert.equal(res.status, 500);
    assert.match(JSON.stringify((await json(res)).details.problem), /items\.1\.scope/);
  });

  test("a field the schema does not document fails it (zod would silently drop it)", async () => {
    const leaky = { getHealth: () => ({ ok: true, version: "1", uptimeMs: 5, hostToken: "secret" }) as never };
    const res = await appWith(leaky).request("/health");
    assert.equal(res.status, 500);
    assert.deepEqual((await json(res)).details.problem, { undocumented: ["hostToken"] });
    const nested = appWith({ whoami: () => ({ kind: "host", scope: "owner", workspaces: [], extra: { deep: 1 } }) as never });
    const deep = await nested.request("/whoami", { headers: { "X-OpenWork-Host-Token": HOST_TOKEN } });
    assert.deepEqual((await json(deep)).details.problem, { undocumented: ["extra"] });
  });

  test("a success answer with another status than documented fails it", async () => {
    const created = { id: "tok_1", scope: "viewer", label: "phone", createdAt: 1, token: "owt_x" } as const;
    const app = appWith({ createToken: (c) => c.json(created, 200) });
    const res = await app.request("/tokens", {
      method: "POST",
      headers: hostHeaders,
      body: JSON.stringify({ scope: "viewer", label: "phone" }),
    });
    assert.equal(res.status, 500);
    assert.match(JSON.stringify((await json(res)).details.problem), /status 200, documented 201/);
    const right = await appWith({ createToken: () => created }).request("/tokens", {
      method: "POST",
      headers: hostHeaders,
      body: JSON.stringify({ scope: "viewer", label: "phone" }),
    });
    assert.equal(right.status, 201);
  });

  test("an error body with an undocumented code fails it, returned or thrown", async () => {
    const returned = appWith({ getHealth: (c) => c.json({ code: "teapot", message: "short and stout" }, 418) as never });
    let res = await returned.request("/health");
    assert.equal(res.status, 500);
    let body = await json(res);
    assert.equal(body.code, "internal_error");
    assert.match(JSON.stringify(body.details.problem), /code/);

    const thrown = appWith({
      getHealth: () => {
        throw new ApiError(409, "teapot" as ErrorCode, "short and stout");
      },
    });
    res = await thrown.request("/health");
    assert.equal(res.status, 500);
    body = await json(res);
    assert.equal(body.code, "internal_error");
    assert.match(body.message, /Error body does not match its schema/);

    // An error body without its message fails as well; a documented error passes untouched.
    res = await appWith({ getHealth: (c) => c.json({ code: "not_found" }, 404) as never }).request("/health");
    assert.equal(res.status, 500);
    res = await appWith({
      getHealth: () => {
        throw new ApiError(409, "conflict", "changed", { file: "opencode.json" });
      },
    }).request("/health");
    assert.deepEqual([res.status, await json(res)], [409, { code: "conflict", message: "changed", details: { file: "opencode.json" } }]);

    // Control: without the check the undocumented code goes out as it is.
    res = await appWith({ getHealth: (c) => c.json({ code: "teapot", message: "short and stout" }, 418) as never }, false).request(
      "/health",
    );
    assert.equal(res.status, 418);
  });
});

/** `/workspace/:id/plugins/:name{.+}` with `p-id`, `p-name`... (computed here, not by the client). */
const fill = (path: string) => path.replace(/:(\w+)(\{[^}]*\}+)?/g, (_m, name: string) => `p-${name}`);

/** Sample input for an operation: each path parameter `p-<name>`, a body when it takes one. */
function sampleInput(id: OperationId, skip: string[] = []): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const name of pathParams(ROUTES[id].path)) if (!skip.includes(name)) input[name] = `p-${name}`;
  if ((SCHEMAS[id] as OperationSchemas).body) input.body = {};
  return input;
}

function recordingClient(baseUrl = "http://h") {
  const sent: Array<{ method: string; path: string }> = [];
  const client = createClient({
    baseUrl,
    token: "t",
    fetch: async (url, init) => {
      sent.push({ method: init.method ?? "GET", path: new URL(url).pathname });
      return new Response("{}", { headers: { "Content-Type": "application/json" } });
    },
  });
  return { client, sent };
}

describe("(b) the client covers the contract", () => {
  test("every operation's path parameters are its params schema's fields (what the client's types come from)", () => {
    for (const id of OPERATION_IDS) {
      const schema = (SCHEMAS[id] as OperationSchemas).params;
      assert.deepEqual(Object.keys(schema?.shape ?? {}).sort(), pathParams(ROUTES[id].path).sort(), id);
    }
  });

  test("every operation is a client method sending exactly its route's method and path", async () => {
    const { client, sent } = recordingClient();
    const methods = client as unknown as Record<string, (input?: unknown) => Promise<unknown>>;
    for (const id of OPERATION_IDS) {
      assert.ok(!(CLIENT_HELPERS as readonly string[]).includes(id), `${id} collides with a client helper`);
      assert.equal(typeof methods[id], "function", `client.${id}`);
      await methods[id]!(sampleInput(id));
      const route: RouteInfo = ROUTES[id];
      assert.deepEqual(sent.pop(), { method: route.method, path: fill(route.path) }, id);
    }
    assert.deepEqual(Object.keys(client).sort(), [...OPERATION_IDS, ...CLIENT_HELPERS.filter((n) => n !== "id")].sort());
  });

  test("every mounted operation is a workspace method sending its /w/:id path; no other is", async () => {
    const { client, sent } = recordingClient();
    const ws = client.workspace("p-id") as unknown as Record<string, (input?: unknown) => Promise<unknown>>;
    const mounted = OPERATION_IDS.filter((id) => isMounted(ROUTES[id]));
    assert.ok(mounted.length > 20, "the workspace routes are mounted");
    for (const id of OPERATION_IDS) {
      if (!mounted.includes(id)) {
        assert.equal(ws[id], undefined, `${id} is not mounted`);
        continue;
      }
      await ws[id]!(sampleInput(id, ["id"]));
      const route: RouteInfo = ROUTES[id];
      assert.deepEqual(sent.pop(), { method: route.method, path: fill(mountedPath(route)) }, id);
    }
  });

  test("a base URL under a path prefix keeps it", async () => {
    const { client, sent } = recordingClient("http://h/openwork/");
    await client.listSkills({ id: "w" });
    await client.workspace("w").listSkills();
    assert.deepEqual(
      sent.map((s) => s.path),
      ["/openwork/workspace/w/skills", "/openwork/w/w/skills"],
    );
  });
});

describe("(c) /openapi.json and the client name the same operations", () => {
  test("operation ids: the client's methods, and `<id>_mounted` for the workspace client's", async () => {
    const doc = buildOpenApiDocument("test") as { paths: Record<string, Record<string, { operationId: string }>> };
    const ops = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => ({ path, method: method.toUpperCase(), id: op.operationId })),
    );
    const { client, sent } = recordingClient();
    const ws = client.workspace("p-id") as unknown as Record<string, unknown>;
    // The gateway is the engine's own API: one `opencode(path)` helper on each client, checked below.
    const gatewayOps = ops.filter((op) => op.id.startsWith("opencodeGateway"));
    ops.splice(0, ops.length, ...ops.filter((op) => !op.id.startsWith("opencodeGateway")));
    assert.equal(gatewayOps.length, 10);
    for (const op of gatewayOps) {
      const mounted = op.id.startsWith("opencodeGatewayMounted");
      const { client: gw, sent: through } = recordingClient();
      const helper = mounted ? gw.workspace("p-id").opencode : gw.opencode;
      await helper("/session/abc", { method: op.method });
      const expected = op.path.replace("{id}", "p-id").replace("{path}", "session/abc");
      assert.deepEqual(through.pop(), { method: op.method, path: expected }, op.id);
    }
    const plain = ops.filter((op) => !op.id.endsWith("_mounted")).map((op) => op.id);
    const mounted = ops.filter((op) => op.id.endsWith("_mounted")).map((op) => op.id.slice(0, -"_mounted".length));
    assert.deepEqual([...plain].sort(), [...OPERATION_IDS].sort());
    assert.deepEqual(
      [...mounted].sort(),
      Object.keys(ws)
        .filter((k) => !(CLIENT_HELPERS as readonly string[]).includes(k))
        .sort(),
    );

    // And each documented operation is where the client sends it.
    for (const op of ops) {
      const isMountedOp = op.id.endsWith("_mounted");
      const id = (isMountedOp ? op.id.slice(0, -"_mounted".length) : op.id) as OperationId;
      const target = (isMountedOp ? ws : client) as Record<string, (input?: unknown) => Promise<unknown>>;
      await target[id]!(sampleInput(id, isMountedOp ? ["id"] : []));
      const expected = op.path.replace(/\{(\w+)\}/g, (_m, name: string) => `p-${name}`);
      assert.deepEqual(sent.pop(), { method: op.method, path: expected }, op.id);
    }
  });
});
