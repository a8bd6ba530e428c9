// Agents (SPEC 10) in-process: listing files (both folders, subfolders) and the config's `agent`
// map, reading one, writes through the pipeline, refusing what OpenCode 1.18 would refuse (the
// field named, every file left as it was), delete, and export/import.
import assert from "node:assert/strict";
import { mkdir, readFile, symlink } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { createHarness, createSandbox, expectError, type Harness, json, putFile, snapshot } from "./helpers/harness.js";

const agentFile = (root: string, dir: string, name: string) => join(root, ".opencode", dir, `${name}.md`);

describe("agents", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await createHarness();
  });
  afterEach(() => h.close());

  it("lists files of .opencode/agents and .opencode/agent (subfolders too) and the config's agent map", async () => {
    await putFile(agentFile(h.root, "agents", "review"), "---\ndescription: Reviews\nmode: subagent\nmodel: a/b\n---\nReview.\n");
    await putFile(agentFile(h.root, "agents", "team/docs"), "---\ndescription: Writes docs\n---\nDocs.\n");
    await putFile(agentFile(h.root, "agent", "legacy"), "---\ndescription: Singular folder\n---\nOld.\n");
    await putFile(agentFile(h.root, "agent", "review"), "---\ndescription: Loses to agents/\n---\nx\n");
    await putFile(agentFile(h.root, "agents", "broken"), "---\ndescription: [unclosed\n---\nx\n");
    await putFile(
      join(h.root, "opencode.json"),
      JSON.stringify({ agent: { planner: { description: "From config", mode: "primary" }, review: { description: "shadowed" } } }),
    );
    const res = await h.call("GET", h.ws("/agents"));
    assert.equal(res.status, 200);
    assert.deepEqual((await json(res)).items, [
      { name: "legacy", description: "Singular folder", source: "file", path: ".opencode/agent/legacy.md" },
      { name: "planner", description: "From config", mode: "primary", source: "config" },
      { name: "review", description: "Reviews", mode: "subagent", model: "a/b", source: "file", path: ".opencode/agents/review.md" },
      { name: "team/docs", description: "Writes docs", source: "file", path: ".opencode/agents/team/docs.md" },
    ]);
  });

  it("reads one agent: a file with its content, a config entry with its config", async () => {
    const text = "---\ndescription: Writes docs\n---\nDocs.\n";
    await putFile(agentFile(h.root, "agents", "team/docs"), text);
    await putFile(join(h.root, "opencode.json"), JSON.stringify({ agent: { planner: { description: "P", prompt: "Plan." } } }));
    const file = await json(await h.call("GET", h.ws("/agents/team/docs")));
    assert.deepEqual(file, {
      item: { name: "team/docs", description: "Writes docs", source: "file", path: ".opencode/agents/team/docs.md" },
      content: text,
    });
    const config = await json(await h.call("GET", h.ws("/agents/planner")));
    assert.deepEqual(config, {
      item: { name: "planner", description: "P", source: "config" },
      config: { description: "P", prompt: "Plan." },
    });
    await expectError(await h.call("GET", h.ws("/agents/nope")), 404, "not_found");
    await expectError(await h.call("GET", h.ws("/agents/..%2Fsecret")), 400, "invalid_name");
  });

  it("writes an agent from fields: only keys with a value, the prompt as body; audited, with reload reason agents", async () => {
    const res = await h.call("POST", h.ws("/agents"), {
      name: "review",
      description: "Reviews diffs",
      mode: "subagent",
      model: null,
      temperature: 0.3,
      tools: { bash: false },
      permission: { bash: { "git *": "allow", "*": "ask" }, edit: "deny" },
      prompt: "  Review the diff.  ",
    });
    assert.equal(res.status, 200);
    const body = await json(res);
    assert.deepEqual(body.item, {
      name: "review",
      description: "Reviews diffs",
      mode: "subagent",
      source: "file",
      path: ".opencode/agents/review.md",
    });
    assert.deepEqual(
      body.items.map((i: { name: string }) => i.name),
      ["review"],
    );
    assert.equal(
      await readFile(agentFile(h.root, "agents", "review"), "utf8"),
      '---\ndescription: Reviews diffs\nmode: subagent\ntemperature: 0.3\ntools:\n  bash: false\npermission:\n  bash:\n    git *: allow\n    "*": ask\n  edit: deny\n---\nReview the diff.\n',
    );
    const audit = await json(await h.call("GET", h.ws("/audit")));
    assert.equal(audit.items[0].action, "agents.upsert");
    const events = await json(await h.call("GET", h.ws("/events?since=0")));
    assert.deepEqual(
      events.items.map((e: { reason: string }) => e.reason),
      ["agents"],
    );
  });

  it("writes content byte for byte, adds a missing description, and removes a twin in .opencode/agent", async () => {
    const content = "---\n# keep this comment\ndescription: Docs\ncolor: accent\ncustom: kept\n---\nWrite docs.\n";
    await putFile(agentFile(h.root, "agent", "docs"), "---\ndescription: old twin\n---\nx\n");
    assert.equal((await h.call("POST", h.ws("/agents"), { name: "docs", content })).status, 200);
    assert.equal(await readFile(agentFile(h.root, "agents", "docs"), "utf8"), content);
    assert.deepEqual(Object.keys(await snapshot(join(h.root, ".opencode", "agent"))), [], "the twin is gone");
    assert.equal(
      (await h.call("POST", h.ws("/agents"), { name: "plain", content: "Just a prompt.\n", description: "Given apart" })).status,
      200,
    );
    assert.equal(await readFile(agentFile(h.root, "agents", "plain"), "utf8"), "---\ndescription: Given apart\n---\nJust a prompt.\n");
  });

  it("refuses what would make OpenCode refuse the directory, naming the field, and writes nothing", async () => {
    await putFile(agentFile(h.root, "agents", "keep"), "---\ndescription: untouched\n---\nx\n");
    const before = await snapshot(h.root);
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ name: "a", prompt: "x" }, "description"],
      [{ name: "a", description: "d", mode: "boss" }, "mode"],
      [{ name: "a", description: "d", mode: "Primary" }, "mode"],
      [{ name: "a", description: "d", temperature: "0.5" }, "temperature"],
      [{ name: "a", description: "d", top_p: "x" }, "top_p"],
      [{ name: "a", description: "d", steps: "many" }, "steps"],
      [{ name: "a", description: "d", tools: "bash" }, "tools"],
      [{ name: "a", description: "d", tools: { bash: "yes" } }, "tools.bash"],
      [{ name: "a", description: "d", permission: ["allow"] }, "permission"],
      [{ name: "a", description: "d", permission: { bash: "maybe" } }, "permission.bash"],
      [{ name: "a", description: "d", permission: { bash: { "git *": "sure" } } }, "permission.bash.git *"],
      [{ name: "a", description: "d", color: "notacolor" }, "color"],
      [{ name: "a", description: "d", hidden: "x" }, "hidden"],
      [{ name: "a", description: "d", options: "x" }, "options"],
      [{ name: "a", description: 5 }, "description"],
      [{ name: "a", content: "---\ndescription: d\nmodel: null\n---\nx\n" }, "model"],
      [{ name: "a", content: "---\ndescription: d\nmode: null\n---\nx\n" }, "mode"],
      [{ name: "a", content: "---\ndescription: d\ntemperature: .inf\n---\nx\n" }, "temperature"],
      [{ name: "a", content: "---\ndescription: 2024-01-01\n---\nx\n" }, "description"],
      [{ name: "a", content: "---\ndescription: d\n<<: {mode: boss}\n---\nx\n" }, "mode"],
      [{ name: "a", content: "---\ndescription: d\nname: other\n---\nx\n" }, "name"],
      [{ name: "a", content: 5 }, "content"],
    ];
    for (const [input, field] of cases) {
      const body = await expectError(await h.call("POST", h.ws("/agents"), input), 400, "invalid_payload");
      assert.equal(body.details?.field, field, `${JSON.stringify(input)} -> ${JSON.stringify(body)}`);
    }
    // Not YAML (`---js` would be evaluated by the engine), not parsing, duplicate keys.
    for (const content of [
      '---js\n{description: "x"}\n---\nx\n',
      "---\ndescription: [unclosed\n---\nx\n",
      "---\ndescription: a\ndescription: b\n---\nx\n",
    ]) {
      await expectError(await h.call("POST", h.ws("/agents"), { name: "a", content }), 400, "invalid_payload");
    }
    for (const name of ["", "../x", "a/../b", "a b", "/abs", "a/", "a/b/c/d/e", "x".repeat(129), 5]) {
      await expectError(await h.call("POST", h.ws("/agents"), { name, description: "d" }), 400, "invalid_name");
    }
    assert.deepEqual(await snapshot(h.root), before);
    const audit = await json(await h.call("GET", h.ws("/audit")));
    assert.deepEqual(audit.items, []);
  });

  it("keeps keys OpenCode ignores, and accepts what it accepts", async () => {
    const content = "---\ndescription: d\nfoo: null\ntemperature: 7\npermission: allow\nprompt: ignored\nmaxSteps: 3\n---\nx\n";
    assert.equal((await h.call("POST", h.ws("/agents"), { name: "lenient", content })).status, 200);
    assert.equal(await readFile(agentFile(h.root, "agents", "lenient"), "utf8"), content);
  });

  it("deletes the files of an agent in both folders; 404 for unknown and config-only agents", async () => {
    await putFile(agentFile(h.root, "agents", "team/docs"), "---\ndescription: d\n---\nx\n");
    await putFile(agentFile(h.root, "agent", "team/docs"), "---\ndescription: twin\n---\nx\n");
    await putFile(join(h.root, "opencode.json"), JSON.stringify({ agent: { planner: { description: "P" } } }));
    const res = await h.call("DELETE", h.ws("/agents/team/docs"));
    assert.equal(res.status, 200);
    const body = await json(res);
    assert.equal(body.ok, true);
    assert.deepEqual(
      body.items.map((i: { name: string }) => i.name),
      ["planner"],
    );
    assert.deepEqual(
      Object.keys(await snapshot(h.root)).filter((f) => f.endsWith(".md")),
      [],
    );
    await expectError(await h.call("DELETE", h.ws("/agents/team/docs")), 404, "not_found");
    const config = await expectError(await h.call("DELETE", h.ws("/agents/planner")), 404, "not_found");
    assert.equal(config.details.source, "config");
  });

  it("refuses to write or delete through a symlink that leads out of the workspace", async () => {
    const sandbox = await createSandbox();
    const w = await sandbox.workspace();
    try {
      await mkdir(join(w.root, ".opencode"), { recursive: true });
      await symlink(sandbox.parent, join(w.root, ".opencode", "agents"));
      const before = await snapshot(sandbox.parent);
      await expectError(await w.call("POST", w.ws("/agents"), { name: "x", description: "d" }), 400, "path_escape");
      assert.deepEqual(await snapshot(sandbox.parent), before);
    } finally {
      await w.close();
      await sandbox.close();
    }
  });

  it("refuses a config whose agent map OpenCode would refuse", async () => {
    const body = await expectError(
      await h.call("PATCH", h.ws("/config"), { opencode: { agent: { y: { description: "d", mode: "boss" } } } }),
      400,
      "invalid_config",
    );
    assert.match(body.message, /agent\.y\.mode/);
    assert.equal(
      (await h.call("PATCH", h.ws("/config"), { opencode: { agent: { y: { description: "d", mode: "subagent" } } } })).status,
      200,
    );
  });

  it("exports agent files and imports them (merge keeps others, replace removes them), all or nothing", async () => {
    await putFile(agentFile(h.root, "agents", "old"), "---\ndescription: Old\n---\nx\n");
    await putFile(agentFile(h.root, "agents", "team/docs"), "---\ndescription: Docs\n---\nDocs.\n");
    const exported = await json(await h.call("GET", h.ws("/export")));
    assert.deepEqual(exported.agents, [
      { name: "old", description: "Old", content: "---\ndescription: Old\n---\nx\n" },
      { name: "team/docs", description: "Docs", content: "---\ndescription: Docs\n---\nDocs.\n" },
    ]);

    const other = await createHarness();
    try {
      await putFile(agentFile(other.root, "agents", "local"), "---\ndescription: Local\n---\nx\n");
      const merged = await json(await other.call("POST", other.ws("/import"), { agents: exported.agents }));
      assert.deepEqual(merged.changes.agents, { added: ["old", "team/docs"], changed: [], removed: [] });
      assert.equal(await readFile(agentFile(other.root, "agents", "team/docs"), "utf8"), "---\ndescription: Docs\n---\nDocs.\n");

      const before = await snapshot(other.root);
      const bad = await expectError(
        await other.call("POST", other.ws("/import"), {
          agents: [
            { name: "fine", description: "d" },
            { name: "bad", description: "d", mode: "boss" },
          ],
        }),
        400,
        "invalid_payload",
      );
      assert.equal(bad.details.part, "agents");
      assert.equal(bad.details.index, 1);
      assert.equal(bad.details.field, "mode");
      assert.deepEqual(await snapshot(other.root), before);

      const replaced = await json(
        await other.call("POST", other.ws("/import"), {
          agents: [{ name: "old", content: "---\ndescription: Old\n---\nx\n" }],
          mode: { agents: "replace" },
        }),
      );
      assert.deepEqual(replaced.changes.agents, { added: [], changed: [], removed: ["local", "team/docs"] });
      assert.deepEqual(
        (await json(await other.call("GET", other.ws("/agents")))).items.map((i: { name: string }) => i.name),
        ["old"],
      );
    } finally {
      await other.close();
    }
  });
});
