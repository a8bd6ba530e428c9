// Host routes for the host page: the pairing endpoint, the approvals event stream, and the
// static page itself (public, strict CSP, only the shipped files).
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { UI_DIR } from "../src/routes/ui.js";
import { createHarness, type Harness, HOST_TOKEN, json, snapshot, TOKEN, waitFor } from "./helpers/harness.js";
import { SseReader } from "./helpers/sse.js";

const SSE = { Accept: "text/event-stream" };

describe("host routes need the host token", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await createHarness({ approval: { mode: "manual", timeoutMs: 2000 } });
  });
  afterEach(() => h.close());

  for (const [name, headers, status, code] of [
    ["no token", {}, 401, "unauthorized"],
    // The client token is a collaborator: authenticated, but not an owner.
    ["client bearer token only", { Authorization: `Bearer ${TOKEN}` }, 403, "insufficient_scope"],
    ["the client token as host token", { "X-OpenWork-Host-Token": TOKEN }, 401, "unauthorized"],
    ["a wrong host token", { "X-OpenWork-Host-Token": `${HOST_TOKEN}x` }, 401, "unauthorized"],
  ] as const) {
    test(`GET /host/pairing with ${name} -> ${status}`, async () => {
      const res = await h.app.request("/host/pairing", { headers });
      assert.equal(res.status, status);
      const body = await json(res);
      assert.equal(body.code, code);
      assert.equal(JSON.stringify(body).includes(TOKEN), false, "the client token is never revealed");
    });

    test(`GET /approvals as a stream with ${name} -> ${status}, no subscriber`, async () => {
      const res = await h.app.request("/approvals", { headers: { ...headers, ...SSE } });
      assert.equal(res.status, status);
      assert.equal((await json(res)).code, code);
      assert.equal(h.services.approvals.listenerCount, 0);
    });
  }

  test("GET /host/pairing with the host token: urls, client token, workspaces, approval, readOnly", async () => {
    const res = await h.host("GET", "/host/pairing");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("Cache-Control"), "no-store");
    const body = await json(res);
    // In-process there is no listening socket: the URL the request came in on.
    assert.deepEqual(body.urls, ["http://localhost"]);
    assert.equal(body.token, TOKEN);
    assert.deepEqual(body.approval, { mode: "manual", timeoutMs: 2000 });
    assert.equal(body.readOnly, false);
    assert.equal(body.workspaces.length, 1);
    assert.equal(body.workspaces[0].id, h.wsId);
    assert.equal(body.workspaces[0].path, h.root);
    assert.equal(body.workspaces[0].authorized, true);
  });

  test("pairing lists the listening URLs once the server knows them", async () => {
    h.services.publicUrls = ["http://127.0.0.1:9999", "http://192.168.1.20:9999"];
    const body = await json(await h.host("GET", "/host/pairing"));
    assert.deepEqual(body.urls, ["http://127.0.0.1:9999", "http://192.168.1.20:9999"]);
  });

  test("GET /approvals without Accept: text/event-stream stays a JSON list", async () => {
    const res = await h.host("GET", "/approvals");
    assert.equal(res.status, 200);
    assert.match(res.headers.get("Content-Type") ?? "", /application\/json/);
    assert.deepEqual(await json(res), { items: [] });
  });
});

