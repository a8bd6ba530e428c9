// The listing index (DESIGN "incremental listing index"): listings are kept per workspace while
// the watcher runs; our own writes and changes made by others on disk mark the entry that changed,
// and only that entry is read again. Every folder a listing reads is covered, also when it is
// created after the start, and a change shows without waiting for any expiry.
import assert from "node:assert/strict";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { ServicesOptions } from "../src/services/index.js";
import { ItemsBody } from "../src/services/listing-body.js";
import { createHarness, type Harness, json, putFile, tempDir, waitFor } from "./helpers/harness.js";

const skillMd = (name: string, description: string) => `---\nname: ${name}\ndescription: ${description}\n---\nBody\n`;

async function watched(t: { after(fn: () => Promise<void>): void }, root?: string, services: ServicesOptions = {}): Promise<Harness> {
  const h = await createHarness({}, { ...(root ? { root } : {}), services: { watch: true, ...services } });
  t.after(() => h.close());
  await h.services.watcher!.ready;
  return h;
}

const items = async (h: Harness, path: string) => (await json(await h.call("GET", h.ws(path)))).items;
const names = async (h: Harness, path: string) =>
  (await items(h, path)).map((i: { name?: string; spec?: string }) => i.name ?? i.spec).sort();
const descriptionOf = async (h: Harness, name: string) =>
  (await items(h, "/skills")).find((i: { name: string }) => i.name === name)?.description as string | undefined;
const indexOf = (h: Harness) => h.services.listings.of(h.services.registry.get(h.wsId));

describe("listing index: our own writes", () => {
  test("are visible in the next listing at once, re-reading only what they wrote", async (t) => {
    const root = await tempDir();
    t.after(() => rm(root, { recursive: true, force: true }));
    await mkdir(join(root, ".opencode/skills"), { recursive: true });
    const h = await watched(t, root);
    assert.deepEqual(await names(h, "/skills"), []);
    const before = { ...indexOf(h).stats };
    assert.equal((await h.call("POST", h.ws("/skills"), { name: "alpha", content: "Do alpha.", description: "Alpha" })).status, 200);
    assert.deepEqual(await names(h, "/skills"), ["alpha"]);
    assert.equal(indexOf(h).stats.fullScans, before.fullScans, "no full scan for one write");
    assert.equal((await h.call("POST", h.ws("/commands"), { name: "hello", template: "Say hello" })).status, 200);
    assert.deepEqual(await names(h, "/commands"), ["hello"]);
    assert.deepEqual(await names(h, "/mcp"), []);
    await h.call("POST", h.ws("/mcp"), { name: "docs", config: { type: "remote", url: "http://127.0.0.1:9/mcp" } });
    assert.deepEqual(await names(h, "/mcp"), ["docs"]);
    // A config write changes the plugin listing too (plugins live in the config).
    assert.deepEqual(await items(h, "/plugins"), []);
    await h.call("PATCH", h.ws("/config"), { opencode: { plugin: ["extra-plugin"] } });
    assert.deepEqual(await names(h, "/plugins"), ["extra-plugin"]);
    assert.equal((await h.call("DELETE", h.ws("/skills/alpha"))).status, 200);
    assert.deepEqual(await names(h, "/skills"), []);
  });

  test("the config read (with its ETag and updatedAt) follows our writes and others' edits", async (t) => {
    const h = await watched(t);
    const first = await h.call("GET", h.ws("/config"));
    assert.deepEqual(await json(first), { opencode: {}, openwork: {}, updatedAt: null });
    await h.call("PATCH", h.ws("/config"), { openwork: { pinned: true } });
    const second = await h.call("GET", h.ws("/config"));
    const body = await json(second);
    assert.deepEqual(body.openwork, { pinned: true });
    assert.equal(typeof body.updatedAt, "number");
    assert.notEqual(second.headers.get("etag"), first.headers.get("etag"));
    await writeFile(join(h.root, "opencode.json"), '{ "theme": "editor" }\n');
    await waitFor(async () => (await json(await h.call("GET", h.ws("/config")))).opencode.theme === "editor", 1000);
    await writeFile(join(h.root, ".opencode/openwork.json"), '{ "pinned": false }\n');
    await waitFor(async () => (await json(await h.call("GET", h.ws("/config")))).openwork.pinned === false, 1000);
  });

  test("an error is not kept", async (t) => {
    const h = await watched(t);
    await writeFile(join(h.root, "opencode.json"), "{ broken");
    await waitFor(async () => (await h.call("GET", h.ws("/mcp"))).status === 422, 1000);
    await writeFile(join(h.root, "opencode.json"), "{}");
    await waitFor(async () => (await h.call("GET", h.ws("/mcp"))).status === 200, 1000);
  });
});

