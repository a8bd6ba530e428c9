// Revocation and expiry act at once: the token's live event and approval streams close within a
// second, its next request is a 401 naming why, and streams of other credentials stay open.
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import type { Access } from "../../src/http/auth.js";
import { untilTokenEnds } from "../../src/routes/sse.js";
import { TokenStore } from "../../src/services/tokens.js";
import { createHarness, type Harness, HOST_TOKEN, json, waitFor } from "../helpers/harness.js";
import { bearer, drain, expectReason, mint, send, within } from "./helpers.js";

const SSE = { Accept: "text/event-stream" };
const HOST = { "X-OpenWork-Host-Token": HOST_TOKEN };

describe("revocation", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await createHarness({ approval: { mode: "manual", timeoutMs: 5000 } });
  });
  afterEach(() => h.close());

  test("closes the token's live events stream within a second; then 401 revoked", async () => {
    const { id, token } = await mint(h, { scope: "viewer", label: "phone" });
    const other = await mint(h, { scope: "viewer", label: "tablet" });
    const mine = drain(await send(h, "GET", h.ws("/events"), { headers: { ...bearer(token), ...SSE } }));
    const theirs = drain(await send(h, "GET", h.ws("/events"), { headers: { ...bearer(other.token), ...SSE } }));
    const host = drain(await send(h, "GET", h.ws("/events"), { headers: { ...HOST, ...SSE } }));
    try {
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(mine.done, false, "the stream is open before the revocation");
      const revokedAt = performance.now();
      const res = await send(h, "DELETE", `/tokens/${id}`, { headers: HOST });
      assert.deepEqual([res.status, await json(res)], [200, { ok: true }]);
      const endedAt = await within(mine.ended, 1000, "the revoked token's stream closes");
      assert.ok(endedAt - revokedAt < 1000);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(theirs.done, false, "another device's stream stays open");
      assert.equal(host.done, false, "the host's stream stays open");

      await expectReason(await send(h, "GET", h.ws("/events"), { headers: { ...bearer(token), ...SSE } }), "revoked");
      await expectReason(await send(h, "GET", "/whoami", { headers: bearer(token) }), "revoked");
      const listed = (await json(await send(h, "GET", "/tokens", { headers: HOST }))).items.map((t: { id: string }) => t.id);
      assert.deepEqual(listed, [other.id]);
      // Revoking twice is a 404: there is no active token with that id any more.
      const again = await send(h, "DELETE", `/tokens/${id}`, { headers: HOST });
      assert.equal(again.status, 404);
      assert.equal((await json(again)).code, "token_not_found");
    } finally {
      await theirs.cancel();
      await host.cancel();
    }
  });

  test("closes the owner token's live approvals stream within a second; then 401 revoked", async () => {
    const { id, token } = await mint(h, { scope: "owner", label: "laptop" });
    const stream = drain(await send(h, "GET", "/approvals", { headers: { ...bearer(token), ...SSE } }));
    const host = drain(await send(h, "GET", "/approvals", { headers: { ...HOST, ...SSE } }));
    try {
      await waitFor(() => stream.text().includes("event: snapshot") && h.services.approvals.listenerCount === 2);
      const revokedAt = performance.now();
      await h.services.tokens.revoke(id);
      const endedAt = await within(stream.ended, 1000, "the revoked token's approvals stream closes");
      assert.ok(endedAt - revokedAt < 1000);
      assert.equal(h.services.approvals.listenerCount, 1, "its subscription is gone, the host's stays");
      assert.equal(host.done, false);
      await expectReason(await send(h, "GET", "/approvals", { headers: bearer(token) }), "revoked");
    } finally {
      await host.cancel();
    }
  });

  test("a token revoked while its stream is being opened does not keep a stream open", async () => {
    for (let delay = 0; delay < 4; delay++) {
      const { id, token } = await mint(h, { scope: "viewer" });
      const opening = send(h, "GET", h.ws("/events"), { headers: { ...bearer(token), ...SSE } });
      // Revoke a few microtasks into the request, before or after its stream subscribes.
      for (let i = 0; i < delay; i++) await Promise.resolve();
      await h.services.tokens.revoke(id);
      const res = await opening;
      if (res.status === 401) {
        await expectReason(res, "revoked");
        continue;
      }
      await within(drain(res).ended, 1000, `stream revoked after ${delay} microtasks closes`);
    }
  });

  test("a viewer or collaborator cannot revoke another device, and the token keeps working", async () => {
    const target = await mint(h, { scope: "viewer", label: "keep me" });
    for (const scope of ["viewer", "collaborator"]) {
      const { token } = await mint(h, { scope });
      const res = await send(h, "DELETE", `/tokens/${target.id}`, { headers: bearer(token) });
      assert.equal(res.status, 403);
      assert.equal((await json(res)).code, "insufficient_scope");
    }
    assert.equal((await send(h, "GET", "/whoami", { headers: bearer(target.token) })).status, 200);
  });

  test("an owner token can revoke itself: its own request succeeds, the next is 401 revoked", async () => {
    const { id, token } = await mint(h, { scope: "owner" });
    const res = await send(h, "DELETE", `/tokens/${id}`, { headers: bearer(token) });
    assert.equal(res.status, 200);
    await expectReason(await send(h, "GET", "/tokens", { headers: bearer(token) }), "revoked");
  });
});

