// GET /workspace/:id/audit: newest first, limits, and a log damaged by a crash (through the client).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { appendFile, link, mkdir, readdir, readFile, rename, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { AUDIT_LOG } from "../src/workspace/layout.js";
import { createHarness, expectError, type Harness, tempDir } from "./helpers/harness.js";

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

test("the log stays open between writes, and one deleted, replaced or made a FIFO underneath is never written blind", async (t) => {
  const w = await createHarness();
  t.after(() => w.close());
  const file = join(w.root, AUDIT_LOG);
  const write = async (n: number) => {
    const res = await w.call("PATCH", w.ws("/config"), { openwork: { n } });
    return res.status;
  };
  const lines = async () => (await readFile(file, "utf8")).trim().split("\n").filter(Boolean).length;
  assert.equal(await write(1), 200);
  assert.equal(await write(2), 200);
  assert.equal(await lines(), 2);
  // Deleted: the next entry starts a new file.
  await rm(file);
  assert.equal(await write(3), 200);
  assert.equal(await lines(), 1);
  // Replaced by another file (an editor's save, a rotation): the entry goes to the new one.
  await writeFile(`${file}.new`, '{"id":"audit_kept","workspaceId":"x","action":"config.patch","timestamp":1}\n');
  await rename(`${file}.new`, file);
  assert.equal(await write(4), 200);
  assert.equal(await lines(), 2);
  assert.equal(JSON.parse((await readFile(file, "utf8")).split("\n")[0]!).id, "audit_kept");
  // Replaced by a FIFO: refused at once (no hang), and nothing is written.
  await rm(file);
  execFileSync("mkfifo", [file]);
  const before = await readFile(join(w.root, ".opencode/openwork.json"), "utf8");
  assert.equal(await write(5), 422);
  assert.equal(await readFile(join(w.root, ".opencode/openwork.json"), "utf8"), before);
});

test("the audit log is never written through a link: a hard-linked log or a linked folder refuses the write, and the other file is untouched", async (t) => {
  const w = await createHarness();
  const elsewhere = await tempDir("ows-audit-elsewhere-");
  t.after(async () => {
    await w.close();
    await rm(elsewhere, { recursive: true, force: true });
  });
  const file = join(w.root, AUDIT_LOG);
  const write = (n: number) => w.call("PATCH", w.ws("/config"), { openwork: { n } });
  // The log is a hard link to a file of the user's elsewhere (say, a shell profile).
  const profile = join(elsewhere, "profile");
  await writeFile(profile, "export PATH=$PATH\n");
  await mkdir(join(w.root, ".opencode/openwork"), { recursive: true });
  await link(profile, file);
  const hard = await expectError(await write(1), 422, "invalid_file");
  assert.equal(hard.details.reason, "hard_link");
  assert.equal(await readFile(profile, "utf8"), "export PATH=$PATH\n");
  await assert.rejects(readFile(join(w.root, ".opencode/openwork.json"), "utf8"), { code: "ENOENT" }, "nothing written");
  // The log's folder is a link to a folder inside the workspace: refused the same way as any write.
  await rm(join(w.root, ".opencode/openwork"), { recursive: true });
  await mkdir(join(w.root, "logs"));
  await symlink(join(w.root, "logs"), join(w.root, ".opencode/openwork"));
  await expectError(await write(2), 422, "symlink_in_path");
  assert.deepEqual(await readdir(join(w.root, "logs")), []);
});
