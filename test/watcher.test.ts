// The workspace watcher (SPEC section 6): changes made on disk by anyone else become reload
// events, with the reason taken from the path, debounced, ignoring our own bookkeeping files, and
// never reporting our own writes a second time.
import assert from "node:assert/strict";
import { type FSWatcher, realpathSync, watch } from "node:fs";
import { mkdir, rm, symlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";
import type { ReloadEvent } from "../src/services/events.js";
import { isIgnoredPath, reasonForPath, type WatcherOptions, type WatchFolder } from "../src/services/watcher.js";
import { createHarness, type Harness, json, tempDir, waitFor } from "./helpers/harness.js";

const DEBOUNCE = 120;
const SUPPRESS = 1500;
/** Long enough for fs events to arrive and a debounce to fire. */
const SETTLE = 600;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function put(root: string, rel: string, text = "x\n") {
  const file = join(root, rel);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, text);
}

async function watched(t: { after(fn: () => Promise<void>): void }, debounceMs = DEBOUNCE): Promise<Harness> {
  const h = await createHarness({}, { services: { watch: true, watcher: { debounceMs, suppressMs: SUPPRESS } } });
  t.after(() => h.close());
  assert.ok(h.services.watcher, "watch: true starts a watcher");
  await h.services.watcher.ready;
  return h;
}

const eventsOf = (h: Harness, since = 0): ReloadEvent[] => h.services.events.since(h.wsId, since);

async function waitEvents(h: Harness, since: number, count: number, ms = 5000): Promise<ReloadEvent[]> {
  const deadline = Date.now() + ms;
  while (eventsOf(h, since).length < count) {
    if (Date.now() > deadline) {
      assert.fail(`expected ${count} event(s), got ${JSON.stringify(eventsOf(h, since))}`);
    }
    await sleep(20);
  }
  await sleep(SETTLE); // anything that would follow has time to show up
  return eventsOf(h, since);
}

describe("watcher: path rules", () => {
  test("reasons come from the path", () => {
    const cases: Array<[string, string | null]> = [
      ["opencode.json", "config"],
      ["opencode.jsonc", "config"],
      [".opencode/opencode.json", "config"],
      [".opencode/opencode.jsonc", "config"],
      [".opencode/skills/a/SKILL.md", "skills"],
      [".opencode/skill/a/SKILL.md", "skills"],
      [".opencode/skills/a/ref/notes.md", "skills"],
      [".opencode/commands/x.md", "commands"],
      [".opencode/command/sub/x.md", "commands"],
      [".opencode/plugins/p.js", "plugins"],
      [".opencode/plugin/p.ts", "plugins"],
      [".opencode/agents/a.md", "agents"],
      [".opencode/agent/a.md", "agents"],
      [".opencode/modes/m.md", "agents"],
      [".claude/skills/a/SKILL.md", "skills"],
      [".agents/skills/a/SKILL.md", "skills"],
      [".claude/settings.json", null],
      [".opencode/.gitignore", null],
      [".opencode/themes/t.json", null],
      ["README.md", null],
      ["src/opencode.json", null],
    ];
    for (const [path, reason] of cases) assert.equal(reasonForPath(path), reason, path);
  });

  test("ignored: our own files, packages, databases, temp files, everything outside the tree", () => {
    for (const path of [
      ".opencode/openwork.json",
      ".opencode/openwork",
      ".opencode/openwork/audit.jsonl",
      ".opencode/node_modules",
      ".opencode/node_modules/@opencode-ai/plugin/index.js",
      ".opencode/plugins/node_modules/x/index.js",
      ".opencode/package.json",
      ".opencode/package-lock.json",
      ".opencode/bun.lock",
      ".opencode/yarn.lock",
      ".opencode/pnpm-lock.yaml",
      ".opencode/data.db",
      ".opencode/opencode.db-wal",
      ".opencode/x.sqlite",
      ".opencode/skills/a/.SKILL.md.owtmp-123-abcd",
      ".opencode.json.owtmp-1",
      "src",
      "src/opencode.json",
      "node_modules",
      ".git",
    ]) {
      assert.equal(isIgnoredPath(path), true, path);
      assert.equal(reasonForPath(path), null, path);
    }
    for (const path of [
      "",
      ".opencode",
      ".opencode/skills",
      ".opencode/skills/a",
      "opencode.json",
      ".claude",
      ".claude/skills",
      ".agents/skills/a",
    ]) {
      assert.equal(isIgnoredPath(path), false, path);
    }
  });
});