describe("expiry", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await createHarness();
  });
  afterEach(() => h.close());

  test("a short-lived token works, then gets 401 expired; its open stream closes when it expires", async () => {
    const minted = await mint(h, { scope: "viewer", label: "visitor", expiresInMs: 1200 });
    assert.ok(minted.expiresAt !== undefined && Math.abs(minted.expiresAt - (minted.createdAt + 1200)) <= 1);
    const whoami = await send(h, "GET", "/whoami", { headers: bearer(minted.token) });
    assert.equal(whoami.status, 200);
    const stream = drain(await send(h, "GET", h.ws("/events"), { headers: { ...bearer(minted.token), ...SSE } }));
    const endedAt = await within(stream.ended, 3000, "the expired token's stream closes");
    const expiresAtPerf = performance.now() - (Date.now() - minted.expiresAt);
    assert.ok(endedAt >= expiresAtPerf - 50, "not before the expiry");
    assert.ok(endedAt - expiresAtPerf < 1000, `within a second of the expiry (${Math.round(endedAt - expiresAtPerf)} ms)`);
    await expectReason(await send(h, "GET", "/whoami", { headers: bearer(minted.token) }), "expired");
    await expectReason(await send(h, "GET", h.ws("/events"), { headers: { ...bearer(minted.token), ...SSE } }), "expired");
    const listed = (await json(await send(h, "GET", "/tokens", { headers: HOST }))).items;
    assert.deepEqual(listed, [], "an expired token is no longer an active device");
    const del = await send(h, "DELETE", `/tokens/${minted.id}`, { headers: HOST });
    assert.equal(del.status, 404);
  });

  test("expiresInMs out of range or not a whole number is a 400, and nothing is created", async () => {
    for (const expiresInMs of [0, 999, -5, 1.5, 367 * 24 * 60 * 60 * 1000, "1000"]) {
      const res = await send(h, "POST", "/tokens", { headers: HOST, body: { scope: "viewer", label: "x", expiresInMs } });
      assert.equal(res.status, 400, String(expiresInMs));
      assert.equal((await json(res)).code, "invalid_payload");
    }
    assert.deepEqual(h.services.tokens.list(), []);
  });
});

describe("a stream whose token ends before it subscribes", () => {
  test("is stopped at once (the announcement came before the stream listened)", async () => {
    const tokens = new TokenStore(null);
    const { info } = await tokens.create({ scope: "viewer", label: "racing" });
    const access: Access = { actor: { type: "token", scope: "viewer", tokenId: info.id, label: "racing" }, workspaces: null };
    await tokens.revoke(info.id);
    let stopped = 0;
    const release = untilTokenEnds(tokens, access)!(() => stopped++);
    assert.equal(stopped, 1);
    release();
    // A live token is left alone until it ends.
    const live = await tokens.create({ scope: "viewer", label: "live" });
    let ended = 0;
    const releaseLive = untilTokenEnds(tokens, { ...access, actor: { ...access.actor, tokenId: live.info.id } })!(() => ended++);
    assert.equal(ended, 0);
    await tokens.revoke(live.info.id);
    assert.equal(ended, 1);
    releaseLive();
    await tokens.close();
  });
});
