// GET/POST/DELETE /workspace/:id/plugins: config specs, plugin folders, normalised names,
// comment-preserving edits, refusals that leave the files byte-identical.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, beforeEach, describe, test } from "node:test";
import { normalizePluginName } from "../src/workspace/plugins.js";
import {
  createHarness,
  createSandbox,
  expectError,
  type Harness,
  HOST_TOKEN,
  json,
  type Sandbox,
  snapshot,
  waitFor,
} from "./helpers/harness.js";

// The global OpenCode folder is taken from XDG_CONFIG_HOME; point it at a temp folder.
const xdg = await mkdtemp(join(tmpdir(), "ows-xdg-"));
process.env.XDG_CONFIG_HOME = xdg;
after(() => rm(xdg, { recursive: true, force: true }));

// The workspace sits in its own parent folder, beside a file no request may touch.
let box: Sandbox;
let h: Harness;
beforeEach(async () => {
  box = await createSandbox("ows-plugins-");
  h = await box.workspace();
});
afterEach(async () => {
  await h.close();
  await box.close();
});

const LOAD_ORDER = ["config.global", "config.project", "dir.global", "dir.project"];
const JSONC = `{
  // plugins we use
  "plugin": ["opencode-foo@1.2.0"], // trailing note
  /* keep me */
  "theme": "dark",
}
`;

const read = (file: string) => readFile(join(h.root, file), "utf8");
const auditCount = async () => (await json(await h.call("GET", h.ws("/audit")))).items.length as number;

describe("normalizePluginName", () => {
  test("strips versions from npm specs, keeps URLs and paths", () => {
    assert.equal(normalizePluginName("pkg"), "pkg");
    assert.equal(normalizePluginName("pkg@1.2"), "pkg");
    assert.equal(normalizePluginName("pkg@latest"), "pkg");
    assert.equal(normalizePluginName("@scope/pkg"), "@scope/pkg");
    assert.equal(normalizePluginName("@scope/pkg@1"), "@scope/pkg");
    assert.equal(normalizePluginName("@scope/pkg@^1.0.0"), "@scope/pkg");
    assert.equal(normalizePluginName("https://example.com/p@1.js"), "https://example.com/p@1.js");
    assert.equal(normalizePluginName("file:///tmp/p@1.js"), "file:///tmp/p@1.js");
    assert.equal(normalizePluginName("./local/p@1.ts"), "./local/p@1.ts");
    assert.equal(normalizePluginName("/abs/p@1.ts"), "/abs/p@1.ts");
  });
});

