// The gateway's HTTP behaviour in-process. The upstream here is a plain node:http server that
// records what reaches it: it stands in for "some HTTP server" (not for OpenCode's behaviour, which
// test/integration/gateway.test.ts checks against the real engine), so we can see exactly which
// headers cross the proxy, that redirects are not followed, and what a slow, broken or streaming
// upstream does to the client.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, afterEach, before, describe, it } from "node:test";
import { createHarness, expectError, type Harness, HOST_TOKEN, TOKEN, tempDir, waitFor } from "./helpers/harness.js";
import { Upstream } from "./helpers/upstream.js";

const auth = { Authorization: `Bearer ${TOKEN}` };
const owner = { ...auth, "X-OpenWork-Host-Token": HOST_TOKEN };

describe("gateway (in-process)", () => {
  let up: Upstream;
  let h: Harness;
  let dir: string;

  before(async () => {
    up = new Upstream();
    await up.start();
    dir = await tempDir("ows-gw-");
    h = await createHarness(
      {
        workspaces: [{ path: dir, workspaceType: "local", baseUrl: up.url }],
        authorizedRoots: [dir],
        opencodeAuth: { username: "opencode", password: "engine-pw" },
      },
      { root: dir, services: { gateway: { timeoutMs: 300 } } },
    );
  });
  after(async () => {
    await h.close();
    await up.stop();
  });
  afterEach(() => up.reset());

  const get = (path: string, headers: Record<string, string> = auth, init: RequestInit = {}) =>
    h.app.request(path, { ...init, headers: { ...headers, ...(init.headers as Record<string, string>) } });

  it("forwards to the engine with its basic auth and the directory, never the caller's credentials", async () => {
    up.handler = (_req, res) => {
      res.setHeader("Set-Cookie", "engine_session=1; Path=/");
      res.setHeader("WWW-Authenticate", 'Basic realm="opencode"');
      res.setHeader("Access-Control-Allow-Origin", "https://evil.example");
      res.setHeader("Connection", "x-hop");
      res.setHeader("X-Hop", "1");
      res.setHeader("X-Engine", "kept");
      res.setHeader("Content-Type", "application/json");
      res.end('{"ok":true}');
    };
    const res = await get("/opencode/session?limit=2", {
      ...auth,
      Cookie: "ow=1",
      "X-OpenWork-Client-Id": "phone",
      Connection: "x-secret",
      "X-Secret": "must-not-pass",
      "Proxy-Authorization": "Basic eA==",
      Origin: "https://app.example",
      "X-Client-Header": "kept",
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { ok: true });
    const [seen] = up.seen;
    assert.ok(seen);
    assert.equal(seen.headers.authorization, `Basic ${Buffer.from("opencode:engine-pw").toString("base64")}`);
    for (const name of ["cookie", "x-openwork-client-id", "x-secret", "proxy-authorization", "origin"]) {
      assert.equal(seen.headers[name], undefined, name);
    }
    assert.equal(seen.headers["x-client-header"], "kept");
    assert.equal(seen.headers["x-opencode-directory"], encodeURIComponent(dir));
    const url = new URL(seen.url, "http://x");
    assert.equal(url.pathname, "/session");
    assert.equal(url.searchParams.get("limit"), "2");
    assert.equal(url.searchParams.get("directory"), dir);
    // The answer: the engine's cookie, auth challenge, CORS and hop-by-hop headers are gone.
    assert.equal(res.headers.get("set-cookie"), null);
    assert.equal(res.headers.get("www-authenticate"), null);
    assert.equal(res.headers.get("access-control-allow-origin"), "*");
    assert.equal(res.headers.get("x-hop"), null);
    assert.equal(res.headers.get("x-engine"), "kept");
  });

  it("passes the directory as a header only on writes, as OpenCode's SDK does", async () => {
    const res = await h.app.request("/opencode/session", {
      method: "POST",
      headers: { ...auth, "Content-Type": "application/json" },
      body: JSON.stringify({ title: "t" }),
    });
    assert.equal(res.status, 200);
    const [seen] = up.seen;
    assert.equal(seen?.method, "POST");
    assert.equal(seen?.url, "/session");
    assert.equal(seen?.headers["x-opencode-directory"], encodeURIComponent(dir));
    assert.equal(seen?.body, JSON.stringify({ title: "t" }));
  });

  it("serves /w/:id/opencode/* for that workspace and 404s an unknown one", async () => {
    const res = await get(`/w/${h.wsId}/opencode/path`);
    assert.equal(res.status, 200);
    assert.equal(up.seen[0]?.url.split("?")[0], "/path");
    await expectError(await get("/w/ws_000000000000/opencode/path"), 404, "workspace_not_found");
  });

  it("never reaches the engine without a valid token", async () => {
    await expectError(await get("/opencode/session", {}), 401, "unauthorized");
    await expectError(await get("/opencode/session", { Authorization: "Bearer wrong" }), 401, "unauthorized");
    await expectError(await get(`/w/${h.wsId}/opencode/session`, { "X-OpenWork-Host-Token": `${HOST_TOKEN}x` }), 401, "unauthorized");
    assert.equal(up.seen.length, 0);
    // The host token alone is an owner credential (SPEC 7): it is forwarded, without itself.
    assert.equal((await get(`/w/${h.wsId}/opencode/session`, { "X-OpenWork-Host-Token": HOST_TOKEN })).status, 200);
    assert.equal(up.seen.length, 1);
  });

  it("refuses owner-only routes to a collaborator before the engine hears of them, and forwards them for the owner", async () => {
    const patch = (headers: Record<string, string>) =>
      h.app.request("/opencode/config", {
        method: "PATCH",
        headers: { ...headers, "Content-Type": "application/json" },
        body: '{"model":"x/y"}',
      });
    const body = await expectError(await patch(auth), 403, "proxy_forbidden");
    assert.equal(body.details.use, "PATCH /workspace/{id}/config");
    await expectError(await get("/opencode/pty"), 403, "proxy_forbidden");
    await expectError(await h.app.request("/opencode/pty", { method: "POST", headers: auth }), 403, "proxy_forbidden");
    assert.equal(up.seen.length, 0);
    assert.equal((await patch(owner)).status, 200);
    assert.equal(up.seen[0]?.method, "PATCH");
  });

  it("answers 400 for paths it does not forward and for another directory", async () => {
    await expectError(await get("/opencode/session//x"), 400, "invalid_path");
    await expectError(await get("/opencode/a%2Fb"), 400, "invalid_path");
    await expectError(await get("/opencode/file/content?path=../x"), 400, "path_escape");
    await expectError(await get("/opencode/path?directory=/"), 403, "proxy_forbidden");
    assert.equal(up.seen.length, 0);
  });

  it("checks a collaborator's body: JSON only, file URLs inside, no permission rules", async () => {
    const post = (body: string, type = "application/json") =>
      h.app.request("/opencode/session/ses_1/message", { method: "POST", headers: { ...auth, "Content-Type": type }, body });
    await expectError(await post('{"parts":[{"type":"file","mime":"text/plain","url":"file:///etc/passwd"}]}'), 400, "path_escape");
    await expectError(await post('{"parts":[],"tools":{"bash":true}}'), 403, "proxy_forbidden");
    await expectError(await post("{not json"), 400, "invalid_json");
    await expectError(await post("x=1", "application/x-www-form-urlencoded"), 415, "unsupported_media_type");
    assert.equal(up.seen.length, 0);
    assert.equal((await post('{"parts":[{"type":"text","text":"hi"}]}')).status, 200);
    assert.equal(up.seen[0]?.body, '{"parts":[{"type":"text","text":"hi"}]}');
  });

  it("caps request bodies, streamed ones included", async () => {
    const big = "x".repeat(h.services.settings.bodyLimitBytes + 10);
    const chunked = () =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(big));
          controller.close();
        },
      });
    for (const headers of [auth, owner]) {
      const res = await h.app.request("/opencode/session", {
        method: "POST",
        headers: { ...headers, "Content-Type": "application/json" },
        body: chunked(),
        duplex: "half",
      } as RequestInit);
      await expectError(res, 413, "payload_too_large");
    }
  });

  it("passes answers through intact, small ones with their length and large ones streamed", async () => {
    for (const size of [10, 64 * 1024, 300 * 1024]) {
      const text = "x".repeat(size);
      up.handler = (_req, res) => {
        res.setHeader("Content-Type", "text/plain");
        res.setHeader("Content-Length", String(size));
        res.end(text);
      };
      const res = await get("/opencode/file/content?path=a.txt");
      assert.equal(res.status, 200);
      assert.equal(await res.text(), text);
    }
  });

  it("does not follow redirects, and keeps the client on the mount", async () => {
    up.handler = (req, res) => {
      res.statusCode = 302;
      res.setHeader("Location", req.url?.startsWith("/elsewhere") ? "https://example.invalid/x" : `${up.url}/session/abc?x=1`);
      res.end();
    };
    const res = await get(`/w/${h.wsId}/opencode/redirect-me`, owner, { redirect: "manual" });
    assert.equal(res.status, 302);
    assert.equal(res.headers.get("location"), `/w/${h.wsId}/opencode/session/abc?x=1`);
    const away = await get("/opencode/elsewhere", owner, { redirect: "manual" });
    assert.equal(away.status, 302);
    assert.equal(up.seen.length, 2, "only the two requests reached the upstream: nothing was followed");
  });

  it("turns an engine 401 (our engine password is wrong) into a 502, never a 401", async () => {
    up.handler = (_req, res) => {
      res.statusCode = 401;
      res.setHeader("WWW-Authenticate", 'Basic realm="opencode"');
      res.end("Unauthorized");
    };
    const body = await expectError(await get("/opencode/session"), 502, "opencode_unreachable");
    assert.equal(body.details.status, 401);
  });

  it("answers 504 when the engine does not start answering in time", async () => {
    up.handler = () => {}; // never answers
    const body = await expectError(await get("/opencode/session"), 504, "opencode_timeout");
    assert.equal(body.details.timeoutMs, 300);
  });

  it("streams the answer as it comes and aborts the upstream request when the client leaves", async () => {
    let release: () => void = () => {};
    const secondMayGo = new Promise<void>((resolve) => (release = resolve));
    up.handler = (_req, res) => {
      res.writeHead(200, { "Content-Type": "text/event-stream" });
      res.write("data: one\n\n");
      // The second event is written only once the client has read the first: a buffering proxy
      // would never deliver the first, and this test would time out.
      void secondMayGo.then(() => res.write("data: two\n\n"));
    };
    const cutBefore = up.cut;
    const controller = new AbortController();
    const res = await get("/opencode/event", auth, { signal: controller.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /text\/event-stream/);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    while (!text.includes("data: one")) text += decoder.decode((await reader.read()).value, { stream: true });
    release();
    while (!text.includes("data: two")) text += decoder.decode((await reader.read()).value, { stream: true });
    controller.abort();
    await reader.cancel().catch(() => {});
    await waitFor(() => up.cut > cutBefore, 5000);
  });

  it("closes the upstream request when the client leaves before the engine answers", async () => {
    let heard = false;
    up.handler = () => {
      heard = true; // and never answers
    };
    // A patient gateway: here only the client leaving can end the upstream request.
    const patient = await createHarness(
      { workspaces: [{ path: dir, workspaceType: "local", baseUrl: up.url }], authorizedRoots: [dir] },
      { root: dir, services: { gateway: { timeoutMs: 60_000 } } },
    );
    try {
      const cutBefore = up.cut;
      const controller = new AbortController();
      const pending = patient.app.request("/opencode/session", { headers: auth, signal: controller.signal });
      await waitFor(() => heard, 5000);
      controller.abort();
      await waitFor(() => up.cut > cutBefore, 5000);
      await Promise.resolve(pending).catch(() => {});
    } finally {
      await patient.close();
    }
  });

  it("keeps connections to the engine alive, and sends again once when a kept one was closed under it", async () => {
    const requestsOn = new WeakMap<object, number>();
    let dropReused = false;
    up.handler = (req, res) => {
      const n = (requestsOn.get(req.socket) ?? 0) + 1;
      requestsOn.set(req.socket, n);
      // The engine closed this idle connection just as our request went out on it.
      if (dropReused && n > 1) return void req.socket.destroy();
      res.end("{}");
    };
    const connectionsBefore = up.connections;
    for (let i = 0; i < 3; i++) assert.equal((await get("/opencode/session")).status, 200);
    assert.equal(up.connections - connectionsBefore, 1, "three requests in a row share one connection");

    dropReused = true;
    // A read, and a collaborator's checked body: both can be sent again, and are, on a new connection.
    assert.equal((await get("/opencode/session")).status, 200);
    const prompt = JSON.stringify({ parts: [{ type: "text", text: "hi" }] });
    const posted = await get("/opencode/session/abc/message", auth, {
      method: "POST",
      body: prompt,
      headers: { "Content-Type": "application/json" },
    });
    assert.equal(posted.status, 200);
    assert.equal(up.seen.filter((s) => s.body === prompt).length, 2, "sent on the dropped connection, then once more");

    // An owner's streamed body was consumed by the first attempt: it is not sent again, it is a 502.
    const seenBefore = up.seen.length;
    const streamed = await get("/opencode/session/abc/message", owner, {
      method: "POST",
      body: new Blob([prompt]).stream(),
      headers: { "Content-Type": "application/json" },
      duplex: "half",
    } as RequestInit);
    const body = await expectError(streamed, 502, "opencode_unreachable");
    assert.equal(body.details.reason, "ECONNRESET");
    assert.equal(up.seen.length - seenBefore, 1, "the streamed body went out once");
  });

  it("answers 502 when the engine is down", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const down = await createHarness(
      { workspaces: [{ path: dir, workspaceType: "local", baseUrl: `http://127.0.0.1:${port}` }] },
      { root: dir },
    );
    try {
      const body = await expectError(await down.call("GET", "/opencode/session"), 502, "opencode_unreachable");
      assert.equal(body.details.reason, "ECONNREFUSED");
    } finally {
      await down.close();
    }
  });

  it("answers 400 opencode_not_configured without an engine", async () => {
    const none = await createHarness();
    try {
      await expectError(await none.call("GET", "/opencode/session"), 400, "opencode_not_configured");
      await expectError(await none.call("GET", `/w/${none.wsId}/opencode/session`), 400, "opencode_not_configured");
    } finally {
      await none.close();
    }
  });
});