describe("approvals event stream", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await createHarness({ approval: { mode: "manual", timeoutMs: 3000 } });
    await writeFile(join(h.root, "opencode.json"), '{\n  "theme": "dark"\n}\n');
  });
  afterEach(() => h.close());

  test("snapshot, then requested and resolved (allow); the write lands", async () => {
    const res = await h.host("GET", "/approvals", undefined, SSE);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("Content-Type") ?? "", /^text\/event-stream/);
    assert.equal(res.headers.get("Cache-Control"), "no-cache");
    const sse = new SseReader(res);
    try {
      const snap = await sse.nextData();
      assert.equal(snap.event, "snapshot");
      assert.deepEqual(snap.data.items, []);
      assert.equal(typeof snap.data.now, "number");
      assert.ok(Math.abs(snap.data.now - Date.now()) < 5000);
      assert.equal(h.services.approvals.listenerCount, 1);

      const write = h.call("PATCH", h.ws("/config"), { opencode: { theme: "light" } }, { "X-OpenWork-Client-Id": "phone" });
      const requested = await sse.nextData();
      assert.equal(requested.event, "requested");
      const r = requested.data;
      assert.match(r.id, /^apr_/);
      assert.equal(r.workspaceId, h.wsId);
      assert.equal(r.action, "config.patch");
      assert.match(r.summary, /theme/);
      assert.deepEqual(r.paths, ["opencode.json"]);
      assert.equal(r.actor.type, "legacy");
      assert.equal(r.actor.clientId, "phone");
      assert.equal(r.expiresAt - r.createdAt, 3000);

      assert.deepEqual(await json(await h.host("POST", `/approvals/${r.id}`, { reply: "allow" })), { ok: true, allowed: true });
      const resolved = await sse.nextData();
      assert.equal(resolved.event, "resolved");
      assert.equal(resolved.data.id, r.id);
      assert.equal(resolved.data.allowed, true);
      assert.equal(resolved.data.reason, undefined);
      assert.equal(typeof resolved.data.resolvedAt, "number");
      assert.equal("type" in resolved.data, false);

      const out = await write;
      assert.equal(out.status, 200);
      assert.equal(JSON.parse((await snapshot(h.root))["opencode.json"]!).theme, "light");
    } finally {
      await sse.cancel();
    }
  });

  test("deny and timeout arrive as resolved events with their reason; files unchanged", async (t) => {
    // A short timeout of its own, so the timed-out write does not keep the suite waiting.
    const h = await createHarness({ approval: { mode: "manual", timeoutMs: 1000 } });
    t.after(() => h.close());
    await writeFile(join(h.root, "opencode.json"), '{\n  "theme": "dark"\n}\n');
    const before = await snapshot(h.root);
    const sse = new SseReader(await h.host("GET", "/approvals", undefined, SSE));
    try {
      assert.equal((await sse.nextData()).event, "snapshot");
      const denied = h.call("PATCH", h.ws("/config"), { opencode: { theme: "light" } });
      const first = (await sse.nextData()).data;
      await h.host("POST", `/approvals/${first.id}`, { reply: "deny" });
      const r1 = await sse.nextData();
      assert.equal(r1.event, "resolved");
      assert.deepEqual(
        { id: r1.data.id, allowed: r1.data.allowed, reason: r1.data.reason },
        { id: first.id, allowed: false, reason: "denied" },
      );
      const res1 = await denied;
      assert.equal(res1.status, 403);
      assert.equal((await json(res1)).code, "write_denied");

      const timedOut = h.call("PATCH", h.ws("/config"), { opencode: { theme: "light" } });
      const second = (await sse.nextData()).data;
      const r2 = await sse.nextData();
      assert.equal(r2.event, "resolved");
      assert.deepEqual(
        { id: r2.data.id, allowed: r2.data.allowed, reason: r2.data.reason },
        { id: second.id, allowed: false, reason: "timeout" },
      );
      const res2 = await timedOut;
      assert.equal(res2.status, 403);
      assert.equal((await json(res2)).details.reason, "timeout");
      assert.deepEqual(await snapshot(h.root), before);
    } finally {
      await sse.cancel();
    }
  });

  test("the snapshot holds requests already pending when the stream opens", async () => {
    const write = h.call("PATCH", h.ws("/config"), { opencode: { theme: "light" } });
    const pending = await waitFor(async () => (await json(await h.host("GET", "/approvals"))).items[0]);
    const sse = new SseReader(await h.host("GET", "/approvals", undefined, SSE));
    try {
      const snap = await sse.nextData();
      assert.equal(snap.event, "snapshot");
      assert.deepEqual(snap.data.items, [pending]);
      await h.host("POST", `/approvals/${pending.id}`, { reply: "allow" });
      assert.equal((await sse.nextData()).event, "resolved");
      assert.equal((await write).status, 200);
    } finally {
      await sse.cancel();
    }
  });

  test("closing the stream removes its subscriber; later approvals still work", async () => {
    const a = new SseReader(await h.host("GET", "/approvals", undefined, SSE));
    const b = new SseReader(await h.host("GET", "/approvals", undefined, SSE));
    await a.nextData();
    await b.nextData();
    assert.equal(h.services.approvals.listenerCount, 2);
    await a.cancel();
    await waitFor(() => h.services.approvals.listenerCount === 1, 2000);
    // The remaining stream still hears everything.
    const write = h.call("PATCH", h.ws("/config"), { opencode: { theme: "light" } });
    const req = await b.nextData();
    assert.equal(req.event, "requested");
    await h.host("POST", `/approvals/${req.data.id}`, { reply: "allow" });
    assert.equal((await b.nextData()).event, "resolved");
    assert.equal((await write).status, 200);
    await b.cancel();
    await waitFor(() => h.services.approvals.listenerCount === 0, 2000);
  });
});

