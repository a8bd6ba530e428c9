// GET /workspace/:id/audit: newest first, limits, and a log damaged by a crash (through the client).
import assert from "node:assert/strict";
import { appendFile, readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { AUDIT_LOG } from "../src/workspace/layout.js";
import { createHarness, type Harness } from "./helpers/harness.js";

let h: Harness;
before(async () => {
  h = await createHarness();
  for (let i = 0; i < 60; i++) await h.client.patchConfig({ id: h.wsId, body: { openwork: { n: i } } });
});
after(() => h.close());

test("entries come newest first, 50 by default, with the documented fields", async () => {
  const { items } = await h.client.listAudit({ id: h.wsId });
  assert.equal(items.length, 50);
  assert.match(items[0]!.summary, /openwork\.json:n/);
  for (let i = 1; i < items.length; i++) assert.ok(items[i - 1]!.timestamp >= items[i]!.timestamp);
  assert.deepEqual(Object.keys(items[0]!).sort(), [
    "action",
    "actor",
    "changeHash",
    "decidedAt",
    "decidedBy",
    "id",
    "outcome",
    "paths",
    "summary",
    "target",
    "timestamp",
    "workspaceId",
  ]);
  assert.equal(items[0]!.outcome, "applied");
  assert.equal(items[0]!.decidedBy, "auto");
  const lines = (await readFile(join(h.root, AUDIT_LOG), "utf8")).trim().split("\n");
  assert.equal(lines.length, 60, "one line per write");
  assert.equal(JSON.parse(lines.at(-1)!).id, items[0]!.id);
});

test("limit is honoured and capped at 200", async () => {
  assert.equal((await h.client.listAudit({ id: h.wsId, query: { limit: 5 } })).items.length, 5);
  assert.equal((await h.client.listAudit({ id: h.wsId, query: { limit: 1000 } })).items.length, 60);
});

test("a torn last line (crash mid-append) is skipped; updatedAt is the last whole entry", async () => {
  const { items } = await h.client.listAudit({ id: h.wsId, query: { limit: 1 } });
  await appendFile(join(h.root, AUDIT_LOG), '{"id":"audit_torn","workspaceId":"x","act');
  const after = await h.client.listAudit({ id: h.wsId, query: { limit: 2 } });
  assert.equal(after.items[0]!.id, items[0]!.id);
  assert.equal(after.items.length, 2);
  const config = await h.client.getConfig({ id: h.wsId });
  assert.equal(config.updatedAt, items[0]!.timestamp);
});

test("a long log is read from the end across chunk boundaries", async () => {
  const long = await createHarness();
  try {
    const filler = "x".repeat(3000);
    for (let i = 0; i < 40; i++) await long.client.patchConfig({ id: long.wsId, body: { openwork: { [`k${i}_${filler}`]: i } } });
    const { items } = await long.client.listAudit({ id: long.wsId, query: { limit: 200 } });
    assert.equal(items.length, 40);
    assert.ok(items[0]!.summary.includes("k39_"));
    assert.ok(items[39]!.summary.includes("k0_"));
  } finally {
    await long.close();
  }
});