describe("listing index: changes made by others", () => {
  test("an outside edit of one skill among many updates the listing, re-reading that skill only", async (t) => {
    const root = await tempDir();
    t.after(() => rm(root, { recursive: true, force: true }));
    await mkdir(join(root, ".git"));
    for (let i = 0; i < 300; i++) await putFile(join(root, `.opencode/skills/skill-${i}/SKILL.md`), skillMd(`skill-${i}`, `Number ${i}`));
    const h = await watched(t, root);
    assert.equal((await items(h, "/skills")).length, 300);
    const before = { ...indexOf(h).stats };
    // An editor saves one skill (write to a temp file, rename over).
    await writeFile(join(root, ".opencode/skills/skill-123/.SKILL.md.swp"), skillMd("skill-123", "Edited by hand"));
    await rename(join(root, ".opencode/skills/skill-123/.SKILL.md.swp"), join(root, ".opencode/skills/skill-123/SKILL.md"));
    await waitFor(async () => (await descriptionOf(h, "skill-123")) === "Edited by hand", 1000);
    const listing = await items(h, "/skills");
    assert.equal(listing.length, 300);
    assert.equal(listing.find((i: { name: string }) => i.name === "skill-124").description, "Number 124");
    const after = indexOf(h).stats;
    assert.equal(after.fullScans, before.fullScans, "no full scan");
    assert.equal(after.folderReads, before.folderReads, "no folder read");
    assert.ok(after.entryReads - before.entryReads <= 3, `re-read ${after.entryReads - before.entryReads} entries`);
    // And a skill removed by someone else leaves the listing.
    await rm(join(root, ".opencode/skills/skill-7"), { recursive: true });
    await waitFor(async () => (await items(h, "/skills")).length === 299, 1000);
  });

  test("writes into each folder kind after startup show within a second, folders created after startup included", async (t) => {
    // A git root above the workspace: its skills folders count too.
    const top = await tempDir();
    t.after(() => rm(top, { recursive: true, force: true }));
    await mkdir(join(top, ".git"));
    const root = join(top, "packages", "app");
    await mkdir(root, { recursive: true });
    const h = await watched(t, root);
    assert.deepEqual(await names(h, "/skills"), []);
    const expected: string[] = [];
    const skillFolders: Array<[string, string]> = [
      [root, ".opencode/skills"],
      [root, ".opencode/skill"],
      [root, ".claude/skills"],
      [root, ".agents/skills"],
      [join(top, "packages"), ".claude/skills"],
      [top, ".opencode/skills"],
      [top, ".opencode/skill"],
      [top, ".claude/skills"],
      [top, ".agents/skills"],
    ];
    for (const [i, [base, folder]] of skillFolders.entries()) {
      const name = `kind-${i}`;
      await putFile(join(base, folder, name, "SKILL.md"), skillMd(name, `From ${folder}`));
      expected.push(name);
      await waitFor(async () => JSON.stringify(await names(h, "/skills")) === JSON.stringify([...expected].sort()), 1000);
    }
    // An edit in a parent's folder, then its removal.
    await writeFile(join(top, ".claude/skills/kind-7/SKILL.md"), skillMd("kind-7", "Edited in the parent"));
    await waitFor(async () => (await descriptionOf(h, "kind-7")) === "Edited in the parent", 1000);
    await rm(join(top, ".agents"), { recursive: true });
    await waitFor(async () => !(await names(h, "/skills")).includes("kind-8"), 1000);

    await putFile(join(root, ".opencode/commands/one.md"), "---\ndescription: One\n---\nDo one\n");
    await waitFor(async () => JSON.stringify(await names(h, "/commands")) === '["one"]', 1000);
    await putFile(join(root, ".opencode/command/deep/er/two.md"), "Do two\n");
    await waitFor(async () => JSON.stringify(await names(h, "/commands")) === '["deep/er/two","one"]', 1000);
    await rm(join(root, ".opencode/command/deep"), { recursive: true });
    await waitFor(async () => JSON.stringify(await names(h, "/commands")) === '["one"]', 1000);

    await putFile(join(root, ".opencode/plugins/notify.ts"), "export const Notify = async () => ({});\n");
    await waitFor(async () => (await names(h, "/plugins")).includes("notify.ts"), 1000);
    await putFile(join(root, ".opencode/plugin/legacy.js"), "export const Legacy = async () => ({});\n");
    await waitFor(async () => (await names(h, "/plugins")).includes("legacy.js"), 1000);

    // Agents have no listing yet: the watcher reports them.
    const cursor = h.services.events.cursor;
    await putFile(join(root, ".opencode/agents/helper.md"), "---\ndescription: Helps\n---\nHelp.\n");
    await waitFor(() => h.services.events.since(h.wsId, cursor).some((e) => e.reason === "agents"), 1000);
  });

  test("a .git created between the workspace and its git root changes which parents count", async (t) => {
    const top = await tempDir();
    t.after(() => rm(top, { recursive: true, force: true }));
    await mkdir(join(top, ".git"));
    const root = join(top, "ws");
    await putFile(join(top, ".opencode/skills/from-top/SKILL.md"), skillMd("from-top", "From the git root"));
    await putFile(join(root, ".opencode/skills/own/SKILL.md"), skillMd("own", "The workspace's own"));
    const h = await watched(t, root);
    assert.deepEqual(await names(h, "/skills"), ["from-top", "own"]);
    await mkdir(join(root, ".git"));
    await waitFor(async () => JSON.stringify(await names(h, "/skills")) === '["own"]', 2000);
    await rm(join(root, ".git"), { recursive: true });
    await waitFor(async () => JSON.stringify(await names(h, "/skills")) === '["from-top","own"]', 2000);
  });

  test("without a watcher nothing is kept: disk edits show at once", async (t) => {
    const h = await createHarness();
    t.after(() => h.close());
    await h.call("GET", h.ws("/skills"));
    await putFile(join(h.root, ".opencode/skills/gamma/SKILL.md"), skillMd("gamma", "Gamma"));
    assert.deepEqual(await names(h, "/skills"), ["gamma"]);
    await putFile(join(h.root, ".opencode/commands/c.md"), "C\n");
    assert.deepEqual(await names(h, "/commands"), ["c"]);
  });
});

