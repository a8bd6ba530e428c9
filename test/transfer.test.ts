// GET /workspace/:id/export, POST /workspace/:id/import and /import/preview: whole-import
// validation (nothing written when any item is invalid), merge/replace, preview writes nothing,
// and export -> import into an empty workspace reproduces the export.
import assert from "node:assert/strict";
import { mkdir, readdir, readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import { createSandbox, type Harness, json, type Sandbox, snapshot, waitFor } from "./helpers/harness.js";

// Workspaces sit in one parent folder, beside a file no request may touch.
let box: Sandbox;
let h: Harness;
const extra: Harness[] = [];
const workspaceIn = (name: string, overrides = {}) => box.workspace(name, overrides);

beforeEach(async () => {
  box = await createSandbox("ows-transfer-");
  h = await workspaceIn("ws");
});
afterEach(async () => {
  await h.close();
  for (const x of extra.splice(0)) await x.close();
  await box.close();
});

const JSONC = `{
  // project config
  "theme": "dark", // trailing
  /* plugins */
  "plugin": ["opencode-foo@1"],
  "mcp": { "docs": { "type": "remote", "url": "https://docs.test/mcp" } }
}
`;
const SKILL_A = "---\nname: alpha\ndescription: Does alpha things\n---\n# Alpha\n\nUse it.\n";
const SKILL_B = "---\nname: beta\ndescription: Beta helper\nlicense: MIT\n---\nBody of beta.\n";
const CMD_X = "---\ndescription: Run x\nagent: build\nmodel: anthropic/claude\nsubtask: true\n---\nDo x with $ARGUMENTS\n";

async function populate(root: string) {
  await writeFile(join(root, "opencode.jsonc"), JSONC);
  await mkdir(join(root, ".opencode/skills/alpha"), { recursive: true });
  await writeFile(join(root, ".opencode/skills/alpha/SKILL.md"), SKILL_A);
  await mkdir(join(root, ".claude/skills/beta"), { recursive: true });
  await writeFile(join(root, ".claude/skills/beta/SKILL.md"), SKILL_B);
  await mkdir(join(root, ".opencode/skills/broken"), { recursive: true });
  await writeFile(join(root, ".opencode/skills/broken/SKILL.md"), "no frontmatter, not a skill\n");
  await mkdir(join(root, ".opencode/commands/sub"), { recursive: true });
  await writeFile(join(root, ".opencode/commands/x.md"), CMD_X);
  await writeFile(join(root, ".opencode/commands/plain.md"), "Just a template\n");
  await writeFile(join(root, ".opencode/commands/sub/nested.md"), "Nested\n");
  await writeFile(join(root, ".opencode/openwork.json"), '{ "reload": { "auto": true } }\n');
}

const withoutMeta = (e: Record<string, unknown>) => {
  const { workspaceId: _w, exportedAt: _e, ...rest } = e;
  return rest;
};
const read = (file: string, root = h.root) => readFile(join(root, file), "utf8");
const auditCount = async (x = h) => (await json(await x.call("GET", x.ws("/audit")))).items.length as number;

describe("GET export", () => {
  test("an empty workspace exports empty parts", async () => {
    const res = await h.call("GET", h.ws("/export"));
    assert.equal(res.status, 200);
    const body = await json(res);
    assert.equal(body.workspaceId, h.wsId);
    assert.equal(typeof body.exportedAt, "number");
    assert.deepEqual(withoutMeta(body), { opencode: {}, openwork: {}, skills: [], commands: [], agents: [] });
  });

  test("exports config, openwork, the workspace's skills (whole files) and its commands", async () => {
    await populate(h.root);
    const body = await json(await h.call("GET", h.ws("/export")));
    assert.deepEqual(body.opencode, {
      theme: "dark",
      plugin: ["opencode-foo@1"],
      mcp: { docs: { type: "remote", url: "https://docs.test/mcp" } },
    });
    assert.deepEqual(body.openwork, { reload: { auto: true } });
    assert.deepEqual(body.skills, [
      { name: "alpha", description: "Does alpha things", content: SKILL_A },
      { name: "beta", description: "Beta helper", content: SKILL_B },
    ]);
    // The nested `sub/nested` command cannot be imported by name, so it is not exported.
    assert.deepEqual(body.commands, [
      { name: "plain", template: "Just a template" },
      { name: "x", description: "Run x", template: "Do x with $ARGUMENTS", agent: "build", model: "anthropic/claude", subtask: true },
    ]);
  });

  test("skills of a parent folder are not exported as the workspace's", async () => {
    await mkdir(join(box.parent, ".opencode/skills/parental"), { recursive: true });
    await writeFile(join(box.parent, ".opencode/skills/parental/SKILL.md"), "---\nname: parental\ndescription: from above\n---\nx\n");
    const listed = (await json(await h.call("GET", h.ws("/skills")))).items.map((i: { name: string }) => i.name);
    assert.ok(listed.includes("parental"), "the listing sees the parent's skill");
    assert.deepEqual((await json(await h.call("GET", h.ws("/export")))).skills, []);
  });

  test("a skill folder symlinked to a place outside the workspace is not exported", async () => {
    await mkdir(join(box.parent, "shared/secret"), { recursive: true });
    await writeFile(join(box.parent, "shared/secret/SKILL.md"), "---\nname: secret\ndescription: s\n---\nsecret body\n");
    await mkdir(join(h.root, ".opencode/skills"), { recursive: true });
    await symlink(join(box.parent, "shared/secret"), join(h.root, ".opencode/skills/secret"));
    const body = await json(await h.call("GET", h.ws("/export")));
    assert.deepEqual(body.skills, []);
  });

  test("an unparseable config is a 422", async () => {
    await writeFile(join(h.root, "opencode.json"), "{ nope");
    const res = await h.call("GET", h.ws("/export"));
    assert.equal(res.status, 422);
    assert.equal((await json(res)).code, "invalid_file");
  });
});

describe("export -> import round trip", () => {
  test("importing an export into an empty workspace reproduces the export", async () => {
    await populate(h.root);
    const exported = await json(await h.call("GET", h.ws("/export")));
    const target = await workspaceIn("empty");
    extra.push(target);
    const since = target.services.events.cursor;
    const res = await target.call("POST", target.ws("/import"), exported);
    assert.equal(res.status, 200);
    const body = await json(res);
    assert.equal(body.ok, true);
    assert.equal(body.changed, true);
    assert.deepEqual(body.changes.skills, { added: ["alpha", "beta"], changed: [], removed: [] });
    assert.deepEqual(body.changes.commands, { added: ["plain", "x"], changed: [], removed: [] });
    assert.deepEqual(body.changes.opencode, { added: ["mcp", "plugin", "theme"], changed: [], removed: [] });
    const again = await json(await target.call("GET", target.ws("/export")));
    assert.deepEqual(withoutMeta(again), withoutMeta(exported));
    assert.equal(again.workspaceId, target.wsId);
    // Skills arrive in .opencode/skills byte for byte; commands are files again.
    assert.equal(await read(".opencode/skills/beta/SKILL.md", target.root), SKILL_B);
    assert.equal(await read(".opencode/commands/x.md", target.root), CMD_X);
    // One audited write, and one reload event per touched part.
    const audit = (await json(await target.call("GET", target.ws("/audit")))).items;
    assert.equal(audit.length, 1);
    assert.equal(audit[0].action, "config.import");
    assert.deepEqual(
      target.services.events
        .since(target.wsId, since)
        .map((e) => e.reason)
        .sort(),
      ["commands", "config", "mcp", "plugins", "skills"],
    );
    // Importing the same export again changes nothing and writes nothing.
    const before = await snapshot(target.root);
    const repeat = await json(await target.call("POST", target.ws("/import"), exported));
    assert.equal(repeat.changed, false);
    assert.deepEqual(await snapshot(target.root), before);
    assert.equal(await auditCount(target), 1);
  });
});

describe("POST import", () => {
  test("merge (the default) keeps other keys, comments, skills and commands", async () => {
    await populate(h.root);
    const res = await h.call("POST", h.ws("/import"), {
      opencode: { theme: "light", share: "disabled" },
      openwork: { extra: 1 },
      skills: [{ name: "gamma", content: "No frontmatter here.\n", description: "Gamma" }],
      commands: [{ name: "/y", template: "Do y", model: null }],
    });
    assert.equal(res.status, 200);
    const { changes } = await json(res);
    assert.deepEqual(changes.opencode, { added: ["share"], changed: ["theme"], removed: [] });
    assert.deepEqual(changes.openwork, { added: ["extra"], changed: [], removed: [] });
    const text = await read("opencode.jsonc");
    for (const kept of ["// project config", "/* plugins */", '"theme": "light", // trailing']) assert.ok(text.includes(kept), kept);
    assert.deepEqual(JSON.parse(await read(".opencode/openwork.json")), { reload: { auto: true }, extra: 1 });
    assert.equal(await read(".opencode/skills/gamma/SKILL.md"), "---\nname: gamma\ndescription: Gamma\n---\nNo frontmatter here.\n");
    assert.equal(await read(".opencode/commands/y.md"), "Do y\n");
    assert.equal(await read(".opencode/skills/alpha/SKILL.md"), SKILL_A);
    assert.equal(await read(".opencode/commands/x.md"), CMD_X);
  });

  test("replace sets the configs exactly and removes project skills and commands not imported", async () => {
    await populate(h.root);
    const res = await h.call("POST", h.ws("/import"), {
      opencode: { theme: "light" },
      openwork: {},
      skills: [{ name: "alpha", content: SKILL_A }],
      commands: [{ name: "x", content: CMD_X }],
      mode: { opencode: "replace", openwork: "replace", skills: "replace", commands: "replace" },
    });
    assert.equal(res.status, 200);
    const { changes } = await json(res);
    assert.deepEqual(changes.opencode, { added: [], changed: ["theme"], removed: ["mcp", "plugin"] });
    assert.deepEqual(changes.openwork, { added: [], changed: [], removed: ["reload"] });
    // alpha and x are unchanged; beta lives in .claude/skills (not ours to remove).
    assert.deepEqual(changes.skills, { added: [], changed: [], removed: [] });
    assert.deepEqual(changes.commands, { added: [], changed: [], removed: ["plain"] });
    const text = await read("opencode.jsonc");
    assert.ok(text.includes("// project config"));
    assert.deepEqual((await import("jsonc-parser")).parse(text), { theme: "light" });
    assert.deepEqual(JSON.parse(await read(".opencode/openwork.json")), {});
    const files = Object.keys(await snapshot(h.root)).sort();
    assert.ok(!files.includes(".opencode/commands/plain.md"));
    assert.ok(files.includes(".opencode/commands/sub/nested.md"), "nested commands are left alone");
    assert.ok(files.includes(".opencode/commands/x.md"));

    const second = await h.call("POST", h.ws("/import"), {
      skills: [{ name: "delta", content: "---\nname: delta\ndescription: d\n---\nd\n" }],
      mode: { skills: "replace" },
    });
    assert.deepEqual((await json(second)).changes.skills, { added: ["delta"], changed: [], removed: ["alpha"] });
    const after = Object.keys(await snapshot(h.root));
    assert.ok(!after.some((f) => f.startsWith(".opencode/skills/alpha/")));
    assert.ok(after.includes(".opencode/skills/delta/SKILL.md"));
    assert.ok(after.includes(".opencode/skills/broken/SKILL.md"), "a folder that is not a valid skill is left alone");
    assert.ok(after.includes(".claude/skills/beta/SKILL.md"));
  });

  test("replace with an empty list removes every project skill and command; a missing part is not touched", async () => {
    await populate(h.root);
    const res = await h.call("POST", h.ws("/import"), { skills: [], mode: { skills: "replace", commands: "replace" } });
    assert.equal(res.status, 200);
    const { changes } = await json(res);
    assert.deepEqual(changes.skills.removed, ["alpha"]);
    assert.deepEqual(changes.commands, { added: [], changed: [], removed: [] });
    assert.equal(await read(".opencode/commands/x.md"), CMD_X);
  });

  test("a command twin in .opencode/command/ is replaced, not left behind", async () => {
    await mkdir(join(h.root, ".opencode/command"), { recursive: true });
    await writeFile(join(h.root, ".opencode/command/t.md"), "old twin\n");
    const res = await h.call("POST", h.ws("/import"), { commands: [{ name: "t", template: "new" }] });
    assert.deepEqual((await json(res)).changes.commands, { added: [], changed: ["t"], removed: [] });
    const files = Object.keys(await snapshot(h.root));
    assert.ok(!files.includes(".opencode/command/t.md"));
    assert.equal(await read(".opencode/commands/t.md"), "new\n");
  });

  test("an invalid last item writes nothing at all (every part, every item)", async () => {
    await populate(h.root);
    const before = await snapshot(h.root);
    const good = {
      opencode: { theme: "light" },
      openwork: { a: 1 },
      skills: [
        { name: "one", content: "---\nname: one\ndescription: one\n---\n1\n" },
        { name: "two", content: "---\nname: two\ndescription: two\n---\n2\n" },
      ],
      commands: [{ name: "c1", template: "one" }],
    };
    const cases: Array<[Record<string, unknown>, number, string, string, number | undefined]> = [
      [{ ...good, commands: [...good.commands, { name: "c2", template: "   " }] }, 400, "invalid_payload", "commands", 1],
      [{ ...good, commands: [...good.commands, { name: "bad name", template: "t" }] }, 400, "invalid_name", "commands", 1],
      [{ ...good, commands: [...good.commands, { name: "c3", template: "t", subtask: "yes" }] }, 400, "invalid_payload", "commands", 1],
      [{ ...good, commands: [...good.commands, { name: "/c1", template: "again" }] }, 400, "invalid_payload", "commands", 1],
      [{ ...good, skills: [...good.skills, { name: "Bad_Name", content: "x" }] }, 400, "invalid_name", "skills", 2],
      [
        { ...good, skills: [...good.skills, { name: "three", content: "---\nname: other\ndescription: d\n---\n" }] },
        400,
        "invalid_payload",
        "skills",
        2,
      ],
      [{ ...good, skills: [...good.skills, { name: "three", content: "---\nname: three\n---\n" }] }, 422, "unprocessable", "skills", 2],
      [
        { ...good, skills: [...good.skills, { name: "three", content: "---js\nmodule.exports={}\n---\n" }] },
        400,
        "invalid_payload",
        "skills",
        2,
      ],
      [
        { ...good, skills: [...good.skills, { name: "one", content: "---\nname: one\ndescription: dup\n---\n" }] },
        400,
        "invalid_payload",
        "skills",
        2,
      ],
      [{ ...good, skills: [...good.skills, { name: "four", content: 7 }] }, 400, "invalid_payload", "skills", 2],
      [{ ...good, opencode: { mcp: { s: { type: "local" } } } }, 400, "invalid_config", "opencode", undefined],
      [{ ...good, opencode: { plugin: "not-an-array" } }, 400, "invalid_config", "opencode", undefined],
    ];
    for (const [body, status, code, part, index] of cases) {
      const res = await h.call("POST", h.ws("/import"), body);
      const answer = await json(res);
      const label = JSON.stringify(answer);
      assert.equal(res.status, status, label);
      assert.equal(answer.code, code, label);
      assert.equal(answer.details.part, part, label);
      assert.equal(answer.details.index, index, label);
      // The same answer from the preview.
      const preview = await h.call("POST", h.ws("/import/preview"), body);
      assert.equal(preview.status, status, label);
      assert.equal((await json(preview)).code, code, label);
    }
    assert.deepEqual(await snapshot(h.root), before);
    assert.equal(await auditCount(), 0);
  });

  test("an existing broken entry is not carried by a merge; replace can repair it", async () => {
    const bad = '{\n  // broken\n  "mcp": { "s": { "type": "local" } }\n}\n';
    await writeFile(join(h.root, "opencode.jsonc"), bad);
    const merge = await h.call("POST", h.ws("/import"), { opencode: { theme: "x" } });
    assert.equal(merge.status, 400);
    assert.equal((await json(merge)).code, "invalid_config");
    assert.equal(await read("opencode.jsonc"), bad);
    const replace = await h.call("POST", h.ws("/import"), { opencode: { theme: "x" }, mode: { opencode: "replace" } });
    assert.equal(replace.status, 200);
    assert.deepEqual((await import("jsonc-parser")).parse(await read("opencode.jsonc")), { theme: "x" });
  });

  test("bad bodies are 400", async () => {
    const before = await snapshot(h.root);
    const cases: Array<[unknown, string]> = [
      [{}, "invalid_payload"],
      [{ mode: { skills: "replace" } }, "invalid_payload"],
      [{ skills: [], mode: { skills: "overwrite" } }, "invalid_payload"],
      [{ skills: [], mode: { plugins: "merge" } }, "invalid_payload"],
      [{ opencode: [1] }, "invalid_payload"],
      [{ skills: {} }, "invalid_payload"],
      [{ skills: ["x"] }, "invalid_payload"],
      [{ commands: [null] }, "invalid_payload"],
      [{ openwork: { __proto__x: 1, nested: JSON.parse('{"__proto__": {"p": 1}}') } }, "invalid_payload"],
    ];
    for (const [body, code] of cases) {
      for (const path of ["/import", "/import/preview"]) {
        const res = await h.call("POST", h.ws(path), typeof body === "string" ? body : JSON.stringify(body));
        assert.equal(res.status, 400, `${path} ${JSON.stringify(body)}`);
        assert.equal((await json(res)).code, code);
      }
    }
    assert.equal((await h.call("POST", h.ws("/import"))).status, 400);
    assert.equal((await h.call("POST", h.ws("/import"), "x", { "Content-Type": "text/plain" })).status, 415);
    assert.deepEqual(await snapshot(h.root), before);
  });

  test("traversal-shaped, NUL and over-long names are refused and touch no file", async () => {
    const before = await snapshot(h.root);
    const skillNames = ["..", "../outside", "a/b", "..%2Foutside", "a\u0000b", "x".repeat(65), ".opencode"];
    for (const name of skillNames) {
      const res = await h.call("POST", h.ws("/import"), { skills: [{ name, content: "---\ndescription: d\n---\nx\n" }] });
      assert.equal(res.status, 400, name);
      assert.equal((await json(res)).code, "invalid_name", name);
    }
    const commandNames = ["..", "../../outside", "a/b", "a\\b", "a\u0000b", "x".repeat(129), "a.md"];
    for (const name of commandNames) {
      const res = await h.call("POST", h.ws("/import"), { commands: [{ name, template: "t" }] });
      assert.equal(res.status, 400, name);
      assert.equal((await json(res)).code, "invalid_name", name);
    }
    assert.deepEqual(await snapshot(h.root), before);
    assert.equal(await readFile(box.outside, "utf8"), "outside\n");
  });

  test("skill and command folders symlinked outside the workspace are refused with path_escape", async () => {
    const elsewhere = join(box.parent, "elsewhere");
    await mkdir(elsewhere);
    await mkdir(join(h.root, ".opencode"), { recursive: true });
    await symlink(elsewhere, join(h.root, ".opencode/skills"));
    await symlink(elsewhere, join(h.root, ".opencode/commands"));
    const before = await snapshot(box.parent);
    const bodies = [
      { skills: [{ name: "evil", content: "---\nname: evil\ndescription: d\n---\n" }] },
      { commands: [{ name: "evil", template: "t" }] },
    ];
    for (const body of bodies) {
      for (const path of ["/import", "/import/preview"]) {
        const res = await h.call("POST", h.ws(path), { opencode: { theme: "x" }, ...body });
        assert.equal(res.status, 400, path);
        const answer = await json(res);
        assert.equal(answer.code, "path_escape");
        assert.equal(answer.details.part, Object.keys(body)[0]);
      }
    }
    assert.deepEqual(await snapshot(box.parent), before);
    assert.deepEqual(await readdir(elsewhere), []);
  });

  test("a denied import writes nothing; the approval lists the files", async () => {
    await h.close();
    h = await workspaceIn("ws", { approval: { mode: "manual", timeoutMs: 5000 } });
    await populate(h.root);
    const before = await snapshot(h.root);
    const pending = h.call("POST", h.ws("/import"), {
      opencode: { theme: "light" },
      skills: [{ name: "gamma", content: "---\nname: gamma\ndescription: g\n---\n" }],
    });
    const approval = await waitFor(() => h.services.approvals.list()[0]);
    assert.ok(approval);
    assert.equal(approval.action, "config.import");
    assert.deepEqual(approval.paths, ["opencode.jsonc", ".opencode/skills/gamma/SKILL.md"]);
    assert.match(approval.summary, /opencode \(merge: \+0 ~1 -0\), skills \(merge: \+1 ~0 -0\)/);
    await h.host("POST", `/approvals/${approval.id}`, { reply: "deny" });
    const res = await pending;
    assert.equal(res.status, 403);
    assert.equal((await json(res)).code, "write_denied");
    assert.deepEqual(await snapshot(h.root), before);
  });

  test("read-only refuses the import with 403; the preview still answers", async () => {
    await h.close();
    h = await workspaceIn("ws", { readOnly: true });
    const body = { opencode: { theme: "x" } };
    const res = await h.call("POST", h.ws("/import"), body);
    assert.equal(res.status, 403);
    assert.equal((await json(res)).code, "read_only");
    const preview = await h.call("POST", h.ws("/import/preview"), body);
    assert.equal(preview.status, 200);
    assert.deepEqual(await snapshot(h.root), {});
  });
});

describe("POST import/preview", () => {
  test("reports what would change per part and writes nothing, without asking for approval", async () => {
    await h.close();
    // Manual approval and nobody to answer: the preview must not wait for one.
    h = await workspaceIn("ws", { approval: { mode: "manual", timeoutMs: 200 } });
    await populate(h.root);
    const before = await snapshot(h.root);
    const since = h.services.events.cursor;
    const res = await h.call("POST", h.ws("/import/preview"), {
      opencode: { theme: "light", model: "m" },
      openwork: { reload: { auto: true } },
      skills: [
        { name: "alpha", content: SKILL_A },
        { name: "beta", content: "---\nname: beta\ndescription: new beta\n---\n" },
        { name: "gamma", content: "---\nname: gamma\ndescription: g\n---\n" },
      ],
      commands: [
        { name: "x", content: CMD_X },
        { name: "plain", template: "Changed" },
      ],
      mode: { opencode: "replace", skills: "replace", commands: "replace" },
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await json(res), {
      opencode: { added: ["model"], changed: ["theme"], removed: ["mcp", "plugin"] },
      openwork: { added: [], changed: [], removed: [] },
      // beta exists only in .claude/skills: writing it to .opencode/skills adds it there.
      skills: { added: ["beta", "gamma"], changed: [], removed: [] },
      commands: { added: [], changed: ["plain"], removed: [] },
      agents: { added: [], changed: [], removed: [] },
    });
    assert.deepEqual(await snapshot(h.root), before);
    assert.equal(h.services.events.since(h.wsId, since).length, 0);
    assert.equal(h.services.approvals.list().length, 0);
    assert.equal(await auditCount(), 0);
  });
});
