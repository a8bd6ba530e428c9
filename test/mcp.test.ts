// GET/POST/DELETE /workspace/:id/mcp: name and config rules, disabledByTools, comment-preserving
// edits, refusals that leave the files byte-identical.
import assert from "node:assert/strict";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import { mcpDisabledByTools } from "../src/workspace/mcp.js";
import {
  auditEntries,
  createHarness,
  createSandbox,
  expectError,
  type Harness,
  json,
  type Sandbox,
  snapshot,
  waitFor,
} from "./helpers/harness.js";

// The workspace sits in its own parent folder, beside a file no request may touch.
let box: Sandbox;
let h: Harness;
beforeEach(async () => {
  box = await createSandbox("ows-mcp-");
  h = await box.workspace();
});
afterEach(async () => {
  await h.close();
  await box.close();
});

const JSONC = `{
  // our servers
  "mcp": {
    "docs": { "type": "remote", "url": "https://docs.test/mcp" }
  },
  /* keep me */
  "theme": "dark", // trailing
}
`;
const LOCAL = { type: "local", command: ["npx", "-y", "srv"], environment: { A: "1" }, enabled: true, timeout: 5000 };
const read = (file: string) => readFile(join(h.root, file), "utf8");
const auditCount = async () => (await json(await h.call("GET", h.ws("/audit")))).items.length as number;

describe("GET mcp", () => {
  test("an empty workspace has no servers", async () => {
    const res = await h.call("GET", h.ws("/mcp"));
    assert.equal(res.status, 200);
    assert.deepEqual(await json(res), { items: [] });
  });

  test("lists each entry with its config as written, in file order", async () => {
    await writeFile(
      join(h.root, "opencode.jsonc"),
      JSONC.replace('"docs"', '"zeta": { "type": "local", "command": ["z"], "x-extra": 1 },\n    "docs"'),
    );
    const body = await json(await h.call("GET", h.ws("/mcp")));
    assert.deepEqual(body.items, [
      { name: "zeta", config: { type: "local", command: ["z"], "x-extra": 1 }, source: "config.project" },
      { name: "docs", config: { type: "remote", url: "https://docs.test/mcp" }, source: "config.project" },
    ]);
  });

  test("disabledByTools follows tools.deny globs", async () => {
    const mcp = { a: { type: "remote", url: "https://a.test" }, b: { type: "remote", url: "https://b.test" } };
    const cases: Array<[string[], boolean, boolean]> = [
      [["mcp.a"], true, false],
      [["mcp.a.*"], true, false],
      [["mcp:a"], true, false],
      [["mcp:a:*"], true, false],
      [["mcp.*"], true, true],
      [["mcp:*"], true, true],
      [["*"], true, true],
      [["mcp.{a,c}"], true, false],
      [["mcp.a.some_tool"], false, false],
      [["mcp.ab"], false, false],
      [["bash"], false, false],
      [[], false, false],
    ];
    for (const [deny, a, b] of cases) {
      await writeFile(join(h.root, "opencode.json"), JSON.stringify({ mcp, tools: { deny } }));
      const items = (await json(await h.call("GET", h.ws("/mcp")))).items;
      assert.equal(items[0].disabledByTools === true, a, `${deny} a`);
      assert.equal(items[1].disabledByTools === true, b, `${deny} b`);
      if (!a) assert.equal("disabledByTools" in items[0], false);
    }
  });

  test("disabledByTools also understands OpenCode's tools map ({ 'name_*': false })", () => {
    assert.equal(mcpDisabledByTools("gh", { "gh_*": false }), true);
    assert.equal(mcpDisabledByTools("gh", { "*": false }), true);
    assert.equal(mcpDisabledByTools("gh", { "g*": false }), true);
    assert.equal(mcpDisabledByTools("gh", { "gh_*": true }), false);
    assert.equal(mcpDisabledByTools("gh", { gh_create_issue: false }), false);
    assert.equal(mcpDisabledByTools("gh", { "ghx_*": false }), false);
    assert.equal(mcpDisabledByTools("gh", undefined), false);
    assert.equal(mcpDisabledByTools("gh", { deny: "mcp.*" }), false);
  });
});