describe("GET plugins", () => {
  test("an empty workspace lists nothing, with the load order", async () => {
    const res = await h.call("GET", h.ws("/plugins"));
    assert.equal(res.status, 200);
    assert.deepEqual(await json(res), { items: [], loadOrder: LOAD_ORDER });
  });

  test("lists a string plugin, array specs and *.js/*.ts files of .opencode/plugins", async () => {
    await writeFile(join(h.root, "opencode.json"), JSON.stringify({ plugin: "single-plugin@2" }));
    await mkdir(join(h.root, ".opencode/plugins"), { recursive: true });
    await writeFile(join(h.root, ".opencode/plugins/b.ts"), "export default {}\n");
    await writeFile(join(h.root, ".opencode/plugins/a.js"), "export default {}\n");
    await writeFile(join(h.root, ".opencode/plugins/readme.md"), "not a plugin\n");
    let body = await json(await h.call("GET", h.ws("/plugins")));
    assert.deepEqual(body.items, [
      { spec: "single-plugin@2", source: "config", scope: "project" },
      { spec: "a.js", source: "dir.project", scope: "project", path: ".opencode/plugins/a.js" },
      { spec: "b.ts", source: "dir.project", scope: "project", path: ".opencode/plugins/b.ts" },
    ]);
    await writeFile(join(h.root, "opencode.json"), JSON.stringify({ plugin: ["x", "@s/y@1"] }));
    body = await json(await h.call("GET", h.ws("/plugins")));
    assert.deepEqual(
      body.items.filter((i: { source: string }) => i.source === "config").map((i: { spec: string }) => i.spec),
      ["x", "@s/y@1"],
    );
  });

  test("includeGlobal needs the owner scope (the host token) and adds global config and folder plugins", async () => {
    await mkdir(join(xdg, "opencode/plugins"), { recursive: true });
    await writeFile(join(xdg, "opencode/plugins/g.ts"), "export default {}\n");
    await writeFile(join(xdg, "opencode/opencode.json"), JSON.stringify({ plugin: ["global-plugin"] }));
    await writeFile(join(h.root, "opencode.json"), JSON.stringify({ plugin: ["p"] }));
    try {
      const denied = await h.call("GET", h.ws("/plugins?includeGlobal=true"));
      assert.equal(denied.status, 403);
      assert.equal((await json(denied)).code, "insufficient_scope");
      const res = await h.call("GET", h.ws("/plugins?includeGlobal=true"), undefined, {
        "X-OpenWork-Host-Token": HOST_TOKEN,
      });
      assert.equal(res.status, 200);
      const body = await json(res);
      assert.deepEqual(body.loadOrder, LOAD_ORDER);
      assert.deepEqual(body.items, [
        { spec: "global-plugin", source: "config", scope: "global" },
        { spec: "p", source: "config", scope: "project" },
        { spec: "g.ts", source: "dir.global", scope: "global", path: join(xdg, "opencode/plugins/g.ts") },
      ]);
      // Without the flag, global plugins are not listed.
      const plain = await json(await h.call("GET", h.ws("/plugins")));
      assert.deepEqual(plain.items, [{ spec: "p", source: "config", scope: "project" }]);
    } finally {
      await rm(join(xdg, "opencode"), { recursive: true, force: true });
    }
  });

  test("an unparseable config is a 422 naming the line", async () => {
    await writeFile(join(h.root, "opencode.json"), '{\n  "plugin": [x]\n}\n');
    const res = await h.call("GET", h.ws("/plugins"));
    assert.equal(res.status, 422);
    const body = await json(res);
    assert.equal(body.code, "invalid_file");
    assert.equal(body.details.line, 2);
  });
});

