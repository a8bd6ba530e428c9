// Error bodies and statuses of SPEC section 2, CORS, and the body rules.
import assert from "node:assert/strict";
import { mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createApp } from "../../src/app.js";
import { createServices } from "../../src/services/index.js";
import { workspaceId } from "../../src/workspaces.js";
import { createHarness, type Harness, json, snapshot, TOKEN, tempDir } from "../helpers/harness.js";

let h: Harness;
before(async () => {
  h = await createHarness();
});
after(() => h.close());

async function expectError(res: Response, status: number, code: string) {
  assert.equal(res.status, status, `status of ${code}`);
  assert.match(res.headers.get("content-type") ?? "", /application\/json/);
  const body = await json(res);
  assert.equal(body.code, code);
  assert.equal(typeof body.message, "string");
  assert.ok(!/\bat .+:\d+:\d+/.test(JSON.stringify(body)), "no stack trace in the body");
  return body;
}

describe("status codes", () => {
  test("400 invalid_json for malformed JSON", async () => {
    await expectError(await h.call("PATCH", h.ws("/config"), "{ nope"), 400, "invalid_json");
  });
  test("400 invalid_payload for a wrong type, with the field named", async () => {
    const body = await expectError(await h.call("PATCH", h.ws("/config"), { opencode: "dark" }), 400, "invalid_payload");
    assert.equal(body.details.issues[0].path, "opencode");
  });
  test("400 invalid_payload for a POST/PATCH that needs a body and has none", async () => {
    await expectError(await h.call("PATCH", h.ws("/config")), 400, "invalid_payload");
  });
  test("400 invalid_payload for __proto__ in a body", async () => {
    const body = await expectError(await h.call("PATCH", h.ws("/config"), '{"opencode":{"__proto__":{"x":1}}}'), 400, "invalid_payload");
    assert.equal(body.details.path, "opencode.__proto__");
    assert.deepEqual(await snapshot(h.root), {});
  });
  test("404 workspace_not_found for an unknown workspace", async () => {
    await expectError(await h.call("GET", "/workspace/ws_000000000000/config"), 404, "workspace_not_found");
  });
  test("404 not_found for an unknown route (after auth)", async () => {
    await expectError(await h.call("GET", "/nope"), 404, "not_found");
  });
  test("413 for a declared body over the cap", async () => {
    const res = await h.app.request(h.ws("/config"), {
      method: "PATCH",
      headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json", "Content-Length": String(2 * 1024 * 1024) },
      body: "{}",
    });
    await expectError(res, 413, "payload_too_large");
  });
  test("413 for a chunked body over the cap (no Content-Length)", async () => {
    const big = new TextEncoder().encode(`{"opencode":{"x":"${"a".repeat(64 * 1024)}"}}`);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent > 20) return controller.close();
        sent++;
        controller.enqueue(big);
      },
    });
    const res = await h.app.request(h.ws("/config"), {
      method: "PATCH",
      headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
      body: stream,
      duplex: "half",
    } as RequestInit);
    await expectError(res, 413, "payload_too_large");
    assert.deepEqual(await snapshot(h.root), {});
  });
  test("415 for a non-empty body that is not JSON", async () => {
    await expectError(
      await h.call("PATCH", h.ws("/config"), '{"opencode":{}}', { "Content-Type": "text/plain" }),
      415,
      "unsupported_media_type",
    );
  });
  test("a bodiless GET with Content-Type: application/json is fine (the app sends it)", async () => {
    const res = await h.call("GET", h.ws("/config"), undefined, { "Content-Type": "application/json" });
    assert.equal(res.status, 200);
  });
  test("application/*+json and a charset parameter are JSON", async () => {
    const res = await h.call(
      "PATCH",
      h.ws("/config"),
      { openwork: { x: 1 } },
      { "Content-Type": "application/merge-patch+json; charset=utf-8" },
    );
    assert.equal(res.status, 200);
  });
  test("400 invalid_payload for a bad audit limit", async () => {
    await expectError(await h.call("GET", h.ws("/audit?limit=abc")), 400, "invalid_payload");
  });
});