describe("watcher: changes made by others", () => {
  test("an edit under .opencode/skills records one skills event from the watcher", async (t) => {
    const h = await watched(t);
    const cursor = h.services.events.cursor;
    await put(h.root, ".opencode/skills/demo/SKILL.md", "---\nname: demo\ndescription: Demo\n---\nBody\n");
    const events = await waitEvents(h, cursor, 1);
    assert.equal(events.length, 1, JSON.stringify(events));
    assert.equal(events[0]!.reason, "skills");
    assert.equal(events[0]!.workspaceId, h.wsId);
    assert.deepEqual(events[0]!.trigger, { source: "watcher", path: ".opencode/skills/demo/SKILL.md" });
    // The same events through the API.
    const res = await h.call("GET", h.ws(`/events?since=${cursor}`));
    assert.equal(res.status, 200);
    const body = (await res.json()) as { items: ReloadEvent[] };
    assert.deepEqual(
      body.items.map((e) => e.reason),
      ["skills"],
    );
  });

  test("each kind of file gets its reason", async (t) => {
    const h = await watched(t);
    const cursor = h.services.events.cursor;
    await put(h.root, "opencode.json", "{}\n");
    await put(h.root, ".opencode/commands/hello.md", "---\ndescription: hi\n---\nHello\n");
    await put(h.root, ".opencode/plugins/p.js", "export const P = async () => ({});\n");
    await put(h.root, ".opencode/agents/helper.md", "---\ndescription: helper\n---\nHelp.\n");
    const events = await waitEvents(h, cursor, 4);
    assert.deepEqual(events.map((e) => e.reason).sort(), ["agents", "commands", "config", "plugins"]);
    assert.ok(events.every((e) => e.trigger?.source === "watcher"));
  });

  test("a burst of changes is one event per reason (debounced)", async (t) => {
    // A debounce well above a stall of this machine between two saves of the burst.
    const h = await watched(t, 600);
    const cursor = h.services.events.cursor;
    for (let i = 0; i < 8; i++) await put(h.root, `.opencode/commands/c${i}.md`, `Template ${i}\n`);
    await put(h.root, ".opencode/opencode.jsonc", "{ // comment\n}\n");
    await put(h.root, ".opencode/opencode.jsonc", '{ "share": "disabled" }\n');
    const events = await waitEvents(h, cursor, 2);
    assert.deepEqual(events.map((e) => e.reason).sort(), ["commands", "config"], JSON.stringify(events));
  });

  test("a steady stream of changes still reports every maxWaitMs", async (t) => {
    const h = await createHarness({}, { services: { watch: true, watcher: { debounceMs: 200, maxWaitMs: 300 } } });
    t.after(() => h.close());
    await h.services.watcher!.ready;
    // The folder exists and is watched before the stream of saves starts.
    await put(h.root, ".opencode/commands/busy.md", "Template\n");
    await waitEvents(h, h.services.events.cursor, 1);
    const cursor = h.services.events.cursor;
    // A save every 40 ms for 1.2 s: the debounce alone would never fire before the end.
    const until = Date.now() + 1200;
    let lastSaveAt = 0;
    for (let i = 0; Date.now() < until; i++) {
      lastSaveAt = Date.now();
      await put(h.root, ".opencode/commands/busy.md", `Template ${i}\n`);
      await sleep(40);
    }
    const during = eventsOf(h, cursor).length;
    assert.ok(during >= 2, `reported ${during} time(s) while the changes went on`);
    // The last save is reported too: by a trailing debounce, or by a maxWait flush that came after
    // it (then nothing is left pending and no further event is due).
    const reportedAfterLastSave = () => eventsOf(h, cursor).some((e) => e.timestamp >= lastSaveAt);
    await waitFor(reportedAfterLastSave, 5000);
    await sleep(SETTLE);
    const events = eventsOf(h, cursor);
    assert.ok(
      events.every((e) => e.reason === "commands" && e.trigger?.source === "watcher"),
      JSON.stringify(events),
    );
  });

  test("deleting a skill folder is reported", async (t) => {
    const h = await watched(t);
    await put(h.root, ".opencode/skills/gone/SKILL.md", "---\nname: gone\ndescription: Gone\n---\n");
    await waitEvents(h, 0, 1);
    const cursor = h.services.events.cursor;
    await rm(join(h.root, ".opencode/skills/gone"), { recursive: true });
    const events = await waitEvents(h, cursor, 1);
    assert.deepEqual(
      events.map((e) => e.reason),
      ["skills"],
    );
  });

  test("ignored files record nothing", async (t) => {
    const h = await watched(t);
    const cursor = h.services.events.cursor;
    await put(h.root, ".opencode/openwork.json", "{}\n");
    await put(h.root, ".opencode/openwork/audit.jsonl", "{}\n");
    await put(h.root, ".opencode/node_modules/@opencode-ai/plugin/index.js", "x\n");
    await put(h.root, ".opencode/plugins/node_modules/dep/index.js", "x\n");
    await put(h.root, ".opencode/package.json", "{}\n");
    await put(h.root, ".opencode/package-lock.json", "{}\n");
    await put(h.root, ".opencode/bun.lock", "x\n");
    await put(h.root, ".opencode/opencode.db", "x\n");
    await put(h.root, ".opencode/opencode.db-wal", "x\n");
    await put(h.root, ".opencode/skills/a/.SKILL.md.owtmp-1-ab", "x\n");
    await put(h.root, ".opencode/.gitignore", "node_modules\n");
    await put(h.root, "README.md", "# readme\n");
    await put(h.root, "src/opencode.json", "{}\n");
    await sleep(SETTLE + DEBOUNCE);
    assert.deepEqual(eventsOf(h, cursor), []);
    // The watcher is alive: a real change right after is reported.
    await put(h.root, ".opencode/skills/a/SKILL.md", "---\nname: a\ndescription: A\n---\n");
    const events = await waitEvents(h, cursor, 1);
    assert.deepEqual(
      events.map((e) => e.reason),
      ["skills"],
    );
  });

  test("a workspace without .opencode gets events once it is created", async (t) => {
    const h = await watched(t);
    const cursor = h.services.events.cursor;
    await put(h.root, ".opencode/agents/late.md", "---\ndescription: late\n---\nHi\n");
    let events = await waitEvents(h, cursor, 1);
    assert.deepEqual(
      events.map((e) => e.reason),
      ["agents"],
    );
    // And the new folder is watched from then on.
    const next = h.services.events.cursor;
    await put(h.root, ".opencode/skills/later/SKILL.md", "---\nname: later\ndescription: Later\n---\n");
    events = await waitEvents(h, next, 1);
    assert.deepEqual(
      events.map((e) => e.reason),
      ["skills"],
    );
    // Removing and re-creating .opencode keeps it working.
    await rm(join(h.root, ".opencode"), { recursive: true });
    await sleep(SETTLE);
    const again = h.services.events.cursor;
    await put(h.root, ".opencode/commands/back.md", "Back\n");
    events = await waitEvents(h, again, 1);
    assert.deepEqual(
      events.map((e) => e.reason),
      ["commands"],
    );
  });
});