describe("approvals stream: aborting the request", () => {
  test("drops the subscriber at once", async (t) => {
    const h = await createHarness({ approval: { mode: "manual", timeoutMs: 2000 } });
    t.after(() => h.close());
    const controller = new AbortController();
    const res = await h.app.request("/approvals", {
      headers: { "X-OpenWork-Host-Token": HOST_TOKEN, ...SSE },
      signal: controller.signal,
    });
    assert.equal((await new SseReader(res).nextData()).event, "snapshot");
    assert.equal(h.services.approvals.listenerCount, 1);
    controller.abort();
    await waitFor(() => h.services.approvals.listenerCount === 0, 2000);
  });
});

describe("host page files", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await createHarness();
  });
  afterEach(() => h.close());

  test("the ui folder resolves to <root>/src/ui from src/routes and from dist/routes", () => {
    const root = fileURLToPath(new URL("../", import.meta.url));
    assert.equal(fileURLToPath(UI_DIR), join(root, "src/ui/"));
    const fromDist = new URL("../../src/ui/", pathToFileURL(join(root, "dist/routes/ui.js")));
    assert.equal(fileURLToPath(fromDist), join(root, "src/ui/"));
  });

  for (const path of ["/ui", "/ui/"]) {
    test(`GET ${path} serves the page without any token, with a strict CSP`, async () => {
      const res = await h.app.request(path);
      assert.equal(res.status, 200);
      assert.match(res.headers.get("Content-Type") ?? "", /^text\/html/);
      const csp = res.headers.get("Content-Security-Policy") ?? "";
      assert.match(csp, /default-src 'self'/);
      assert.match(csp, /script-src 'self'(;|$)/);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:/);
      assert.equal(res.headers.get("X-Content-Type-Options"), "nosniff");
      assert.equal(res.headers.get("X-Frame-Options"), "DENY");
      const html = await res.text();
      assert.match(html, /<script type="module" src="\/ui\/app\.js"><\/script>/);
      assert.doesNotMatch(html, /<script>(?!<\/script>)/, "no inline script");
      assert.doesNotMatch(html, /\sstyle=|<style/, "no inline style");
      assert.doesNotMatch(html, /https?:\/\//, "no external resources");
      assert.equal(html.includes(TOKEN) || html.includes(HOST_TOKEN), false, "no token in the page");
    });
  }

  for (const [path, type] of [
    ["/ui/app.js", /^text\/javascript/],
    ["/ui/devices.js", /^text\/javascript/],
    ["/ui/approval-card.js", /^text\/javascript/],
    ["/ui/grants.js", /^text\/javascript/],
    ["/ui/app.css", /^text\/css/],
    ["/ui/icon.svg", /^image\/svg\+xml/],
  ] as const) {
    test(`GET ${path} -> ${type.source}`, async () => {
      const res = await h.app.request(path);
      assert.equal(res.status, 200);
      assert.match(res.headers.get("Content-Type") ?? "", type);
      assert.ok((await res.text()).length > 100);
    });
  }

  for (const path of ["/ui/missing.js", "/ui/../package.json", "/ui/%2e%2e/package.json", "/ui/app.ts", "/ui/index.html/x"]) {
    test(`GET ${path} -> 404`, async () => {
      const res = await h.app.request(path);
      assert.equal(res.status, 404);
      assert.equal((await json(res)).code, "not_found");
    });
  }
});
