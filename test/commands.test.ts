// Commands API (SPEC section 4 "Commands" and the name/path rules), through HTTP.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync } from "node:fs";
import { mkdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { planCommandUpsert, renderCommandFile } from "../src/workspace/commands.js";
import { createHarness, expectError, HOST_TOKEN, json, putFile, snapshot, tempDir, waitFor } from "./helpers/harness.js";

// The global commands folder comes from XDG_CONFIG_HOME: point it at a temp dir for this process.
const fakeHome = mkdtempSync(join(tmpdir(), "ows-home-"));
process.env.HOME = fakeHome;
process.env.XDG_CONFIG_HOME = join(fakeHome, ".config");
mkdirSync(process.env.XDG_CONFIG_HOME, { recursive: true });
after(() => rm(fakeHome, { recursive: true, force: true }));

async function withHarness(options: Parameters<typeof createHarness>[0] = {}) {
  const base = await tempDir("ows-commands-");
  await mkdir(join(base, ".git"));
  const ws = join(base, "ws");
  const outside = join(base, "outside");
  await mkdir(ws);
  await putFile(join(outside, "secret.md"), "---\ndescription: outside\n---\nDo not touch\n");
  const h = await createHarness(options, { root: ws });
  return {
    base,
    ws,
    outside,
    h,
    async close() {
      await h.close();
      await rm(base, { recursive: true, force: true });
    },
  };
}

const cmdFile = (ws: string, name: string) => join(ws, ".opencode/commands", `${name}.md`);

describe("GET /workspace/:id/commands", () => {
  let t: Awaited<ReturnType<typeof withHarness>>;
  before(async () => {
    t = await withHarness();
    const oc = join(t.ws, ".opencode");
    await putFile(
      join(oc, "commands/full.md"),
      "---\ndescription: Full one\nagent: build\nmodel: anthropic/claude\nsubtask: true\n---\n\nDo $ARGUMENTS\n\n",
    );
    await putFile(join(oc, "commands/bare.md"), "Just a template\n");
    await putFile(join(oc, "command/singular.md"), "---\ndescription: From command/\n---\nSingular\n");
    await putFile(join(oc, "commands/sub/nested.md"), "Nested template\n");
    await putFile(join(oc, "commands/sub/deeper/x.md"), "Deeper\n");
    await putFile(join(oc, "commands/dup.md"), "From commands/\n");
    await putFile(join(oc, "command/dup.md"), "From command/\n");
    await putFile(join(oc, "commands/nulls.md"), "---\nmodel: null\nagent: null\nsubtask: maybe\n---\nHand edited\n");
    await putFile(join(oc, "commands/broken.md"), "---\ndescription: [oops\n---\nBroken\n");
    await putFile(join(oc, "commands/js.md"), "---js\n{ description: 'no' }\n---\nJS\n");
    await putFile(join(oc, "commands/notes.txt"), "not markdown");
  });
  after(() => t.close());

  test("lists commands/ and command/ with subfolders; first wins; bad files skipped", async () => {
    const res = await t.h.call("GET", t.h.ws("/commands"));
    assert.equal(res.status, 200);
    const { items } = await json(res);
    assert.deepEqual(items, [
      { name: "bare", template: "Just a template", model: null, scope: "workspace" },
      { name: "dup", template: "From commands/", model: null, scope: "workspace" },
      {
        name: "full",
        description: "Full one",
        template: "Do $ARGUMENTS",
        agent: "build",
        model: "anthropic/claude",
        subtask: true,
        scope: "workspace",
      },
      { name: "nulls", template: "Hand edited", model: null, scope: "workspace" },
      { name: "singular", description: "From command/", template: "Singular", model: null, scope: "workspace" },
      { name: "sub/deeper/x", template: "Deeper", model: null, scope: "workspace" },
      { name: "sub/nested", template: "Nested template", model: null, scope: "workspace" },
    ]);
    const scoped = await json(await t.h.call("GET", t.h.ws("/commands?scope=workspace")));
    assert.deepEqual(scoped.items, items);
  });

  test("?scope=global needs the owner scope (the host token)", async () => {
    const alone = await expectError(await t.h.call("GET", t.h.ws("/commands?scope=global")), 403, "insufficient_scope");
    assert.equal(alone.details.required, "owner");
    await expectError(
      await t.h.call("GET", t.h.ws("/commands?scope=global"), undefined, { "X-OpenWork-Host-Token": "wrong" }),
      403,
      "insufficient_scope",
    );
  });

  test("?scope=global with the host token lists ~/.config/opencode/commands", async () => {
    await putFile(join(fakeHome, ".config/opencode/commands/global-one.md"), "---\ndescription: Global\n---\nGlobal template\n");
    const res = await t.h.call("GET", t.h.ws("/commands?scope=global"), undefined, { "X-OpenWork-Host-Token": HOST_TOKEN });
    assert.equal(res.status, 200);
    assert.deepEqual((await json(res)).items, [
      { name: "global-one", description: "Global", template: "Global template", model: null, scope: "global" },
    ]);
  });

  test("an unknown scope -> 400", async () => {
    await expectError(await t.h.call("GET", t.h.ws("/commands?scope=everything")), 400, "invalid_payload");
  });
});

describe("POST /workspace/:id/commands", () => {
  let t: Awaited<ReturnType<typeof withHarness>>;
  before(async () => {
    t = await withHarness();
  });
  after(() => t.close());

  test("writes only keys with a value; model null writes no model; no null anywhere; leading / stripped", async () => {
    const res = await t.h.call("POST", t.h.ws("/commands"), {
      name: "/review",
      description: "Review: the diff",
      template: "  Review $ARGUMENTS\n\nCarefully.  \n",
      agent: "plan",
      model: null,
      subtask: false,
    });
    assert.equal(res.status, 200);
    const text = await readFile(cmdFile(t.ws, "review"), "utf8");
    assert.equal(text, '---\ndescription: "Review: the diff"\nagent: plan\nsubtask: false\n---\nReview $ARGUMENTS\n\nCarefully.\n');
    assert.ok(!/null/.test(text) && !/^model:/m.test(text) && !/^name:/m.test(text));
    const { items } = await json(res);
    assert.deepEqual(items, [
      {
        name: "review",
        description: "Review: the diff",
        template: "Review $ARGUMENTS\n\nCarefully.",
        agent: "plan",
        model: null,
        subtask: false,
        scope: "workspace",
      },
    ]);
  });

  test("template only: no frontmatter at all", async () => {
    const res = await t.h.call("POST", t.h.ws("/commands"), {
      name: "plain",
      template: "Hello",
      description: "",
      agent: null,
      subtask: null,
    });
    assert.equal(res.status, 200);
    assert.equal(await readFile(cmdFile(t.ws, "plain"), "utf8"), "Hello\n");
  });

  test("a template starting with --- gets an empty frontmatter so it stays the template", async () => {
    const res = await t.h.call("POST", t.h.ws("/commands"), { name: "dashes", template: "---\nnot: yaml\n---\nrest" });
    assert.equal(res.status, 200);
    assert.equal(await readFile(cmdFile(t.ws, "dashes"), "utf8"), "---\n---\n---\nnot: yaml\n---\nrest\n");
    const { items } = await json(res);
    assert.equal(items.find((i: any) => i.name === "dashes").template, "---\nnot: yaml\n---\nrest");
  });

  test("model and subtask true are written; values YAML could misread are quoted", async () => {
    const res = await t.h.call("POST", t.h.ws("/commands"), {
      name: "Mixed_Case-1",
      template: "T",
      model: "openai/gpt-5",
      subtask: true,
      agent: "yes",
      description: "null",
    });
    assert.equal(res.status, 200);
    assert.equal(
      await readFile(cmdFile(t.ws, "Mixed_Case-1"), "utf8"),
      '---\ndescription: "null"\nagent: "yes"\nmodel: openai/gpt-5\nsubtask: true\n---\nT\n',
    );
    const item = (await json(res)).items.find((i: any) => i.name === "Mixed_Case-1");
    assert.deepEqual(item, {
      name: "Mixed_Case-1",
      description: "null",
      template: "T",
      agent: "yes",
      model: "openai/gpt-5",
      subtask: true,
      scope: "workspace",
    });
  });

  test("upsert replaces a hand-edited file (dropping its name:, null and bad subtask)", async () => {
    await putFile(cmdFile(t.ws, "edited"), "---\nname: other\nmodel: null\nsubtask: sometimes\n---\nOld\n");
    const before = t.h.services.events.since(t.h.wsId).length;
    const res = await t.h.call("POST", t.h.ws("/commands"), { name: "edited", template: "New", model: null });
    assert.equal(res.status, 200);
    assert.equal(await readFile(cmdFile(t.ws, "edited"), "utf8"), "New\n");
    const events = t.h.services.events.since(t.h.wsId);
    assert.equal(events.length, before + 1);
    assert.equal(events.at(-1)!.reason, "commands");
    const audit = await json(await t.h.call("GET", t.h.ws("/audit?limit=1")));
    assert.equal(audit.items[0].action, "commands.upsert");
    assert.equal(audit.items[0].target, "edited");
  });

  describe("refusals leave every file as it was", () => {
    const cases: Array<[string, unknown, string]> = [
      ["template missing", { name: "x" }, "invalid_payload"],
      ["template blank", { name: "x", template: "  \n\t" }, "invalid_payload"],
      ["template null", { name: "x", template: null }, "invalid_payload"],
      ["template not a string", { name: "x", template: ["a"] }, "invalid_payload"],
      ["subtask not boolean", { name: "x", template: "t", subtask: "yes" }, "invalid_payload"],
      ["subtask a number", { name: "x", template: "t", subtask: 1 }, "invalid_payload"],
      ["model not a string", { name: "x", template: "t", model: 5 }, "invalid_payload"],
      ["agent an object", { name: "x", template: "t", agent: {} }, "invalid_payload"],
      ["description a number", { name: "x", template: "t", description: 1 }, "invalid_payload"],
      ["body an array", [{ name: "x" }], "invalid_payload"],
      ["name missing", { template: "t" }, "invalid_name"],
      ["name empty", { name: "", template: "t" }, "invalid_name"],
      ["name only /", { name: "/", template: "t" }, "invalid_name"],
      ["name with space", { name: "a b", template: "t" }, "invalid_name"],
      ["name with dot", { name: "a.b", template: "t" }, "invalid_name"],
      ["name ..", { name: "..", template: "t" }, "invalid_name"],
      ["name ../outside/secret", { name: "../outside/secret", template: "t" }, "invalid_name"],
      ["name a/b", { name: "a/b", template: "t" }, "invalid_name"],
      ["name absolute", { name: "/etc/passwd", template: "t" }, "invalid_name"],
      ["name backslash", { name: "..\\x", template: "t" }, "invalid_name"],
      ["name NUL", { name: "a\u0000", template: "t" }, "invalid_name"],
      ["name 129 chars", { name: "a".repeat(129), template: "t" }, "invalid_name"],
      ["name a number", { name: 12, template: "t" }, "invalid_name"],
      ["content instead of template (an import-only form)", { name: "x", content: "---\ndescription: d\n---\nhello\n" }, "invalid_payload"],
    ];
    for (const [label, body, code] of cases) {
      test(`${label} -> 400 ${code}`, async () => {
        const before = await snapshot(t.base);
        await expectError(await t.h.call("POST", t.h.ws("/commands"), body), 400, code);
        assert.deepEqual(await snapshot(t.base), before);
      });
    }
    test("a 128-character name is accepted", async () => {
      assert.equal((await t.h.call("POST", t.h.ws("/commands"), { name: "b".repeat(128), template: "t" })).status, 200);
    });
  });
});

describe("DELETE /workspace/:id/commands/:name", () => {
  let t: Awaited<ReturnType<typeof withHarness>>;
  before(async () => {
    t = await withHarness();
    await putFile(cmdFile(t.ws, "keep"), "Keep\n");
    await putFile(cmdFile(t.ws, "gone"), "Gone\n");
    await putFile(join(t.ws, ".opencode/command/old.md"), "Old singular\n");
    await putFile(join(t.ws, ".opencode/command/twin.md"), "Twin singular\n");
    await putFile(cmdFile(t.ws, "twin"), "Twin plural\n");
  });
  after(() => t.close());

  test("removes the file and answers { ok: true } (what the OpenWork app checks)", async () => {
    const res = await t.h.call("DELETE", t.h.ws("/commands/gone"));
    assert.equal(res.status, 200);
    assert.deepEqual(await json(res), { ok: true, name: "gone" });
    const list = await json(await t.h.call("GET", t.h.ws("/commands")));
    assert.deepEqual(
      list.items.map((i: any) => i.name),
      ["keep", "old", "twin"],
    );
    assert.ok(!("ws/.opencode/commands/gone.md" in (await snapshot(t.base))));
    const audit = await json(await t.h.call("GET", t.h.ws("/audit?limit=1")));
    assert.equal(audit.items[0].action, "commands.delete");
    assert.equal(t.h.services.events.since(t.h.wsId).at(-1)!.reason, "commands");
  });

  test("a leading / is stripped (%2Fkeep)", async () => {
    const res = await t.h.call("DELETE", t.h.ws("/commands/%2Fkeep"));
    assert.equal(res.status, 200);
    assert.equal((await json(res)).name, "keep");
    assert.ok(!(await json(await t.h.call("GET", t.h.ws("/commands")))).items.some((i: any) => i.name === "keep"));
  });

  test("a command in .opencode/command/ is removed too, twins in both folders both go", async () => {
    let res = await t.h.call("DELETE", t.h.ws("/commands/old"));
    assert.equal(res.status, 200);
    res = await t.h.call("DELETE", t.h.ws("/commands/twin"));
    assert.equal(res.status, 200);
    assert.deepEqual((await json(await t.h.call("GET", t.h.ws("/commands")))).items, []);
    const files = Object.keys(await snapshot(t.ws));
    assert.ok(!files.some((f) => f.endsWith("old.md") || f.endsWith("twin.md")), files.join(","));
  });

  test("unknown name -> 404, nothing changes", async () => {
    await putFile(cmdFile(t.ws, "stay"), "Stay\n");
    const before = await snapshot(t.base);
    await expectError(await t.h.call("DELETE", t.h.ws("/commands/nope")), 404, "not_found");
    assert.deepEqual(await snapshot(t.base), before);
  });
});

describe("traversal through every name-taking route", () => {
  let t: Awaited<ReturnType<typeof withHarness>>;
  let outsideBefore: Record<string, string>;
  before(async () => {
    t = await withHarness();
    await putFile(cmdFile(t.ws, "keep"), "Keep\n");
    outsideBefore = await snapshot(t.outside);
  });
  after(() => t.close());

  const urlNames = [
    "..",
    "%2e%2e",
    "..%2F..%2Foutside%2Fsecret",
    "%2e%2e%2Foutside%2Fsecret",
    "a%2Fb",
    "%2Fetc%2Fpasswd",
    encodeURIComponent(join(tmpdir(), "x")),
    "secret%00",
    "..%5Csecret",
    "a".repeat(129),
    "x".repeat(5000),
  ];
  for (const name of urlNames) {
    test(`DELETE /commands/${name.slice(0, 40)} -> 4xx, nothing touched`, async () => {
      const before = await snapshot(t.base);
      const res = await t.h.call("DELETE", t.h.ws(`/commands/${name}`));
      assert.ok(res.status === 400 || res.status === 404, `${name}: ${res.status}`);
      if (res.status === 400) assert.equal((await json(res)).code, "invalid_name");
      assert.deepEqual(await snapshot(t.outside), outsideBefore);
      assert.deepEqual(await snapshot(t.base), before);
    });
  }

  test("a symlinked command file pointing outside -> 400 path_escape for POST and DELETE", async () => {
    await symlink(join(t.outside, "secret.md"), cmdFile(t.ws, "secret"));
    try {
      const before = await snapshot(t.base);
      await expectError(await t.h.call("POST", t.h.ws("/commands"), { name: "secret", template: "Overwrite" }), 400, "path_escape");
      await expectError(await t.h.call("DELETE", t.h.ws("/commands/secret")), 400, "path_escape");
      assert.deepEqual(await snapshot(t.outside), outsideBefore);
      assert.deepEqual(await snapshot(t.base), before);
    } finally {
      await rm(cmdFile(t.ws, "secret"));
    }
  });

  test("a symlinked .opencode/commands pointing outside -> 400 path_escape, nothing touched", async () => {
    await rm(join(t.ws, ".opencode/commands"), { recursive: true });
    await symlink(t.outside, join(t.ws, ".opencode/commands"));
    try {
      const before = await snapshot(t.base);
      await expectError(await t.h.call("POST", t.h.ws("/commands"), { name: "secret", template: "Overwrite" }), 400, "path_escape");
      await expectError(await t.h.call("POST", t.h.ws("/commands"), { name: "brand-new", template: "New" }), 400, "path_escape");
      await expectError(await t.h.call("DELETE", t.h.ws("/commands/secret")), 400, "path_escape");
      assert.deepEqual(await snapshot(t.outside), outsideBefore);
      assert.deepEqual(await snapshot(t.base), before);
    } finally {
      await rm(join(t.ws, ".opencode/commands"));
    }
  });

  test("a symlinked .opencode pointing outside -> 400 path_escape", async () => {
    await rm(join(t.ws, ".opencode"), { recursive: true, force: true });
    await mkdir(join(t.outside, "commands"), { recursive: true });
    await writeFile(join(t.outside, "commands", "x.md"), "outside x\n");
    outsideBefore = await snapshot(t.outside);
    await symlink(t.outside, join(t.ws, ".opencode"));
    try {
      await expectError(await t.h.call("POST", t.h.ws("/commands"), { name: "x", template: "Overwrite" }), 400, "path_escape");
      await expectError(await t.h.call("DELETE", t.h.ws("/commands/x")), 400, "path_escape");
      assert.deepEqual(await snapshot(t.outside), outsideBefore);
    } finally {
      await rm(join(t.ws, ".opencode"));
    }
  });
});

describe("approval, read-only", () => {
  test("manual approval denied -> 403 write_denied, files unchanged (POST and DELETE)", async () => {
    const t = await withHarness({ approval: { mode: "manual", timeoutMs: 5000 } });
    try {
      await putFile(cmdFile(t.ws, "kept"), "Kept\n");
      const before = await snapshot(t.base);
      for (const [method, path, body] of [
        ["POST", "/commands", { name: "kept", template: "Changed" }],
        ["POST", "/commands", { name: "fresh", template: "Fresh" }],
        ["DELETE", "/commands/kept", undefined],
      ] as const) {
        const pending = t.h.call(method, t.h.ws(path), body);
        const approval = await waitFor(async () => (await json(await t.h.host("GET", "/approvals"))).items[0]);
        assert.equal(approval.action, method === "POST" ? "commands.upsert" : "commands.delete");
        assert.ok(approval.paths[0].startsWith(".opencode/commands/"));
        assert.equal((await t.h.host("POST", `/approvals/${approval.id}`, { reply: "deny" })).status, 200);
        await expectError(await pending, 403, "write_denied");
        assert.deepEqual(await snapshot(t.base), before);
      }
    } finally {
      await t.close();
    }
  });

  test("manual approval: a bad request is refused before the host is asked", async () => {
    const t = await withHarness({ approval: { mode: "manual", timeoutMs: 5000 } });
    try {
      await expectError(await t.h.call("POST", t.h.ws("/commands"), { name: "x", template: " " }), 400, "invalid_payload");
      await expectError(await t.h.call("DELETE", t.h.ws("/commands/missing")), 404, "not_found");
      assert.deepEqual((await json(await t.h.host("GET", "/approvals"))).items, []);
    } finally {
      await t.close();
    }
  });

  test("read-only server -> 403 read_only, nothing written", async () => {
    const t = await withHarness({ readOnly: true });
    try {
      await putFile(cmdFile(t.ws, "kept"), "Kept\n");
      const before = await snapshot(t.base);
      await expectError(await t.h.call("POST", t.h.ws("/commands"), { name: "new", template: "x" }), 403, "read_only");
      await expectError(await t.h.call("DELETE", t.h.ws("/commands/kept")), 403, "read_only");
      assert.deepEqual(await snapshot(t.base), before);
    } finally {
      await t.close();
    }
  });
});

describe("module functions used by import/export", () => {
  test("planCommandUpsert takes a whole file as `content`; explicit fields win; name: and nulls dropped", async () => {
    const plan = await planCommandUpsert("/tmp/ws", {
      name: "/imported",
      content: "---\nname: renamed\ndescription: From file\nmodel: null\nagent: build\nsubtask: true\n---\nBody $1\n",
      agent: "plan",
    });
    assert.equal(plan.name, "imported");
    assert.equal(plan.text, "---\ndescription: From file\nagent: plan\nsubtask: true\n---\nBody $1\n");
  });

  test("planCommandUpsert refuses non-YAML content and a non-boolean subtask in content", async () => {
    await assert.rejects(planCommandUpsert("/tmp/ws", { name: "a", content: "---js\n{}\n---\nx" }), { code: "invalid_payload" });
    await assert.rejects(planCommandUpsert("/tmp/ws", { name: "a", content: "---\nsubtask: yes\n---\nx" }), { code: "invalid_payload" });
  });

  test("renderCommandFile never writes null, name: or a non-boolean subtask", () => {
    const text = renderCommandFile({ template: "t", model: null, agent: null, description: null, subtask: null });
    assert.equal(text, "t\n");
  });
});

// Speed is measured by `npm run bench`, never by a timed test; this checks nothing is dropped.
describe("many items", () => {
  test("lists all of 250 commands spread over both folders", async () => {
    const t = await withHarness();
    try {
      await Promise.all(
        Array.from({ length: 250 }, (_, i) =>
          putFile(
            join(t.ws, ".opencode", i % 5 === 0 ? "command" : "commands", `cmd-${i}.md`),
            `---\ndescription: Command ${i}\nagent: build\n---\nDo thing ${i}\n`,
          ),
        ),
      );
      await t.h.call("GET", t.h.ws("/commands"));
      const res = await t.h.call("GET", t.h.ws("/commands"));
      assert.equal(res.status, 200);
      assert.equal((await json(res)).items.length, 250);
    } finally {
      await t.close();
    }
  });
});