describe("watcher: our own writes", () => {
  test("a write through the API is reported once (by the pipeline, not again by the watcher)", async (t) => {
    const h = await watched(t);
    const cursor = h.services.events.cursor;
    let res = await h.call("POST", h.ws("/skills"), { name: "mine", content: "Do things.\n", description: "Mine" });
    assert.equal(res.status, 200, await res.clone().text());
    res = await h.call("PATCH", h.ws("/config"), { opencode: { share: "disabled" } });
    assert.equal(res.status, 200, await res.clone().text());
    res = await h.call("POST", h.ws("/commands"), { name: "hello", template: "Say hello" });
    assert.equal(res.status, 200, await res.clone().text());
    res = await h.call("DELETE", h.ws("/skills/mine"));
    assert.equal(res.status, 200, await res.clone().text());
    await sleep(SETTLE + DEBOUNCE);
    const events = eventsOf(h, cursor);
    assert.deepEqual(
      events.map((e) => `${e.reason}:${e.trigger?.source}`),
      ["skills:api", "config:api", "commands:api", "skills:api"],
      JSON.stringify(events),
    );
  });

  test("someone else's edit of the same file after the window is reported", async (t) => {
    const h = await watched(t);
    const res = await h.call("POST", h.ws("/commands"), { name: "shared", template: "Ours" });
    assert.equal(res.status, 200);
    await sleep(SUPPRESS + 200);
    const cursor = h.services.events.cursor;
    await put(h.root, ".opencode/commands/shared.md", "Theirs\n");
    const events = await waitEvents(h, cursor, 1);
    assert.deepEqual(
      events.map((e) => `${e.reason}:${e.trigger?.source}`),
      ["commands:watcher"],
    );
  });

  test("close() stops the watcher", async (t) => {
    const h = await createHarness({}, { services: { watch: true, watcher: { debounceMs: DEBOUNCE } } });
    t.after(() => rm(h.root, { recursive: true, force: true }));
    await h.services.watcher!.ready;
    await h.close().catch(() => {});
    const cursor = h.services.events.cursor;
    await mkdir(h.root, { recursive: true });
    await put(h.root, ".opencode/skills/x/SKILL.md", "---\nname: x\ndescription: X\n---\n");
    await sleep(SETTLE);
    assert.deepEqual(eventsOf(h, cursor), []);
  });

  test("without the watch option no watcher runs", async (t) => {
    const h = await createHarness();
    t.after(() => h.close());
    assert.equal(h.services.watcher, null);
    const cursor = h.services.events.cursor;
    await put(h.root, ".opencode/skills/x/SKILL.md", "---\nname: x\ndescription: X\n---\n");
    await sleep(SETTLE);
    assert.deepEqual(eventsOf(h, cursor), []);
  });
});

