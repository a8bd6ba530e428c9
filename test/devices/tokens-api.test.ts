// The device routes themselves: creating (what is answered once, what is refused), listing with
// states and last use, an owner device answering approvals, and the pairing QR code.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { PAIRING_PREFIX, parsePairingPayload } from "../../src/services/pairing.js";
import { createHarness, type Harness, HOST_TOKEN, json, TOKEN, waitFor } from "../helpers/harness.js";
import { bearer, expectReason, mint, send } from "./helpers.js";

const HOST = { "X-OpenWork-Host-Token": HOST_TOKEN };

describe("POST /tokens", () => {
  let h: Harness;
  before(async () => {
    h = await createHarness();
  });
  after(() => h.close());

  test("answers 201 with the token once; the listing never carries it", async () => {
    const res = await send(h, "POST", "/tokens", {
      headers: HOST,
      body: { scope: "collaborator", label: "  Susan's \n phone  ", expiresInMs: 3_600_000, workspaces: [h.wsId] },
    });
    assert.equal(res.status, 201);
    const created = await json(res);
    assert.deepEqual(Object.keys(created).sort(), ["createdAt", "createdBy", "expiresAt", "id", "label", "scope", "token", "workspaces"]);
    assert.deepEqual(created.createdBy, { type: "host" });
    assert.equal(created.label, "Susan's phone", "whitespace collapsed");
    assert.equal(created.expiresAt, created.createdAt + 3_600_000);
    const listed = await json(await send(h, "GET", "/tokens", { headers: HOST }));
    const item = listed.items.find((t: { id: string }) => t.id === created.id);
    assert.deepEqual(item, {
      id: created.id,
      scope: "collaborator",
      label: "Susan's phone",
      createdAt: created.createdAt,
      expiresAt: created.expiresAt,
      workspaces: [h.wsId],
      createdBy: { type: "host" },
      state: "active",
    });
  });

  test("remembers who added a token: another device by id and label, never the self-declared client id", async () => {
    const laptop = await mint(h, { scope: "owner", label: "Susan's laptop" });
    const res = await send(h, "POST", "/tokens", {
      headers: { ...bearer(laptop.token), "X-OpenWork-Client-Id": "the-host" },
      body: { scope: "viewer", label: "added by the laptop" },
    });
    assert.deepEqual((await json(res)).createdBy, { type: "token", tokenId: laptop.id, label: "Susan's laptop" });
    const legacy = await send(h, "POST", "/tokens", {
      headers: { ...HOST, "X-OpenWork-Client-Id": "x" },
      body: { scope: "viewer", label: "y" },
    });
    assert.deepEqual((await json(legacy)).createdBy, { type: "host" });
  });

  test("every token is new", async () => {
    const tokens = await Promise.all(Array.from({ length: 30 }, (_, i) => mint(h, { scope: "viewer", label: `device ${i}` })));
    assert.equal(new Set(tokens.map((t) => t.token)).size, 30);
    assert.equal(new Set(tokens.map((t) => t.id)).size, 30);
  });

  const refused: Array<[string, unknown]> = [
    ["an empty label", { scope: "viewer", label: "   " }],
    ["a label of 65 characters", { scope: "viewer", label: "x".repeat(65) }],
    ["a label with a control character", { scope: "viewer", label: "bad\u0007bell" }],
    ["no label", { scope: "viewer" }],
    ["an unknown scope", { scope: "admin", label: "x" }],
    ["no scope", { label: "x" }],
    ["workspaces that is not a list", { scope: "viewer", label: "x", workspaces: "all" }],
  ];
  for (const [name, body] of refused) {
    test(`${name} -> 400, nothing created`, async () => {
      const before = h.services.tokens.listAll().length;
      const res = await h.app.request("/tokens", {
        method: "POST",
        headers: { ...HOST, "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      assert.equal(res.status, 400);
      assert.equal((await json(res)).code, "invalid_payload");
      assert.equal(h.services.tokens.listAll().length, before);
    });
  }
});

describe("GET /tokens", () => {
  let h: Harness;
  before(async () => {
    h = await createHarness();
  });
  after(() => h.close());

  test("lastUsedAt follows use at once; ended tokens are listed on request with their state", async () => {
    const phone = await mint(h, { scope: "viewer", label: "phone" });
    const laptop = await mint(h, { scope: "owner", label: "laptop" });
    const visitor = await mint(h, { scope: "viewer", label: "visitor", expiresInMs: 1000 });
    let items = (await json(await send(h, "GET", "/tokens", { headers: HOST }))).items;
    assert.equal(items.find((t: { id: string }) => t.id === phone.id).lastUsedAt, undefined, "never used");
    const before = Date.now();
    await send(h, "GET", "/whoami", { headers: bearer(phone.token) });
    items = (await json(await send(h, "GET", "/tokens", { headers: HOST }))).items;
    assert.ok(items.find((t: { id: string }) => t.id === phone.id).lastUsedAt >= before);

    await send(h, "DELETE", `/tokens/${laptop.id}`, { headers: HOST });
    await waitFor(() => Date.now() > visitor.expiresAt!, 3000);
    const active = (await json(await send(h, "GET", "/tokens", { headers: HOST }))).items;
    assert.deepEqual(
      active.map((t: { id: string; state: string }) => [t.id, t.state]),
      [[phone.id, "active"]],
    );
    const ended = (await json(await send(h, "GET", "/tokens?state=ended", { headers: HOST }))).items;
    assert.deepEqual(
      ended.map((t: { id: string; state: string }) => [t.id, t.state]),
      [
        [laptop.id, "revoked"],
        [visitor.id, "expired"],
      ],
    );
    assert.equal(typeof ended[0].revokedAt, "number");
    assert.equal(ended[1].revokedAt, undefined);
    const all = (await json(await send(h, "GET", "/tokens?state=all", { headers: HOST }))).items;
    assert.equal(all.length, 3);
    const bad = await send(h, "GET", "/tokens?state=gone", { headers: HOST });
    assert.equal(bad.status, 400);
    assert.match((await json(bad)).message, /state/);
  });
});

describe("an owner device answers approvals", () => {
  test("with its bearer token, no host token; the request names the device that asked", async () => {
    const h = await createHarness({ approval: { mode: "manual", timeoutMs: 5000 } });
    try {
      const owner = await mint(h, { scope: "owner", label: "Susan's laptop" });
      const phone = await mint(h, { scope: "collaborator", label: "Susan's phone" });
      const write = send(h, "PATCH", h.ws("/config"), {
        headers: { ...bearer(phone.token), "X-OpenWork-Client-Id": "phone-app" },
        body: { opencode: { theme: "light" } },
      });
      const pending = await waitFor(
        async () => (await json(await send(h, "GET", "/approvals", { headers: bearer(owner.token) }))).items[0],
      );
      assert.deepEqual(pending.actor, {
        type: "token",
        scope: "collaborator",
        tokenId: phone.id,
        label: "Susan's phone",
        clientId: "phone-app",
      });
      const res = await send(h, "POST", `/approvals/${pending.id}`, { headers: bearer(owner.token), body: { reply: "allow" } });
      assert.deepEqual(await json(res), { ok: true, allowed: true });
      assert.equal((await write).status, 200);
      const audit = (await json(await send(h, "GET", h.ws("/audit"), { headers: bearer(owner.token) }))).items;
      assert.equal(audit[0].actor.label, "Susan's phone");
    } finally {
      await h.close();
    }
  });
});

describe("POST /host/pairing/qr", () => {
  let h: Harness;
  before(async () => {
    h = await createHarness();
  });
  after(() => h.close());
  const qr = (body: unknown, headers: Record<string, string> = HOST) => send(h, "POST", "/host/pairing/qr", { headers, body });

  test("encodes openwork://connect with the server URL and the token; modules and an SVG", async () => {
    const device = await mint(h, { scope: "collaborator", label: "phone" });
    const res = await qr({ url: "http://192.168.1.20:8787/", token: device.token });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("Cache-Control"), "no-store");
    const code = await json(res);
    assert.ok(code.payload.startsWith(`${PAIRING_PREFIX}?v=1&`), code.payload);
    assert.equal(
      code.payload,
      `openwork://connect?v=1&url=${encodeURIComponent("http://192.168.1.20:8787")}&token=${device.token}`,
      "the trailing slash is dropped, the URL encoded",
    );
    assert.deepEqual(parsePairingPayload(code.payload), { url: "http://192.168.1.20:8787", token: device.token });
    assert.ok(code.size >= 21 && (code.size - 17) % 4 === 0, `a QR code's size is 17 + 4 × version (${code.size})`);
    assert.equal(code.rows.length, code.size);
    for (const row of code.rows) assert.match(row, new RegExp(`^[01]{${code.size}}$`));
    // Every QR code has its three finder patterns: a 7×7 ring in three corners.
    const corners: Array<[number, number]> = [
      [0, 0],
      [0, code.size - 7],
      [code.size - 7, 0],
    ];
    for (const [r, c] of corners) {
      assert.equal(code.rows[r].slice(c, c + 7), "1111111");
      assert.equal(code.rows[r + 1].slice(c, c + 7), "1000001");
      assert.equal(code.rows[r + 3].slice(c, c + 7), "1011101");
    }
    assert.match(code.svg, /^<svg [^>]*viewBox="0 0 (\d+) \1"/);
    assert.equal(Number(/viewBox="0 0 (\d+)/.exec(code.svg)![1]), code.size + 8, "a quiet zone of 4 modules");
    // Making the code is not a use of the device's token.
    assert.equal(h.services.tokens.get(device.id)?.lastUsedAt, undefined);
  });

  test("names the workspace when the token is bound to exactly one", async () => {
    const device = await mint(h, { scope: "viewer", workspaces: [h.wsId] });
    const code = await json(await qr({ url: "https://host.example:8443", token: device.token }));
    assert.deepEqual(parsePairingPayload(code.payload), { url: "https://host.example:8443", token: device.token, workspace: h.wsId });
  });

  test("only for an active scoped token the caller could list: others are 404 token_not_found", async () => {
    const revoked = await mint(h, { scope: "viewer" });
    await h.services.tokens.revoke(revoked.id);
    const unbound = await mint(h, { scope: "viewer" });
    const boundOwner = await mint(h, { scope: "owner", workspaces: [h.wsId] });
    const cases: Array<[string, Record<string, string>]> = [
      [revoked.token, HOST],
      [`owt_${"B".repeat(32)}`, HOST],
      [TOKEN, HOST],
      ["not a token", HOST],
      [unbound.token, bearer(boundOwner.token)],
    ];
    for (const [token, headers] of cases) {
      const res = await qr({ url: "http://192.168.1.20:8787", token }, headers);
      const body = await json(res);
      assert.equal(res.status, 404, JSON.stringify(body));
      assert.equal(body.code, "token_not_found");
      assert.ok(!JSON.stringify(body).includes(token.slice(4, 20)), "the token is not echoed");
    }
  });

  for (const url of ["ftp://host/", "javascript:alert(1)", "not a url", "http://user:pw@host:8787", "http://host:8787/?x=1", ""]) {
    test(`url ${JSON.stringify(url)} -> 400`, async () => {
      const device = await mint(h, { scope: "viewer" });
      const res = await qr({ url, token: device.token });
      assert.equal(res.status, 400);
      assert.equal((await json(res)).code, "invalid_payload");
    });
  }

  test("a collaborator cannot have codes made, not even for a token it holds", async () => {
    const device = await mint(h, { scope: "collaborator" });
    const res = await qr({ url: "http://192.168.1.20:8787", token: device.token }, bearer(device.token));
    assert.equal(res.status, 403);
    assert.equal((await json(res)).code, "insufficient_scope");
    await expectReason(await qr({ url: "http://x", token: device.token }, {}), "missing");
  });
});
