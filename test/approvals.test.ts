// Manual approval: allow, deny, timeout. Deny and timeout leave every file byte-identical.
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import { auditEntries, createHarness, type Harness, json, snapshot, waitFor } from "./helpers/harness.js";

let h: Harness;
beforeEach(async () => {
  h = await createHarness({ approval: { mode: "manual", timeoutMs: 2000 } });
  await writeFile(join(h.root, "opencode.json"), '{\n  "theme": "dark"\n}\n');
});
afterEach(() => h.close());

async function pendingOne() {
  return waitFor(async () => {
    const { items } = await json(await h.host("GET", "/approvals"));
    return items.length === 1 ? items[0] : null;
  });
}

describe("manual approval", () => {
  test("a write waits as a pending request and lands when allowed", async () => {
    const write = h.call("PATCH", h.ws("/config"), { opencode: { theme: "light" } }, { "X-OpenWork-Client-Id": "tablet" });
    const pending = await pendingOne();
    assert.match(pending.id, /^apr_/);
    assert.equal(pending.workspaceId, h.wsId);
    assert.equal(pending.action, "config.patch");
    assert.match(pending.summary, /theme/);
    assert.deepEqual(pending.paths, ["opencode.json"]);
    assert.equal(typeof pending.createdAt, "number");
    assert.equal(pending.actor.type, "legacy");
    assert.equal(pending.actor.scope, "collaborator");
    assert.equal(pending.actor.clientId, "tablet");
    assert.equal(JSON.parse((await snapshot(h.root))["opencode.json"]!).theme, "dark", "nothing written before approval");

    const reply = await h.host("POST", `/approvals/${pending.id}`, { reply: "allow" });
    assert.deepEqual(await json(reply), { ok: true, allowed: true });
    const res = await write;
    assert.equal(res.status, 200);
    assert.equal((await json(res)).opencode.theme, "light");
    assert.deepEqual((await json(await h.host("GET", "/approvals"))).items, []);
    const audit = await json(await h.call("GET", h.ws("/audit")));
    assert.equal(audit.items.length, 1);
    assert.equal(audit.items[0].action, "config.patch");
  });

  test("deny -> 403 write_denied naming the request; files byte-identical; audited as denied; no event", async () => {
    const before = await snapshot(h.root);
    const write = h.call("PATCH", h.ws("/config"), { opencode: { theme: "light" }, openwork: { a: 1 } });
    const pending = await pendingOne();
    assert.deepEqual(await json(await h.host("POST", `/approvals/${pending.id}`, { reply: "deny" })), { ok: true, allowed: false });
    const res = await write;
    assert.equal(res.status, 403);
    const body = await json(res);
    assert.equal(body.code, "write_denied");
    assert.equal(body.details.requestId, pending.id);
    assert.equal(body.details.reason, "denied");
    assert.deepEqual(await snapshot(h.root), before);
    assert.deepEqual(h.services.events.since(h.wsId), []);
    const [entry] = (await auditEntries(h.root)).slice(-1);
    assert.equal(entry.outcome, "denied");
    assert.equal(entry.requestId, pending.id);
    assert.equal(entry.decidedBy, "host");
  });

  test("timeout -> 403 write_denied with reason timeout; files byte-identical", async () => {
    const quick = await createHarness({ approval: { mode: "manual", timeoutMs: 150 } });
    try {
      await writeFile(join(quick.root, "opencode.json"), '{"theme":"dark"}');
      const before = await snapshot(quick.root);
      const started = Date.now();
      const res = await quick.call("PATCH", quick.ws("/config"), { opencode: { theme: "light" } });
      assert.ok(Date.now() - started >= 140, "waited for the timeout");
      assert.equal(res.status, 403);
      const body = await json(res);
      assert.equal(body.code, "write_denied");
      assert.equal(body.details.reason, "timeout");
      assert.match(body.details.requestId, /^apr_/);
      assert.deepEqual(await snapshot(quick.root), before);
      assert.deepEqual((await json(await quick.host("GET", "/approvals"))).items, []);
      assert.deepEqual(
        (await auditEntries(quick.root)).map((e) => [e.outcome, e.decidedBy]),
        [["timeout", undefined]],
      );
    } finally {
      await quick.close();
    }
  });

  test("validation happens before approval is asked: an invalid write never reaches the host", async () => {
    const audited = (await auditEntries(h.root)).length;
    const res = await h.call("PATCH", h.ws("/config"), { opencode: { plugin: "not-an-array" } });
    assert.equal(res.status, 400);
    assert.deepEqual((await json(await h.host("GET", "/approvals"))).items, []);
    assert.equal((await auditEntries(h.root)).length, audited, "an invalid request is not a decision: not audited");
  });

  test("answering an unknown or already answered request is a 404", async () => {
    const res = await h.host("POST", "/approvals/apr_nope", { reply: "allow" });
    assert.equal(res.status, 404);
    assert.equal((await json(res)).code, "not_found");
    const write = h.call("PATCH", h.ws("/config"), { opencode: { theme: "x" } });
    const pending = await pendingOne();
    assert.equal((await h.host("POST", `/approvals/${pending.id}`, { reply: "allow" })).status, 200);
    assert.equal((await h.host("POST", `/approvals/${pending.id}`, { reply: "deny" })).status, 404);
    assert.equal((await write).status, 200);
  });

  test("a reply other than allow/deny is a 400", async () => {
    const res = await h.host("POST", "/approvals/apr_x", { reply: "maybe" });
    assert.equal(res.status, 400);
    assert.equal((await json(res)).code, "invalid_payload");
  });

  test("several writes can wait at once; each is answered on its own", async () => {
    const a = h.call("PATCH", h.ws("/config"), { opencode: { a: 1 } });
    const b = h.call("PATCH", h.ws("/config"), { opencode: { b: 2 } });
    const items = await waitFor(async () => {
      const { items } = await json(await h.host("GET", "/approvals"));
      return items.length === 2 ? items : null;
    });
    const byKey = (k: string) => items.find((i: { summary: string }) => i.summary.includes(`:${k}`));
    await h.host("POST", `/approvals/${byKey("b").id}`, { reply: "deny" });
    await h.host("POST", `/approvals/${byKey("a").id}`, { reply: "allow" });
    assert.equal((await a).status, 200);
    assert.equal((await b).status, 403);
    const { opencode } = await json(await h.call("GET", h.ws("/config")));
    assert.deepEqual(opencode, { theme: "dark", a: 1 });
  });
});
