// Credentials as a client sees them: the reason in every 401 body, /whoami for each kind, and
// the failed-authentication limit per remote address (429 with Retry-After; other addresses and
// valid requests unaffected).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createHarness, type Harness, HOST_TOKEN, json, TOKEN } from "../helpers/harness.js";
import { bearer, expectReason, mint, send } from "./helpers.js";

const HOST = { "X-OpenWork-Host-Token": HOST_TOKEN };

describe("401 bodies say why", () => {
  let h: Harness;
  let revoked: string;
  let expired: string;
  before(async () => {
    h = await createHarness();
    const r = await mint(h, { scope: "viewer" });
    await h.services.tokens.revoke(r.id);
    revoked = r.token;
    expired = (await mint(h, { scope: "viewer", expiresInMs: 1000 })).token;
    await new Promise((resolve) => setTimeout(resolve, 1050));
  });
  after(() => h.close());

  const cases: Array<[string, () => Record<string, string>, string]> = [
    ["no credential at all", () => ({}), "missing"],
    ["an empty Authorization header", () => ({ Authorization: "" }), "missing"],
    ["no Bearer scheme", () => ({ Authorization: TOKEN }), "malformed"],
    ["the Basic scheme", () => ({ Authorization: `Basic ${Buffer.from(`u:${TOKEN}`).toString("base64")}` }), "malformed"],
    ["Bearer with nothing after it", () => ({ Authorization: "Bearer " }), "malformed"],
    ["Bearer with two words", () => ({ Authorization: `Bearer ${TOKEN} extra` }), "malformed"],
    ["an owt_ token with characters base64url has not", () => bearer("owt_abc!def+ghi/jkl=mnopqrstuvwxyz"), "malformed"],
    ["an owt_ token that is too short", () => bearer("owt_short"), "malformed"],
    ["a wrong client token", () => bearer("x".repeat(TOKEN.length)), "unknown"],
    ["a well-formed owt_ token this server never issued", () => bearer(`owt_${"A".repeat(32)}`), "unknown"],
    ["a wrong host token alone", () => ({ "X-OpenWork-Host-Token": "not-the-host-token" }), "unknown"],
    ["the host token sent as a bearer token", () => bearer(HOST_TOKEN), "unknown"],
    ["a revoked token", () => bearer(revoked), "revoked"],
    ["an expired token", () => bearer(expired), "expired"],
  ];
  for (const [name, headers, reason] of cases) {
    test(`${name} -> 401 ${reason}`, async () => {
      const body = await expectReason(await send(h, "GET", "/capabilities", { headers: headers() }), reason);
      // The message helps without echoing what was sent.
      const sent = Object.values(headers()).join(" ");
      for (const word of sent.split(/\s+/).filter((w) => w.length >= 8)) assert.ok(!body.message.includes(word));
      assert.equal(Object.keys(body.details).join(), "reason", "nothing but the reason");
    });
  }

  test("the reason is the same on a write, a stream and a mounted route", async () => {
    await expectReason(await send(h, "PATCH", h.ws("/config"), { headers: bearer(revoked), body: { opencode: { a: 1 } } }), "revoked");
    await expectReason(await send(h, "GET", h.ws("/events"), { headers: { ...bearer(expired), Accept: "text/event-stream" } }), "expired");
    await expectReason(await send(h, "GET", `/w/${h.wsId}/status`, {}), "missing");
  });
});

describe("/whoami", () => {
  let h: Harness;
  before(async () => {
    h = await createHarness();
  });
  after(() => h.close());

  test("a scoped token: kind token, its scope, id and label", async () => {
    const device = await mint(h, { scope: "collaborator", label: "Susan's phone" });
    const me = await json(await send(h, "GET", "/whoami", { headers: bearer(device.token) }));
    assert.deepEqual(me, { kind: "token", scope: "collaborator", tokenId: device.id, label: "Susan's phone" });
  });

  test("the legacy client token: a collaborator", async () => {
    assert.deepEqual(await json(await send(h, "GET", "/whoami", { headers: bearer(TOKEN) })), { kind: "legacy", scope: "collaborator" });
  });

  test("the host token: an owner (and it wins over a bearer token sent alongside)", async () => {
    assert.deepEqual(await json(await send(h, "GET", "/whoami", { headers: HOST })), { kind: "host", scope: "owner" });
    const viewer = await mint(h, { scope: "viewer" });
    assert.deepEqual(await json(await send(h, "GET", "/whoami", { headers: { ...HOST, ...bearer(viewer.token) } })), {
      kind: "host",
      scope: "owner",
    });
  });

  test("a wrong host token beside a valid bearer token falls back to the bearer token", async () => {
    const me = await json(await send(h, "GET", "/whoami", { headers: { "X-OpenWork-Host-Token": "wrong", ...bearer(TOKEN) } }));
    assert.deepEqual(me, { kind: "legacy", scope: "collaborator" });
  });

  test("the self-declared client id is echoed (trimmed, control characters dropped), and /w/:id/whoami answers too", async () => {
    const me = await json(
      await send(h, "GET", `/w/${h.wsId}/whoami`, { headers: { ...bearer(TOKEN), "X-OpenWork-Client-Id": "  laptop\u0007 " } }),
    );
    assert.deepEqual(me, { kind: "legacy", scope: "collaborator", clientId: "laptop" });
  });

  test("GET /capabilities names the caller's scope", async () => {
    const viewer = await mint(h, { scope: "viewer" });
    const caps = await json(await send(h, "GET", "/capabilities", { headers: bearer(viewer.token) }));
    assert.equal(caps.scope, "viewer");
    assert.deepEqual(caps.tokens, { scoped: true, scopes: ["viewer", "collaborator", "owner"] });
  });
});

