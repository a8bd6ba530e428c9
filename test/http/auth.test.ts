// Auth failures, case by case. Each also proves the handler never ran: the write it would have
// made did not happen (no file, no audit entry).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { createHarness, type Harness, HOST_TOKEN, json, snapshot, TOKEN } from "../helpers/harness.js";

let h: Harness;
before(async () => {
  h = await createHarness();
});
after(() => h.close());

const patch = (headers: Record<string, string>) =>
  h.app.request(h.ws("/config"), {
    method: "PATCH",
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify({ opencode: { theme: "x" } }),
  });

async function expectUnauthorized(res: Response, message: RegExp) {
  assert.equal(res.status, 401);
  const body = await json(res);
  assert.equal(body.code, "unauthorized");
  assert.match(body.message, message);
  assert.deepEqual(await snapshot(h.root), {}, "the handler must not have written anything");
}

describe("client bearer token", () => {
  test("missing Authorization header", async () => {
    await expectUnauthorized(await patch({}), /Missing Authorization/);
  });
  test("malformed header (no Bearer scheme)", async () => {
    await expectUnauthorized(await patch({ Authorization: TOKEN }), /Malformed/);
  });
  test("malformed header (Basic scheme)", async () => {
    await expectUnauthorized(await patch({ Authorization: `Basic ${Buffer.from(`u:${TOKEN}`).toString("base64")}` }), /Malformed/);
  });
  test("wrong token of the same length", async () => {
    await expectUnauthorized(await patch({ Authorization: `Bearer ${"x".repeat(TOKEN.length)}` }), /Invalid bearer/);
  });
  test("wrong token of another length", async () => {
    await expectUnauthorized(await patch({ Authorization: `Bearer ${TOKEN}${TOKEN}` }), /Invalid bearer/);
  });
  test("token with non-ASCII bytes", async () => {
    await expectUnauthorized(await patch({ Authorization: `Bearer ${TOKEN.slice(0, -1)}\u00e9` }), /Invalid bearer/);
  });
  test("the host token is not a client token", async () => {
    await expectUnauthorized(await patch({ Authorization: `Bearer ${HOST_TOKEN}` }), /Invalid bearer/);
  });
  test("the scheme is case-insensitive and the right token works", async () => {
    const res = await patch({ Authorization: `bearer ${TOKEN}` });
    assert.equal(res.status, 200);
  });
  test("GET /health needs no token", async () => {
    const res = await h.app.request("/health");
    assert.equal(res.status, 200);
    const body = await json(res);
    assert.equal(body.ok, true);
    assert.equal(typeof body.version, "string");
    assert.equal(typeof body.uptimeMs, "number");
  });
  for (const path of ["/capabilities", "/workspaces"]) {
    test(`${path} needs the client token`, async () => {
      assert.equal((await h.app.request(path)).status, 401);
      assert.equal((await h.call("GET", path)).status, 200);
    });
  }
});

describe("host token", () => {
  const approvals = (headers: Record<string, string>) => h.app.request("/approvals", { headers });
  test("missing: the client token alone is authenticated but is not an owner", async () => {
    const res = await approvals({ Authorization: `Bearer ${TOKEN}` });
    assert.equal(res.status, 403);
    const body = await json(res);
    assert.equal(body.code, "insufficient_scope");
    assert.match(body.message, /owner/);
  });
  test("wrong, of another length", async () => {
    const res = await approvals({ "X-OpenWork-Host-Token": "short" });
    assert.equal(res.status, 401);
    assert.match((await json(res)).message, /Invalid host token/);
  });
  test("with non-ASCII bytes", async () => {
    assert.equal((await approvals({ "X-OpenWork-Host-Token": `${HOST_TOKEN}\u00ff` })).status, 401);
  });
  test("answering an approval needs an owner (the client token is a collaborator), and the handler does not run without it", async () => {
    const res = await h.app.request("/approvals/apr_x", {
      method: "POST",
      headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
      body: JSON.stringify({ reply: "allow" }),
    });
    assert.equal(res.status, 403);
    const body = await json(res);
    assert.equal(body.code, "insufficient_scope");
    assert.deepEqual(body.details, { required: "owner", scope: "collaborator" });
  });
  test("the right host token works, alongside a bearer token too", async () => {
    assert.equal((await approvals({ "X-OpenWork-Host-Token": HOST_TOKEN })).status, 200);
    assert.equal((await approvals({ "X-OpenWork-Host-Token": HOST_TOKEN, Authorization: `Bearer ${TOKEN}` })).status, 200);
  });
});

describe("actor in the audit log", () => {
  test("the client id is recorded, no part of a token's hash is; a host token alongside marks the host", async () => {
    const h2 = await createHarness();
    try {
      await h2.call("PATCH", h2.ws("/config"), { opencode: { a: 1 } }, { "X-OpenWork-Client-Id": "phone-1" });
      await h2.call("PATCH", h2.ws("/config"), { opencode: { b: 1 } }, { "X-OpenWork-Host-Token": HOST_TOKEN });
      const { items } = await json(await h2.call("GET", h2.ws("/audit")));
      assert.equal(items.length, 2);
      assert.deepEqual(items[1].actor, { type: "legacy", scope: "collaborator", clientId: "phone-1" });
      assert.ok(!JSON.stringify(items).includes(TOKEN), "the token itself is never stored");
      const digest = createHash("sha256").update(TOKEN).digest("hex");
      for (let i = 0; i + 8 <= digest.length; i += 4) {
        assert.ok(!JSON.stringify(items).includes(digest.slice(i, i + 8)), "no part of the token's hash is shown");
      }
      assert.deepEqual(items[0].actor, { type: "host", scope: "owner" });
    } finally {
      await h2.close();
    }
  });
});