/** `fs.watch` with faults a test can inject: events dropped (as a kernel queue overflow drops them), a watch limit, errors. */
function faultyWatch() {
  const handles: Array<{ path: string; handle: FSWatcher }> = [];
  const muted = new Set<string>();
  const state = { limit: Number.POSITIVE_INFINITY };
  const watchFolder: WatchFolder = (path, listener) => {
    if (handles.length >= state.limit) {
      throw Object.assign(new Error("ENOSPC: System limit for number of file watchers reached"), { code: "ENOSPC" });
    }
    const handle = watch(path, { persistent: false }, (event, name) => {
      if (![...muted].some((m) => path.includes(m))) listener(event, name);
    });
    handles.push({ path, handle });
    return handle;
  };
  return { watchFolder, handles, muted, state };
}

const skillMd = (name: string, description: string) => `---\nname: ${name}\ndescription: ${description}\n---\nBody\n`;

async function faulty(t: { after(fn: () => Promise<void>): void }, options: WatcherOptions = {}, setup?: (root: string) => Promise<void>) {
  const root = await tempDir();
  await mkdir(join(root, ".git"));
  await put(root, ".opencode/skills/a/SKILL.md", skillMd("a", "A as it was"));
  await put(root, ".opencode/skills/b/SKILL.md", skillMd("b", "B as it was"));
  await setup?.(root);
  const fault = faultyWatch();
  const h = await createHarness(
    {},
    { root, services: { watch: true, watcher: { debounceMs: 100, watch: fault.watchFolder, ...options } } },
  );
  t.after(async () => {
    await h.close();
    await rm(root, { recursive: true, force: true });
  });
  await h.services.watcher!.ready;
  const description = async (name: string) =>
    (await json(await h.call("GET", h.ws("/skills")))).items.find((i: { name: string }) => i.name === name)?.description;
  const stats = () => ({ ...h.services.listings.of(h.services.registry.get(h.wsId)).stats });
  return { h, root, fault, description, stats };
}