describe("a legacy client token that happens to start with owt_", () => {
  test("still works as the legacy token", async () => {
    const token = "owt_legacy-token-chosen-by-the-operator";
    const h = await createHarness({ token });
    try {
      const me = await json(await send(h, "GET", "/whoami", { headers: bearer(token) }));
      assert.deepEqual(me, { kind: "legacy", scope: "collaborator" });
      await expectReason(await send(h, "GET", "/whoami", { headers: bearer(`${token}x`) }), "unknown");
    } finally {
      await h.close();
    }
  });
});

describe("failed-authentication limit", () => {
  let h: Harness;
  const ATTACKER = "10.0.0.9";
  const NEIGHBOUR = "10.0.0.10";
  before(async () => {
    h = await createHarness();
  });
  after(() => h.close());

  test("20 failures from one address within 10 s, then 429 with Retry-After; another address is unaffected", async () => {
    for (let i = 1; i <= 20; i++) {
      const res = await send(h, "GET", "/capabilities", { headers: bearer(`wrong-${i}`), address: ATTACKER });
      assert.equal(res.status, 401, `failure ${i}`);
    }
    const blocked = await send(h, "GET", "/capabilities", { headers: bearer("wrong-21"), address: ATTACKER });
    assert.equal(blocked.status, 429);
    const retryAfter = Number(blocked.headers.get("Retry-After"));
    assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 10, `Retry-After: ${blocked.headers.get("Retry-After")}`);
    const body = await json(blocked);
    assert.equal(body.code, "rate_limited");
    assert.equal(body.details.retryAfterSeconds, retryAfter);

    // While blocked, the address learns nothing from its guesses: a right one is refused too.
    assert.equal((await send(h, "GET", "/capabilities", { headers: bearer(TOKEN), address: ATTACKER })).status, 429);
    // Another address: a wrong token is a plain 401, a right one a 200.
    await expectReason(await send(h, "GET", "/capabilities", { headers: bearer("wrong"), address: NEIGHBOUR }), "unknown");
    assert.equal((await send(h, "GET", "/capabilities", { headers: bearer(TOKEN), address: NEIGHBOUR })).status, 200);
    // A web client may read Retry-After too (it is exposed to scripts of other origins).
    const cross = await send(h, "GET", "/capabilities", {
      headers: { ...bearer("wrong"), Origin: "http://phone.test" },
      address: ATTACKER,
    });
    assert.equal(cross.status, 429);
    assert.match(cross.headers.get("Access-Control-Expose-Headers") ?? "", /\bRetry-After\b/);
    // Public routes never need a credential, so they are never limited.
    assert.equal((await send(h, "GET", "/health", { address: ATTACKER })).status, 200);
  });

  test("valid requests neither count nor wait", async () => {
    const address = "10.0.0.11";
    // Many valid requests, then 20 failures: the limit counts only the failures.
    for (let i = 0; i < 50; i++) assert.equal((await send(h, "GET", "/whoami", { headers: bearer(TOKEN), address })).status, 200);
    for (let i = 0; i < 19; i++) await send(h, "GET", "/whoami", { headers: bearer("wrong"), address });
    // One failure short of the limit, a valid request is answered at once, like any other.
    const started = performance.now();
    for (let i = 0; i < 20; i++) assert.equal((await send(h, "GET", "/whoami", { headers: bearer(TOKEN), address })).status, 200);
    assert.ok(performance.now() - started < 1000, "no delay is added to valid requests");
    assert.equal((await send(h, "GET", "/whoami", { headers: bearer("wrong"), address })).status, 401, "the 20th failure");
    assert.equal((await send(h, "GET", "/whoami", { headers: bearer("wrong"), address })).status, 429);
  });

  test("requests that carry no credential at all are not guesses and are never limited", async () => {
    const address = "10.0.0.12";
    for (let i = 0; i < 30; i++) await expectReason(await send(h, "GET", "/status", { address }), "missing");
    assert.equal((await send(h, "GET", "/status", { headers: bearer(TOKEN), address })).status, 200);
  });

  test("the block lifts when the window has passed", async () => {
    const short = await createHarness({}, { services: { authLimit: { limit: 3, windowMs: 300 } } });
    try {
      const address = "10.0.0.13";
      for (let i = 0; i < 3; i++) await send(short, "GET", "/whoami", { headers: bearer("wrong"), address });
      assert.equal((await send(short, "GET", "/whoami", { headers: bearer(TOKEN), address })).status, 429);
      await new Promise((r) => setTimeout(r, 350));
      assert.equal((await send(short, "GET", "/whoami", { headers: bearer(TOKEN), address })).status, 200);
    } finally {
      await short.close();
    }
  });
});