describe("listing index: the response bytes", () => {
  test("patching a body gives the same bytes as building it anew", () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const expected = new Map<string, string>();
    const json = (name: string, v: number) => JSON.stringify({ name, description: `${name} v${v} ünïcødé`, n: v });
    for (let i = 0; i < 50; i++) expected.set(`n${i}`, json(`n${i}`, 0));
    const sorted = () => [...expected.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    let body = ItemsBody.build(sorted(), (n) => expected.get(n)!);
    for (let round = 1; round <= 300; round++) {
      const edits = new Map<string, string | null>();
      for (let k = Math.floor(random() * 6); k >= 0; k--) {
        const name = `n${Math.floor(random() * 80)}`;
        const value = random() < 0.3 ? null : json(name, round);
        edits.set(name, value);
        if (value === null) expected.delete(name);
        else expected.set(name, value);
      }
      body = body.patch(edits);
      const rebuilt = ItemsBody.build(sorted(), (n) => expected.get(n)!);
      assert.deepEqual(Buffer.from(body.bytes), Buffer.from(rebuilt.bytes), `round ${round}`);
      assert.deepEqual(body.names, rebuilt.names);
      for (const name of body.names) assert.equal(body.jsonOf(name), expected.get(name));
    }
    assert.deepEqual(ItemsBody.empty().items(), []);
    assert.equal(new TextDecoder().decode(ItemsBody.empty().patch(new Map([["a", '{"a":1}']])).bytes), '{"items":[{"a":1}]}');
  });

  test("a skill hidden by one of the same name in an earlier folder shows when that one goes", async (t) => {
    const root = await tempDir();
    t.after(() => rm(root, { recursive: true, force: true }));
    await mkdir(join(root, ".git"));
    await putFile(join(root, ".opencode/skills/dup/SKILL.md"), skillMd("dup", "From .opencode/skills"));
    await putFile(join(root, ".claude/skills/dup/SKILL.md"), skillMd("dup", "From .claude/skills"));
    const h = await watched(t, root);
    assert.equal(await descriptionOf(h, "dup"), "From .opencode/skills");
    await writeFile(join(root, ".claude/skills/dup/SKILL.md"), skillMd("dup", "Hidden, changed"));
    await rm(join(root, ".opencode/skills/dup"), { recursive: true });
    await waitFor(async () => (await descriptionOf(h, "dup")) === "Hidden, changed", 1000);
    await putFile(join(root, ".agents/skills/dup/SKILL.md"), skillMd("dup", "From .agents/skills, last"));
    await putFile(join(root, ".opencode/skill/dup/SKILL.md"), skillMd("dup", "From .opencode/skill"));
    await waitFor(async () => (await descriptionOf(h, "dup")) === "From .opencode/skill", 1000);
    await rm(join(root, ".opencode/skill"), { recursive: true });
    await waitFor(async () => (await descriptionOf(h, "dup")) === "Hidden, changed", 1000);
    await rm(join(root, ".claude"), { recursive: true });
    await waitFor(async () => (await descriptionOf(h, "dup")) === "From .agents/skills, last", 1000);
    assert.equal((await items(h, "/skills")).length, 1);
  });
});