describe("read-only and unauthorized workspaces", () => {
  test("403 read_only refuses writes and leaves files alone; capabilities say write:false", async () => {
    const ro = await createHarness({ readOnly: true });
    try {
      await writeFile(join(ro.root, "opencode.json"), '{"theme":"a"}\n');
      await expectError(await ro.call("PATCH", ro.ws("/config"), { opencode: { theme: "b" } }), 403, "read_only");
      assert.deepEqual(await snapshot(ro.root), { "opencode.json": '{"theme":"a"}\n' });
      const caps = await json(await ro.call("GET", "/capabilities"));
      assert.deepEqual(caps.config, { read: true, write: false });
      assert.equal(caps.skills.source, "openwork");
      assert.equal((await ro.call("GET", ro.ws("/config"))).status, 200);
    } finally {
      await ro.close();
    }
  });

  test("403 workspace_unauthorized for a workspace outside authorizedRoots; still listed", async () => {
    const allowed = await tempDir();
    const outside = await tempDir();
    const services = createServices({
      ...h.services.settings,
      workspaces: [
        { path: allowed, workspaceType: "local" },
        { path: outside, workspaceType: "local" },
      ],
      authorizedRoots: [allowed],
    });
    const app = createApp(services);
    const auth = { Authorization: `Bearer ${TOKEN}` };
    const list = await json(await app.request("/workspaces", { headers: auth }));
    assert.equal(list.items.length, 2);
    await expectError(await app.request(`/workspace/${workspaceId(outside)}/config`, { headers: auth }), 403, "workspace_unauthorized");
    assert.equal((await app.request(`/workspace/${workspaceId(allowed)}/config`, { headers: auth })).status, 200);
  });

  test("a sibling folder sharing the root's prefix is not inside it", async () => {
    const base = await tempDir();
    await mkdir(join(base, "work"));
    await mkdir(join(base, "work-evil"));
    const services = createServices({
      ...h.services.settings,
      workspaces: [{ path: join(base, "work-evil"), workspaceType: "local" }],
      authorizedRoots: [join(base, "work")],
    });
    const res = await createApp(services).request(`/workspace/${workspaceId(join(base, "work-evil"))}/config`, {
      headers: { Authorization: `Bearer ${TOKEN}` },
    });
    await expectError(res, 403, "workspace_unauthorized");
  });

  test("a workspace that is a symlink into an authorized root is served", async () => {
    const base = await tempDir();
    await mkdir(join(base, "real"));
    await symlink(join(base, "real"), join(base, "link"));
    const services = createServices({
      ...h.services.settings,
      workspaces: [{ path: join(base, "link"), workspaceType: "local" }],
      authorizedRoots: [join(base, "real")],
    });
    const res = await createApp(services).request(`/workspace/${workspaceId(join(base, "link"))}/config`, {
      headers: { Authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(res.status, 200);
  });
});

describe("CORS", () => {
  test("preflight answers 204 with the allowed headers and methods", async () => {
    const res = await h.app.request(h.ws("/config"), {
      method: "OPTIONS",
      headers: {
        Origin: "http://localhost:5173",
        "Access-Control-Request-Method": "PATCH",
        "Access-Control-Request-Headers": "authorization,content-type",
      },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get("access-control-allow-origin"), "*");
    const headers = (res.headers.get("access-control-allow-headers") ?? "").toLowerCase();
    for (const name of ["authorization", "content-type", "x-openwork-host-token", "x-openwork-client-id"]) {
      assert.ok(headers.includes(name), `allows ${name}`);
    }
    const methods = res.headers.get("access-control-allow-methods") ?? "";
    for (const m of ["GET", "POST", "PATCH", "DELETE", "OPTIONS"]) assert.ok(methods.includes(m), `allows ${m}`);
  });

  test("an allow-list answers listed origins only; errors carry CORS headers too", async () => {
    const listed = await createHarness({ corsOrigins: ["http://good.example"] });
    try {
      const good = await listed.app.request("/health", { headers: { Origin: "http://good.example" } });
      assert.equal(good.headers.get("access-control-allow-origin"), "http://good.example");
      const bad = await listed.app.request("/health", { headers: { Origin: "http://evil.example" } });
      assert.equal(bad.headers.get("access-control-allow-origin"), null);
      const denied = await listed.app.request("/workspaces", { headers: { Origin: "http://good.example" } });
      assert.equal(denied.status, 401);
      assert.equal(denied.headers.get("access-control-allow-origin"), "http://good.example");
    } finally {
      await listed.close();
    }
  });
});

describe("500 is only for bugs", () => {
  test("an unexpected exception becomes a generic 500: no internals, only an id to find the log entry", async () => {
    const h2 = await createHarness();
    try {
      // Fault injection: make the audit reader throw a non-API error.
      h2.services.audit.tail = async () => {
        throw new Error("disk on fire at /secret/path");
      };
      const res = await h2.call("GET", h2.ws("/audit"));
      const body = await expectError(res, 500, "internal_error");
      assert.equal(body.message, "Internal server error");
      assert.ok(!JSON.stringify(body).includes("/secret/path"));
      assert.deepEqual(Object.keys(body.details), ["errorId"]);
    } finally {
      await h2.close();
    }
  });
});