describe("POST mcp", () => {
  test("adds a local server to opencode.jsonc, keeping comments and every field", async () => {
    await writeFile(join(h.root, "opencode.jsonc"), JSONC);
    const res = await h.call("POST", h.ws("/mcp"), { name: "local_1", config: LOCAL });
    assert.equal(res.status, 200);
    const body = await json(res);
    assert.deepEqual(
      body.items.map((i: { name: string }) => i.name),
      ["docs", "local_1"],
    );
    assert.deepEqual(body.items[1], { name: "local_1", config: LOCAL, source: "config.project" });
    const text = await read("opencode.jsonc");
    for (const kept of ["// our servers", "/* keep me */", '"theme": "dark", // trailing']) assert.ok(text.includes(kept), kept);
    const { parse } = await import("jsonc-parser");
    assert.deepEqual(parse(text).mcp.local_1, LOCAL);
    assert.deepEqual(Object.keys(await snapshot(h.root)).sort(), ["opencode.jsonc"]);
    const audit = (await json(await h.call("GET", h.ws("/audit")))).items;
    assert.equal(audit[0].action, "mcp.add");
    assert.equal(audit[0].target, "local_1");
  });

  test("adds a remote server with headers and oauth, replaces an existing one, records mcp events", async () => {
    const since = h.services.events.cursor;
    const remote = { type: "remote", url: "https://x.test/mcp", headers: { Authorization: "Bearer a" }, oauth: false };
    assert.equal((await h.call("POST", h.ws("/mcp"), { name: "x", config: remote })).status, 200);
    const replaced = { type: "remote", url: "https://y.test/mcp", oauth: { clientId: "id", scope: "s" } };
    assert.equal((await h.call("POST", h.ws("/mcp"), { name: "x", config: replaced })).status, 200);
    assert.deepEqual(JSON.parse(await read("opencode.json")), { mcp: { x: replaced } });
    assert.deepEqual(
      h.services.events.since(h.wsId, since).map((e) => e.reason),
      ["mcp", "mcp"],
    );
  });

  test("invalid names are 400 invalid_name and write nothing", async () => {
    await writeFile(join(h.root, "opencode.jsonc"), JSONC);
    const before = await snapshot(h.root);
    for (const name of [
      "",
      "-lead",
      "has space",
      "dot.name",
      "a/b",
      "../x",
      "a\u0000b",
      "é",
      "x".repeat(129),
      "__proto__",
      "constructor",
      "prototype",
    ]) {
      const res = await h.call("POST", h.ws("/mcp"), { name, config: LOCAL });
      assert.equal(res.status, 400, JSON.stringify(name));
      assert.equal((await json(res)).code, "invalid_name", JSON.stringify(name));
    }
    // The allowed alphabet, including a leading underscore and an inner dash.
    assert.equal((await h.call("POST", h.ws("/mcp"), { name: "_A-z_09", config: LOCAL })).status, 200);
    const after = await snapshot(h.root);
    assert.notDeepEqual(after, before);
  });

  test("invalid configs are 400 invalid_payload naming the problem, and write nothing", async () => {
    await writeFile(join(h.root, "opencode.jsonc"), JSONC);
    const before = await snapshot(h.root);
    const cases: Array<[unknown, RegExp]> = [
      [{}, /type/],
      [{ type: "stdio", command: ["x"] }, /type/],
      [{ type: "local" }, /command/],
      [{ type: "local", command: [] }, /command/],
      [{ type: "local", command: "npx srv" }, /command/],
      [{ type: "local", command: ["x", 1] }, /command/],
      [{ type: "remote" }, /url/],
      [{ type: "remote", url: "" }, /url/],
      [{ type: "remote", url: "not a url" }, /url/],
      [{ type: "local", command: ["x"], enabled: "yes" }, /enabled/],
      [{ type: "local", command: ["x"], timeout: -1 }, /timeout/],
      [{ type: "local", command: ["x"], timeout: 1.5 }, /timeout/],
      [{ type: "local", command: ["x"], environment: { A: 1 } }, /environment/],
      [{ type: "local", command: ["x"], cwd: 3 }, /cwd/],
      [{ type: "remote", url: "https://x.test", headers: ["a"] }, /headers/],
      [{ type: "remote", url: "https://x.test", oauth: true }, /oauth/],
      [{ type: "remote", url: "https://x.test", oauth: { callbackPort: 70000 } }, /callbackPort/],
    ];
    for (const [config, pattern] of cases) {
      const res = await h.call("POST", h.ws("/mcp"), { name: "srv", config });
      assert.equal(res.status, 400, JSON.stringify(config));
      const body = await json(res);
      assert.equal(body.code, "invalid_payload", JSON.stringify(config));
      assert.match(body.message, pattern, JSON.stringify(config));
    }
    for (const body of [{ name: "srv" }, { name: "srv", config: ["x"] }]) {
      const res = await h.call("POST", h.ws("/mcp"), body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal((await json(res)).code, "invalid_payload");
    }
    // A name that is missing or not a string is a bad name, as with skills and commands.
    for (const body of [{ config: LOCAL }, { name: 5, config: LOCAL }]) {
      const res = await h.call("POST", h.ws("/mcp"), body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal((await json(res)).code, "invalid_name");
    }
    assert.equal((await h.call("POST", h.ws("/mcp"))).status, 400);
    assert.deepEqual(await snapshot(h.root), before);
  });

  test("other bad entries already on disk make the result unloadable: 400 invalid_config, file unchanged", async () => {
    const bad = '{\n  // a broken plugin list\n  "plugin": "not-an-array-is-fine-but-this-is": 1,\n}\n';
    // (that one does not even parse: 422)
    await writeFile(join(h.root, "opencode.jsonc"), bad);
    let res = await h.call("POST", h.ws("/mcp"), { name: "s", config: LOCAL });
    assert.equal(res.status, 422);
    assert.equal(await read("opencode.jsonc"), bad);

    const unloadable = '{\n  "command": { "c": { "description": "no template" } }\n}\n';
    await writeFile(join(h.root, "opencode.jsonc"), unloadable);
    res = await h.call("POST", h.ws("/mcp"), { name: "s", config: LOCAL });
    assert.equal(res.status, 400);
    assert.equal((await json(res)).code, "invalid_config");
    assert.equal(await read("opencode.jsonc"), unloadable);

    const notMap = '{ "mcp": ["x"] }\n';
    await writeFile(join(h.root, "opencode.jsonc"), notMap);
    res = await h.call("POST", h.ws("/mcp"), { name: "s", config: LOCAL });
    assert.equal(res.status, 400);
    assert.equal((await json(res)).code, "invalid_config");
    assert.equal(await read("opencode.jsonc"), notMap);
    assert.equal(await auditCount(), 0);
  });

  test("replacing a broken entry with a valid one is allowed (it repairs the config)", async () => {
    await writeFile(join(h.root, "opencode.json"), '{ "mcp": { "s": { "type": "local" } } }\n');
    assert.equal((await h.call("POST", h.ws("/mcp"), { name: "other", config: LOCAL })).status, 400);
    const res = await h.call("POST", h.ws("/mcp"), { name: "s", config: LOCAL });
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(await read("opencode.json")).mcp, { s: LOCAL });
  });

  test("a file edited on disk while approval is pending: 409 changed_since_approval, the edit kept, nothing written", async () => {
    await writeFile(join(h.root, "opencode.jsonc"), JSONC);
    await h.close();
    h = await createHarness({ approval: { mode: "manual", timeoutMs: 5000 } }, { root: h.root });
    const pending = h.call("POST", h.ws("/mcp"), { name: "s", config: LOCAL });
    const approval = await waitFor(() => h.services.approvals.list()[0]);
    assert.ok(approval);
    const edited = JSONC.replace('"docs": {', '"other": { "type": "remote", "url": "https://other.test/mcp" },\n    "docs": {');
    await writeFile(join(h.root, "opencode.jsonc"), edited);
    await h.host("POST", `/approvals/${approval.id}`, { reply: "allow" });
    const res = await pending;
    // The host approved bytes that are no longer what would be written: nothing is.
    const body = await expectError(res, 409, "changed_since_approval");
    assert.deepEqual(body.details.paths, ["opencode.jsonc"]);
    assert.equal(await read("opencode.jsonc"), edited);
    assert.equal((await auditEntries(h.root)).at(-1).outcome, "changed_since_approval");
  });

  test("a denied approval changes nothing; the approval names mcp.add and the file", async () => {
    await writeFile(join(h.root, "opencode.jsonc"), JSONC);
    await h.close();
    h = await createHarness({ approval: { mode: "manual", timeoutMs: 5000 } }, { root: h.root });
    const before = await snapshot(h.root);
    const pending = h.call("POST", h.ws("/mcp"), { name: "s", config: LOCAL });
    const approval = await waitFor(() => h.services.approvals.list()[0]);
    assert.ok(approval);
    assert.equal(approval.action, "mcp.add");
    assert.deepEqual(approval.paths, ["opencode.jsonc"]);
    await h.host("POST", `/approvals/${approval.id}`, { reply: "deny" });
    const res = await pending;
    assert.equal(res.status, 403);
    assert.equal((await json(res)).code, "write_denied");
    assert.deepEqual(await snapshot(h.root), before);
  });
});

describe("DELETE mcp", () => {
  test("removes the entry, keeps comments, answers the remaining items", async () => {
    await writeFile(join(h.root, "opencode.jsonc"), JSONC);
    await h.call("POST", h.ws("/mcp"), { name: "second", config: LOCAL });
    const since = h.services.events.cursor;
    const res = await h.call("DELETE", h.ws("/mcp/docs"));
    assert.equal(res.status, 200);
    assert.deepEqual((await json(res)).items, [{ name: "second", config: LOCAL, source: "config.project" }]);
    const text = await read("opencode.jsonc");
    assert.ok(text.includes("// our servers"));
    assert.ok(text.includes("/* keep me */"));
    assert.ok(!text.includes("docs.test"));
    assert.deepEqual(
      h.services.events.since(h.wsId, since).map((e) => e.reason),
      ["mcp"],
    );
    const audit = (await json(await h.call("GET", h.ws("/audit")))).items;
    assert.equal(audit[0].action, "mcp.remove");
    assert.equal(audit[0].target, "docs");
  });

  test("removing a broken entry repairs the config", async () => {
    await writeFile(join(h.root, "opencode.json"), '{ "mcp": { "bad": { "type": "remote" } }, "plugin": ["p"] }\n');
    assert.equal((await h.call("POST", h.ws("/plugins"), { spec: "q" })).status, 400);
    assert.equal((await h.call("DELETE", h.ws("/mcp/bad"))).status, 200);
    assert.deepEqual(JSON.parse(await read("opencode.json")), { mcp: {}, plugin: ["p"] });
  });

  test("an unknown name is 404 and writes nothing", async () => {
    await writeFile(join(h.root, "opencode.jsonc"), JSONC);
    const before = await snapshot(h.root);
    const res = await h.call("DELETE", h.ws("/mcp/missing"));
    assert.equal(res.status, 404);
    assert.equal((await json(res)).code, "not_found");
    await rm(join(h.root, "opencode.jsonc"));
    assert.equal((await h.call("DELETE", h.ws("/mcp/docs"))).status, 404);
    await writeFile(join(h.root, "opencode.jsonc"), JSONC);
    assert.deepEqual(await snapshot(h.root), before);
  });

  test("traversal-shaped, NUL, over-long and prototype names are refused and touch no file", async () => {
    await writeFile(join(h.root, "opencode.jsonc"), JSONC);
    const before = await snapshot(h.root);
    const cases: Array<[string, number]> = [
      ["..", 404], // normalised away by the URL parser
      ["..%2F..%2Foutside.txt", 400],
      ["%2E%2E", 404], // also a dot-dot segment to the URL parser
      ["x%2F..%2F..", 400],
      ["a%00b", 400],
      ["-x", 400],
      ["__proto__", 400],
      ["x".repeat(129), 400],
      ["../../outside.txt", 404], // normalised away by the URL parser: no such route
    ];
    for (const [name, status] of cases) {
      const res = await h.call("DELETE", h.ws(`/mcp/${name}`));
      assert.equal(res.status, status, name);
      if (status === 400) assert.equal((await json(res)).code, "invalid_name", name);
    }
    assert.deepEqual(await snapshot(h.root), before);
    assert.equal(await readFile(box.outside, "utf8"), "outside\n");
  });

  test("read-only refuses with 403 and writes nothing", async () => {
    await writeFile(join(h.root, "opencode.jsonc"), JSONC);
    await h.close();
    h = await createHarness({ readOnly: true }, { root: h.root });
    for (const res of [
      await h.call("DELETE", h.ws("/mcp/docs")),
      await h.call("POST", h.ws("/mcp"), { name: "s", config: LOCAL }),
      // Read-only is answered before the request is validated.
      await h.call("DELETE", h.ws("/mcp/unknown")),
      await h.call("POST", h.ws("/mcp"), { name: "-bad", config: {} }),
    ]) {
      assert.equal(res.status, 403);
      assert.equal((await json(res)).code, "read_only");
    }
    assert.equal(await read("opencode.jsonc"), JSONC);
  });
});
