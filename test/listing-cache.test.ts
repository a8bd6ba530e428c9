// Listings and the config read are served from a per-workspace cache when the watcher runs:
// our writes show at once, changes made on disk by others once the watcher has reported them.
import assert from "node:assert/strict";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { ListingCache } from "../src/services/listing-cache.js";
import { createHarness, type Harness, json, waitFor } from "./helpers/harness.js";

// A long debounce makes the window in which the cache may still answer the old listing wide
// enough to observe, which proves the answer really came from the cache.
const DEBOUNCE = 1500;

async function watched(t: { after(fn: () => Promise<void>): void }): Promise<Harness> {
  const h = await createHarness({}, { services: { watch: true, watcher: { debounceMs: DEBOUNCE, maxWaitMs: DEBOUNCE } } });
  t.after(() => h.close());
  await h.services.watcher!.ready;
  return h;
}

const skillMd = (name: string) => `---\nname: ${name}\ndescription: The ${name} skill\n---\nBody\n`;
const names = async (h: Harness, path: string) =>
  (await json(await h.call("GET", h.ws(path)))).items.map((i: { name: string }) => i.name).sort();

describe("listing cache", () => {
  test("our own writes are visible in the next listing at once", async (t) => {
    const h = await watched(t);
    assert.deepEqual(await names(h, "/skills"), []);
    assert.equal((await h.call("POST", h.ws("/skills"), { name: "alpha", content: "Do alpha.", description: "Alpha" })).status, 200);
    assert.deepEqual(await names(h, "/skills"), ["alpha"]);
    assert.deepEqual(await names(h, "/mcp"), []);
    await h.call("POST", h.ws("/mcp"), { name: "docs", config: { type: "remote", url: "http://127.0.0.1:9/mcp" } });
    assert.deepEqual(await names(h, "/mcp"), ["docs"]);
    // A config write changes the plugin listing too (plugins live in the config).
    assert.deepEqual((await json(await h.call("GET", h.ws("/plugins")))).items, []);
    await h.call("PATCH", h.ws("/config"), { opencode: { plugin: ["extra-plugin"] } });
    assert.deepEqual(
      (await json(await h.call("GET", h.ws("/plugins")))).items.map((p: { spec: string }) => p.spec),
      ["extra-plugin"],
    );
  });

  test("a change on disk by someone else is served from the cache until the watcher reports it", async (t) => {
    const h = await watched(t);
    await mkdir(join(h.root, ".opencode/skills/beta"), { recursive: true });
    await writeFile(join(h.root, ".opencode/skills/beta/SKILL.md"), skillMd("beta"));
    await waitFor(async () => (await names(h, "/skills")).includes("beta"), 5000);
    const seen = h.services.events.cursor;
    // Someone else removes the skill: the cached listing still shows it until the debounce ends ...
    await rename(join(h.root, ".opencode/skills/beta"), join(h.root, ".opencode/skills-moved-away"));
    assert.deepEqual(await names(h, "/skills"), ["beta"]);
    // ... and not after the watcher has reported the change.
    await waitFor(() => h.services.events.since(h.wsId, seen).some((e) => e.reason === "skills"), 5000);
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
    await waitFor(async () => (await json(await h.call("GET", h.ws("/config")))).opencode.theme === "editor", 5000);
  });

  test("an error is not cached", async (t) => {
    const h = await watched(t);
    await writeFile(join(h.root, "opencode.json"), "{ broken");
    assert.equal((await h.call("GET", h.ws("/mcp"))).status, 422);
    await writeFile(join(h.root, "opencode.json"), "{}");
    assert.equal((await h.call("GET", h.ws("/mcp"))).status, 200);
  });

  test("without a watcher nothing is cached: disk edits show at once", async () => {
    const h = await createHarness();
    try {
      await h.call("GET", h.ws("/skills"));
      await mkdir(join(h.root, ".opencode/skills/gamma"), { recursive: true });
      await writeFile(join(h.root, ".opencode/skills/gamma/SKILL.md"), skillMd("gamma"));
      assert.deepEqual(await names(h, "/skills"), ["gamma"]);
    } finally {
      await h.close();
    }
  });
});

describe("ListingCache", () => {
  test("concurrent misses share one load; an invalidation during a load keeps its result out", async () => {
    const cache = new ListingCache(60_000);
    let loads = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow = async () => {
      loads++;
      await gate;
      return { json: { n: loads } };
    };
    const a = cache.get("ws", "skills", "", slow);
    const b = cache.get("ws", "skills", "", slow);
    assert.equal(loads, 1);
    cache.invalidate("ws", ["skills"]);
    release();
    assert.deepEqual(await a, await b);
    const after = await cache.get("ws", "skills", "", async () => ({ json: { fresh: true } }));
    assert.equal(new TextDecoder().decode(after.body), '{"fresh":true}');
    const again = await cache.get("ws", "skills", "", async () => ({ json: { never: true } }));
    assert.equal(new TextDecoder().decode(again.body), '{"fresh":true}', "a hit does not load");
  });

  test("entries expire after the TTL; invalidation is per workspace and kind", async () => {
    const cache = new ListingCache(30);
    await cache.get("ws", "mcp", "", async () => ({ json: 1 }));
    await cache.get("other", "mcp", "", async () => ({ json: 1 }));
    cache.invalidate("ws", ["skills"]);
    assert.equal(new TextDecoder().decode((await cache.get("ws", "mcp", "", async () => ({ json: 2 }))).body), "1");
    cache.invalidate("ws", ["mcp"]);
    assert.equal(new TextDecoder().decode((await cache.get("ws", "mcp", "", async () => ({ json: 2 }))).body), "2");
    assert.equal(new TextDecoder().decode((await cache.get("other", "mcp", "", async () => ({ json: 2 }))).body), "1");
    await new Promise((r) => setTimeout(r, 40));
    assert.equal(new TextDecoder().decode((await cache.get("other", "mcp", "", async () => ({ json: 3 }))).body), "3");
  });
});