describe("POST plugins", () => {
  test("adds to the plugin array of opencode.jsonc and keeps every comment", async () => {
    await writeFile(join(h.root, "opencode.jsonc"), JSONC);
    const res = await h.call("POST", h.ws("/plugins"), { spec: "@acme/tool@3" });
    assert.equal(res.status, 200);
    const body = await json(res);
    assert.equal(body.changed, true);
    assert.deepEqual(body.loadOrder, LOAD_ORDER);
    assert.deepEqual(
      body.items.map((i: { spec: string }) => i.spec),
      ["opencode-foo@1.2.0", "@acme/tool@3"],
    );
    const text = await read("opencode.jsonc");
    assert.equal(
      text,
      JSONC.replace('"plugin": ["opencode-foo@1.2.0"]', '"plugin": [\n    "opencode-foo@1.2.0",\n    "@acme/tool@3"\n  ]'),
    );
    const files = Object.keys(await snapshot(h.root)).sort();
    assert.deepEqual(files, ["opencode.jsonc"]);
  });

  test("creates opencode.json in an empty workspace", async () => {
    const res = await h.call("POST", h.ws("/plugins"), { spec: "opencode-bar" });
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(await read("opencode.json")), { plugin: ["opencode-bar"] });
  });

  test("a string plugin becomes an array", async () => {
    await writeFile(join(h.root, "opencode.json"), '{ "plugin": "one" }\n');
    const res = await h.call("POST", h.ws("/plugins"), { spec: "two" });
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(await read("opencode.json")), { plugin: ["one", "two"] });
  });

  test("concurrent adds are serialised: none is lost", async () => {
    await writeFile(join(h.root, "opencode.jsonc"), JSONC);
    const specs = Array.from({ length: 10 }, (_, i) => `p${i}@1`);
    const answers = await Promise.all(specs.map((spec) => h.call("POST", h.ws("/plugins"), { spec })));
    assert.deepEqual(
      answers.map((r) => r.status),
      specs.map(() => 200),
    );
    const { parse } = await import("jsonc-parser");
    const plugin = parse(await read("opencode.jsonc")).plugin as string[];
    assert.deepEqual([...plugin].sort(), ["opencode-foo@1.2.0", ...specs].sort());
    assert.ok((await read("opencode.jsonc")).includes("/* keep me */"));
  });

  test("records an audit entry and a plugins reload event", async () => {
    const since = h.services.events.cursor;
    await h.call("POST", h.ws("/plugins"), { spec: "opencode-bar" });
    const audit = (await json(await h.call("GET", h.ws("/audit")))).items;
    assert.equal(audit.length, 1);
    assert.equal(audit[0].action, "plugins.add");
    assert.equal(audit[0].target, "opencode-bar");
    const events = h.services.events.since(h.wsId, since);
    assert.deepEqual(
      events.map((e) => e.reason),
      ["plugins"],
    );
  });

  test("a spec whose normalised name is present is a no-op: no write, no approval, no audit", async () => {
    await writeFile(join(h.root, "opencode.jsonc"), JSONC);
    await h.close();
    // Manual approval with nobody answering: a request that asked would time out with 403.
    h = await createHarness({ approval: { mode: "manual", timeoutMs: 200 } }, { root: h.root });
    const before = await snapshot(h.root);
    const since = h.services.events.cursor;
    for (const spec of ["opencode-foo", "opencode-foo@2.0.0", " opencode-foo@latest "]) {
      const res = await h.call("POST", h.ws("/plugins"), { spec });
      assert.equal(res.status, 200, spec);
      const body = await json(res);
      assert.equal(body.changed, false);
      assert.deepEqual(
        body.items.map((i: { spec: string }) => i.spec),
        ["opencode-foo@1.2.0"],
      );
    }
    assert.deepEqual(await snapshot(h.root), before);
    assert.equal(h.services.events.since(h.wsId, since).length, 0);
    assert.equal(h.services.approvals.list().length, 0);
  });

  test("scoped names compare without their version; URLs compare whole", async () => {
    await h.call("POST", h.ws("/plugins"), { spec: "@scope/pkg@1" });
    assert.equal((await json(await h.call("POST", h.ws("/plugins"), { spec: "@scope/pkg@2" }))).changed, false);
    assert.equal((await json(await h.call("POST", h.ws("/plugins"), { spec: "@scope/other" }))).changed, true);
    await h.call("POST", h.ws("/plugins"), { spec: "https://x.test/p@1.js" });
    assert.equal((await json(await h.call("POST", h.ws("/plugins"), { spec: "https://x.test/p@2.js" }))).changed, true);
    assert.deepEqual(JSON.parse(await read("opencode.json")).plugin, [
      "@scope/pkg@1",
      "@scope/other",
      "https://x.test/p@1.js",
      "https://x.test/p@2.js",
    ]);
  });

  test("bad bodies are 400 invalid_payload (or 415) and write nothing", async () => {
    await writeFile(join(h.root, "opencode.jsonc"), JSONC);
    const before = await snapshot(h.root);
    const cases: Array<[unknown, number, string]> = [
      [{}, 400, "invalid_payload"],
      [{ spec: 42 }, 400, "invalid_payload"],
      [{ spec: "" }, 400, "invalid_payload"],
      [{ spec: "   " }, 400, "invalid_payload"],
      [{ spec: "a\nb" }, 400, "invalid_payload"],
      [{ spec: "a\u0000b" }, 400, "invalid_payload"],
      [{ spec: "x".repeat(1025) }, 400, "invalid_payload"],
      [["spec"], 400, "invalid_payload"],
      ["{not json", 400, "invalid_json"],
    ];
    for (const [body, status, code] of cases) {
      const res = await h.call("POST", h.ws("/plugins"), body);
      assert.equal(res.status, status, JSON.stringify(body));
      assert.equal((await json(res)).code, code, JSON.stringify(body));
    }
    const noBody = await h.call("POST", h.ws("/plugins"));
    assert.equal(noBody.status, 400);
    const notJson = await h.call("POST", h.ws("/plugins"), "spec=x", { "Content-Type": "text/plain" });
    assert.equal(notJson.status, 415);
    assert.deepEqual(await snapshot(h.root), before);
  });

  test("an existing config OpenCode would refuse is not made worse: 400 invalid_config, file unchanged", async () => {
    // A bad MCP entry already on disk: adding a plugin would still leave a config OpenCode refuses.
    const bad = '{\n  // broken server\n  "mcp": { "srv": { "type": "local" } }\n}\n';
    await writeFile(join(h.root, "opencode.jsonc"), bad);
    let res = await h.call("POST", h.ws("/plugins"), { spec: "p" });
    assert.equal(res.status, 400);
    let body = await json(res);
    assert.equal(body.code, "invalid_config");
    assert.match(body.message, /mcp\.srv\.command/);
    assert.equal(await read("opencode.jsonc"), bad);
    // A `plugin` value of the wrong type is refused too.
    const wrong = '{ "plugin": 42 }\n';
    await writeFile(join(h.root, "opencode.jsonc"), wrong);
    res = await h.call("POST", h.ws("/plugins"), { spec: "p" });
    assert.equal(res.status, 400);
    body = await json(res);
    assert.equal(body.code, "invalid_config");
    assert.equal(body.details.key, "plugin");
    assert.equal(await read("opencode.jsonc"), wrong);
    assert.equal(await auditCount(), 0);
  });

  test("an unparseable config is 422 and not rewritten", async () => {
    const broken = '{ "plugin": [ }';
    await writeFile(join(h.root, "opencode.json"), broken);
    const res = await h.call("POST", h.ws("/plugins"), { spec: "p" });
    assert.equal(res.status, 422);
    assert.equal(await read("opencode.json"), broken);
  });

  test("a denied approval is 403 write_denied and changes nothing", async () => {
    await writeFile(join(h.root, "opencode.jsonc"), JSONC);
    await h.close();
    h = await createHarness({ approval: { mode: "manual", timeoutMs: 5000 } }, { root: h.root });
    const before = await snapshot(h.root);
    const pending = h.call("POST", h.ws("/plugins"), { spec: "new-plugin" });
    const approval = await waitFor(() => h.services.approvals.list()[0]);
    assert.ok(approval);
    assert.equal(approval.action, "plugins.add");
    assert.deepEqual(approval.paths, ["opencode.jsonc"]);
    await h.host("POST", `/approvals/${approval.id}`, { reply: "deny" });
    const res = await pending;
    assert.equal(res.status, 403);
    assert.equal((await json(res)).code, "write_denied");
    assert.deepEqual(await snapshot(h.root), before);
  });

  test("an edit made on disk while approval is pending: 409 changed_since_approval, the editor's change kept", async () => {
    await writeFile(join(h.root, "opencode.jsonc"), JSONC);
    await h.close();
    h = await createHarness({ approval: { mode: "manual", timeoutMs: 5000 } }, { root: h.root });
    const pending = h.call("POST", h.ws("/plugins"), { spec: "new-plugin" });
    const approval = await waitFor(() => h.services.approvals.list()[0]);
    assert.ok(approval);
    // Meanwhile an editor changes the theme and adds the same plugin at another version.
    const edited = JSONC.replace('"dark"', '"light"').replace('["opencode-foo@1.2.0"]', '["opencode-foo@1.2.0", "new-plugin@2"]');
    await writeFile(join(h.root, "opencode.jsonc"), edited);
    await h.host("POST", `/approvals/${approval.id}`, { reply: "allow" });
    const res = await pending;
    // What the host approved is no longer what would be written (here: nothing at all).
    const body = await expectError(res, 409, "changed_since_approval");
    assert.deepEqual(body.details.paths, ["opencode.jsonc"]);
    assert.equal(await read("opencode.jsonc"), edited, "no duplicate spec is added and the editor's change is kept");
  });

  test("a read-only server refuses with 403 read_only, even for a no-op", async () => {
    await writeFile(join(h.root, "opencode.jsonc"), JSONC);
    await h.close();
    h = await createHarness({ readOnly: true }, { root: h.root });
    for (const spec of ["new-plugin", "opencode-foo"]) {
      const res = await h.call("POST", h.ws("/plugins"), { spec });
      assert.equal(res.status, 403);
      assert.equal((await json(res)).code, "read_only");
    }
    const del = await h.call("DELETE", h.ws("/plugins/opencode-foo"));
    assert.equal(del.status, 403);
    // Read-only is answered before the request is validated.
    for (const res of [await h.call("POST", h.ws("/plugins"), { spec: "" }), await h.call("DELETE", h.ws("/plugins/unknown"))]) {
      assert.equal(res.status, 403);
      assert.equal((await json(res)).code, "read_only");
    }
    assert.equal(await read("opencode.jsonc"), JSONC);
  });
});