describe("watcher: failures fall back to reading the disk, never to stale listings", () => {
  test("a watch error: listings read the disk at once, and the watcher comes back with a full rescan", async (t) => {
    const { h, root, fault, description, stats } = await faulty(t, { retryMs: 200 });
    assert.equal(await description("a"), "A as it was");
    assert.equal(h.services.watcher!.state(h.wsId), "on");
    const before = stats();
    fault.muted.add(root); // from here on nothing is heard: only reading the disk can show changes
    fault.handles[0]!.handle.emit("error", new Error("EIO: the watch broke"));
    assert.equal(h.services.watcher!.state(h.wsId), "error");
    await put(root, ".opencode/skills/a/SKILL.md", skillMd("a", "A while the watcher was down"));
    assert.equal(await description("a"), "A while the watcher was down", "read from disk, no waiting");
    await waitFor(() => h.services.watcher!.state(h.wsId) === "on", 5000);
    await put(root, ".opencode/skills/b/SKILL.md", skillMd("b", "B while nothing was heard"));
    await h.services.watcher!.restart(h.wsId);
    assert.equal(await description("b"), "B while nothing was heard");
    assert.ok(stats().fullScans > before.fullScans, "a restart rescans");
  });

  test("too many folders to watch (ENOSPC): listings read the disk instead of going stale", async (t) => {
    const root = await tempDir();
    await mkdir(join(root, ".git"));
    await put(root, ".opencode/skills/first/SKILL.md", skillMd("first", "First"));
    const fault = faultyWatch();
    fault.state.limit = 2;
    const h = await createHarness({}, { root, services: { watch: true, watcher: { watch: fault.watchFolder, retryMs: 60_000 } } });
    t.after(async () => {
      await h.close();
      await rm(root, { recursive: true, force: true });
    });
    await h.services.watcher!.ready;
    assert.equal(h.services.watcher!.state(h.wsId), "error");
    const listed = async () => (await json(await h.call("GET", h.ws("/skills")))).items.map((i: { name: string }) => i.name);
    assert.deepEqual(await listed(), ["first"]);
    await put(root, ".opencode/skills/late/SKILL.md", skillMd("late", "Late"));
    // Each request reads the disk (sharing a read younger than the debounce).
    await waitFor(async () => JSON.stringify(await listed()) === '["first","late"]', 1000);
  });

  test("a burst large enough to have overflowed the kernel's queue restarts the watcher and rescans", async (t) => {
    const { h, root, fault, description, stats } = await faulty(t, { overflowEvents: 30, maxWaitMs: 500 });
    assert.equal(await description("b"), "B as it was");
    // The kernel drops this change (as an overflowing queue does) ...
    fault.muted.add("/skills/b");
    await put(root, ".opencode/skills/b/SKILL.md", skillMd("b", "B changed unheard"));
    await sleep(SETTLE);
    assert.equal(await description("b"), "B as it was", "a lost event leaves the listing behind ...");
    const before = stats();
    // ... and a burst of other changes says events may have been lost.
    for (let i = 0; i < 40; i++) await put(root, `.opencode/commands/c${i}.md`, `Command ${i}\n`);
    await waitFor(async () => (await description("b")) === "B changed unheard", 5000);
    assert.ok(stats().fullScans > before.fullScans, "... until the restart's full rescan");
    assert.equal((await json(await h.call("GET", h.ws("/commands")))).items.length, 40);
  });

  test("a symlinked folder that leads out of the workspace is never crawled or watched", async (t) => {
    const outside = await tempDir("ows-outside-");
    t.after(() => rm(outside, { recursive: true, force: true }));
    await put(outside, "a/b/c/d/deep.md", "Deep\n");
    await put(outside, "skills/x/SKILL.md", skillMd("x", "Outside"));
    const { h, root } = await faulty(t, {}, async (root) => {
      await symlink(outside, join(root, ".opencode/commands"));
      await symlink("/usr", join(root, ".opencode/agents"));
      await symlink(join(outside, "skills/x"), join(root, ".opencode/skills/x"));
      await symlink(join(outside, "skills"), join(root, ".opencode/skill"));
      await mkdir(join(root, ".claude"));
      await symlink(join(outside, "skills"), join(root, ".claude/skills"));
      // A link that stays inside is followed.
      await put(root, "store/skills/inner/SKILL.md", skillMd("inner", "Inside, through a link"));
      await symlink(join(root, "store"), join(root, ".agents"));
    });
    const watched = h.services.watcher!.watchedRealPaths(h.wsId);
    const realOutside = realpathSync(outside);
    assert.deepEqual(
      watched.filter((p) => p.startsWith(realOutside) || p.startsWith("/usr")),
      [],
    );
    assert.ok(watched.includes(realpathSync(join(root, "store/skills/inner"))), "a link inside the workspace is followed");
    assert.ok(watched.length < 20, `${watched.length} folders watched`);
    // Changes out there are not heard.
    const cursor = h.services.events.cursor;
    await put(outside, "a/b/c/new.md", "New\n");
    await put(outside, "skills/x/SKILL.md", skillMd("x", "Outside, changed"));
    await sleep(SETTLE);
    assert.deepEqual(eventsOf(h, cursor), []);
  });
});