describe("DELETE plugins", () => {
  test("removes every spec with the normalised name and keeps comments", async () => {
    const text = `{
  // plugins
  "plugin": ["keep", "dup@1", "dup@2", "dup"], // note
  "theme": "dark"
}
`;
    await writeFile(join(h.root, "opencode.jsonc"), text);
    const res = await h.call("DELETE", h.ws("/plugins/dup@9"));
    assert.equal(res.status, 200);
    const body = await json(res);
    assert.deepEqual(
      body.items.map((i: { spec: string }) => i.spec),
      ["keep"],
    );
    assert.deepEqual(body.loadOrder, LOAD_ORDER);
    assert.equal(await read("opencode.jsonc"), text.replace('["keep", "dup@1", "dup@2", "dup"]', '[\n    "keep"\n  ]'));
    const audit = (await json(await h.call("GET", h.ws("/audit")))).items;
    assert.equal(audit[0].action, "plugins.remove");
    assert.equal(audit[0].target, "dup");
  });

  test("scoped names work URL-encoded and as a raw path", async () => {
    await writeFile(join(h.root, "opencode.json"), JSON.stringify({ plugin: ["@scope/a@1", "@scope/b", "c"] }));
    let res = await h.call("DELETE", h.ws(`/plugins/${encodeURIComponent("@scope/a")}`));
    assert.equal(res.status, 200);
    res = await h.call("DELETE", h.ws("/plugins/@scope/b"));
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(await read("opencode.json")).plugin, ["c"]);
  });

  test("removing the only (string) plugin leaves an empty array", async () => {
    await writeFile(join(h.root, "opencode.json"), '{ "plugin": "solo@1" }\n');
    assert.equal((await h.call("DELETE", h.ws("/plugins/solo"))).status, 200);
    assert.deepEqual(JSON.parse(await read("opencode.json")), { plugin: [] });
  });

  test("an unknown name is 404; a plugin file is not removable by name", async () => {
    await writeFile(join(h.root, "opencode.jsonc"), JSONC);
    await mkdir(join(h.root, ".opencode/plugins"), { recursive: true });
    await writeFile(join(h.root, ".opencode/plugins/local.ts"), "export default {}\n");
    const before = await snapshot(h.root);
    for (const name of ["nope", "local.ts", "opencode-foo-extra"]) {
      const res = await h.call("DELETE", h.ws(`/plugins/${name}`));
      assert.equal(res.status, 404, name);
      assert.equal((await json(res)).code, "not_found");
    }
    // Empty workspace: 404 too.
    await rm(join(h.root, "opencode.jsonc"));
    assert.equal((await h.call("DELETE", h.ws("/plugins/opencode-foo"))).status, 404);
    await writeFile(join(h.root, "opencode.jsonc"), JSONC);
    assert.deepEqual(await snapshot(h.root), before);
    assert.equal(await auditCount(), 0);
  });

  test("traversal-shaped, NUL and over-long names never touch a file", async () => {
    await writeFile(join(h.root, "opencode.jsonc"), JSONC);
    const before = await snapshot(h.root);
    const cases: Array<[string, number]> = [
      ["..", 404],
      ["..%2F..%2Foutside.txt", 404],
      ["../../outside.txt", 404],
      ["%2E%2E%2Foutside.txt", 404],
      ["a%00b", 400],
      [`${"x".repeat(1025)}`, 400],
    ];
    for (const [name, status] of cases) {
      const res = await h.call("DELETE", h.ws(`/plugins/${name}`));
      assert.equal(res.status, status, name);
      assert.ok(res.status < 500);
    }
    assert.deepEqual(await snapshot(h.root), before);
    assert.equal(await readFile(box.outside, "utf8"), "outside\n");
  });

  test("a delete that leaves a config OpenCode would refuse is 400 and changes nothing", async () => {
    const bad = '{ "plugin": ["p"], "mcp": { "s": { "type": "remote" } } }\n';
    await writeFile(join(h.root, "opencode.json"), bad);
    const res = await h.call("DELETE", h.ws("/plugins/p"));
    assert.equal(res.status, 400);
    assert.equal((await json(res)).code, "invalid_config");
    assert.equal(await read("opencode.json"), bad);
  });
});
