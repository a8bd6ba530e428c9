// Skills API (SPEC section 4 "Skills" and the name/path rules), through HTTP.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync } from "node:fs";
import { mkdir, readFile, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createHarness, expectError, HOST_TOKEN, json, putFile, snapshot, tempDir, waitFor } from "./helpers/harness.js";

// Global skill folders come from HOME / XDG_CONFIG_HOME: point them at a temp dir for this process.
const fakeHome = mkdtempSync(join(tmpdir(), "ows-home-"));
process.env.HOME = fakeHome;
process.env.XDG_CONFIG_HOME = join(fakeHome, ".config");
mkdirSync(process.env.XDG_CONFIG_HOME, { recursive: true });
after(() => rm(fakeHome, { recursive: true, force: true }));

const skillMd = (name: string, description: string, body = "Body.\n") => `---\nname: ${name}\ndescription: ${description}\n---\n${body}`;

/** A base folder holding `.git` (so the parent walk stops there), the workspace and a folder outside it. */
async function sandbox() {
  const base = await tempDir("ows-skills-");
  await mkdir(join(base, ".git"));
  const ws = join(base, "ws");
  const outside = join(base, "outside");
  await mkdir(ws);
  await putFile(join(outside, "secret", "SKILL.md"), skillMd("secret", "Outside the workspace"));
  return { base, ws, outside };
}

async function withHarness(options: Parameters<typeof createHarness>[0] = {}) {
  const box = await sandbox();
  const h = await createHarness(options, { root: box.ws });
  return {
    ...box,
    h,
    async close() {
      await h.close();
      await rm(box.base, { recursive: true, force: true });
    },
  };
}

describe("GET /workspace/:id/skills: discovery", () => {
  let t: Awaited<ReturnType<typeof withHarness>>;
  before(async () => {
    t = await withHarness();
    const { ws, base } = t;
    await putFile(join(ws, ".opencode/skills/alpha/SKILL.md"), skillMd("alpha", "From .opencode/skills"));
    await putFile(join(ws, ".opencode/skill/beta/SKILL.md"), skillMd("beta", "From .opencode/skill"));
    await putFile(join(ws, ".claude/skills/gamma/SKILL.md"), skillMd("gamma", "From .claude/skills"));
    await putFile(join(ws, ".agents/skills/delta/SKILL.md"), skillMd("delta", "From .agents/skills"));
    // Duplicates: the first folder (and the nearest directory) wins.
    await putFile(join(ws, ".claude/skills/alpha/SKILL.md"), skillMd("alpha", "Loses to .opencode/skills"));
    await putFile(join(base, ".opencode/skills/alpha/SKILL.md"), skillMd("alpha", "Loses to the workspace"));
    await putFile(join(base, ".opencode/skills/parent-one/SKILL.md"), skillMd("parent-one", "From the git root"));
    // Not skills: each is skipped without breaking the listing.
    const bad: Record<string, string> = {
      "wrong-name": skillMd("other-name", "Name differs from folder"),
      "no-desc": "---\nname: no-desc\n---\nBody\n",
      "empty-desc": '---\nname: empty-desc\ndescription: ""\n---\n',
      "long-desc": skillMd("long-desc", "x".repeat(1025)),
      "bad-yaml": "---\nname: bad-yaml\ndescription: a: b\n---\n",
      "js-front": "---js\n{ name: 'js-front', description: 'evaluated?' }\n---\n",
      unclosed: "---\nname: unclosed\ndescription: never closed\n",
      "no-front": "# Just markdown\n\nNo frontmatter here.\n",
      "alias-bomb": `---\nname: alias-bomb\ndescription: boom\na: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n---\n`,
      "dup-keys": "---\nname: dup-keys\ndescription: a\ndescription: b\n---\n",
      "list-front": "---\n- name\n- dup\n---\n",
      Upper: skillMd("Upper", "Upper-case folder"),
      "a--b": skillMd("a--b", "Double hyphen"),
    };
    for (const [folder, text] of Object.entries(bad)) await putFile(join(ws, ".opencode/skills", folder, "SKILL.md"), text);
    await putFile(join(ws, ".opencode/skills/stray.md"), "not a folder");
    await mkdir(join(ws, ".opencode/skills/empty-folder"), { recursive: true });
  });
  after(() => t.close());

  test("lists all four project folders and the parents up to the git root, first found wins", async () => {
    const res = await t.h.call("GET", t.h.ws("/skills"));
    assert.equal(res.status, 200);
    const { items } = await json(res);
    assert.deepEqual(
      items.map((i: any) => i.name),
      ["alpha", "beta", "delta", "gamma", "parent-one"],
    );
    const byName = Object.fromEntries(items.map((i: any) => [i.name, i]));
    assert.deepEqual(byName.alpha, {
      name: "alpha",
      path: join(t.ws, ".opencode/skills/alpha/SKILL.md"),
      description: "From .opencode/skills",
      scope: "project",
    });
    assert.equal(byName.beta.path, join(t.ws, ".opencode/skill/beta/SKILL.md"));
    assert.equal(byName.gamma.path, join(t.ws, ".claude/skills/gamma/SKILL.md"));
    assert.equal(byName.delta.path, join(t.ws, ".agents/skills/delta/SKILL.md"));
    assert.equal(byName["parent-one"].path, join(t.base, ".opencode/skills/parent-one/SKILL.md"));
    assert.equal(byName["parent-one"].scope, "project");
  });

  test("a malformed SKILL.md is 422 invalid_file on a single read", async () => {
    const body = await expectError(await t.h.call("GET", t.h.ws("/skills/bad-yaml")), 422, "invalid_file");
    assert.equal(body.details.file, ".opencode/skills/bad-yaml/SKILL.md");
    assert.equal(body.details.line, 3);
    assert.equal(body.details.column, 14);
    await expectError(await t.h.call("GET", t.h.ws("/skills/js-front")), 422, "invalid_file");
    await expectError(await t.h.call("GET", t.h.ws("/skills/alias-bomb")), 422, "invalid_file");
    await expectError(await t.h.call("GET", t.h.ws("/skills/no-desc")), 422, "invalid_file");
  });

  test("a single read returns { item, content }; unknown -> 404, bad name -> 400", async () => {
    const res = await t.h.call("GET", t.h.ws("/skills/alpha"));
    assert.equal(res.status, 200);
    const body = await json(res);
    assert.equal(body.content, skillMd("alpha", "From .opencode/skills"));
    assert.equal(body.item.description, "From .opencode/skills");
    await expectError(await t.h.call("GET", t.h.ws("/skills/nope")), 404, "not_found");
    await expectError(await t.h.call("GET", t.h.ws("/skills/Bad")), 400, "invalid_name");
  });
});

describe("parent walk", () => {
  test("stops at the first folder holding .git (the folder itself included)", async () => {
    const top = await tempDir("ows-walk-");
    try {
      const repo = join(top, "repo");
      const ws = join(repo, "packages", "ws");
      await mkdir(join(repo, ".git"), { recursive: true });
      await mkdir(ws, { recursive: true });
      await putFile(join(top, ".opencode/skills/above-git/SKILL.md"), skillMd("above-git", "Above the git root"));
      await putFile(join(repo, ".agents/skills/at-git/SKILL.md"), skillMd("at-git", "At the git root"));
      await putFile(join(repo, "packages/.claude/skills/between/SKILL.md"), skillMd("between", "Between"));
      const h = await createHarness({}, { root: ws });
      try {
        const { items } = await json(await h.call("GET", h.ws("/skills")));
        assert.deepEqual(
          items.map((i: any) => i.name),
          ["at-git", "between"],
        );
      } finally {
        await h.close();
      }
    } finally {
      await rm(top, { recursive: true, force: true });
    }
  });

  test("a workspace that is itself a git root lists nothing from its parents", async () => {
    const top = await tempDir("ows-walk-");
    try {
      const ws = join(top, "ws");
      await mkdir(join(ws, ".git"), { recursive: true });
      await putFile(join(top, ".opencode/skills/parent/SKILL.md"), skillMd("parent", "Parent"));
      await putFile(join(ws, ".opencode/skills/own/SKILL.md"), skillMd("own", "Own"));
      const h = await createHarness({}, { root: ws });
      try {
        const { items } = await json(await h.call("GET", h.ws("/skills")));
        assert.deepEqual(
          items.map((i: any) => i.name),
          ["own"],
        );
      } finally {
        await h.close();
      }
    } finally {
      await rm(top, { recursive: true, force: true });
    }
  });

  test("with no .git anywhere, parents are walked (up to the filesystem root)", async () => {
    const top = await tempDir("ows-walk-");
    try {
      const ws = join(top, "a", "b", "ws");
      await mkdir(ws, { recursive: true });
      await putFile(join(top, "a", ".opencode/skills/far-up/SKILL.md"), skillMd("far-up", "Two levels up"));
      const h = await createHarness({}, { root: ws });
      try {
        const res = await h.call("GET", h.ws("/skills"));
        assert.equal(res.status, 200);
        const { items } = await json(res);
        assert.ok(items.some((i: any) => i.name === "far-up" && i.scope === "project"));
      } finally {
        await h.close();
      }
    } finally {
      await rm(top, { recursive: true, force: true });
    }
  });
});

describe("global skills", () => {
  let t: Awaited<ReturnType<typeof withHarness>>;
  before(async () => {
    t = await withHarness();
    await putFile(join(fakeHome, ".config/opencode/skills/glob-oc/SKILL.md"), skillMd("glob-oc", "Global OpenCode"));
    await putFile(join(fakeHome, ".claude/skills/glob-claude/SKILL.md"), skillMd("glob-claude", "Global Claude"));
    await putFile(join(fakeHome, ".claude/skills/shared/SKILL.md"), skillMd("shared", "Global copy"));
    await putFile(join(t.ws, ".opencode/skills/shared/SKILL.md"), skillMd("shared", "Project copy"));
  });
  after(() => t.close());

  test("not listed without ?includeGlobal=true", async () => {
    const { items } = await json(await t.h.call("GET", t.h.ws("/skills")));
    assert.deepEqual(
      items.map((i: any) => i.name),
      ["shared"],
    );
    const off = await json(await t.h.call("GET", t.h.ws("/skills?includeGlobal=false")));
    assert.equal(off.items.length, 1);
  });

  test("?includeGlobal=true needs the owner scope (the host token): global skills are the host user's own", async () => {
    const res = await t.h.call("GET", t.h.ws("/skills?includeGlobal=true"));
    assert.equal(res.status, 403);
    assert.equal((await json(res)).code, "insufficient_scope");
  });

  test("listed with scope global with ?includeGlobal=true; a project skill wins over a global one", async () => {
    const res = await t.h.call("GET", t.h.ws("/skills?includeGlobal=true"), undefined, { "X-OpenWork-Host-Token": HOST_TOKEN });
    const { items } = await json(res);
    assert.deepEqual(items, [
      { name: "glob-claude", path: join(fakeHome, ".claude/skills/glob-claude/SKILL.md"), description: "Global Claude", scope: "global" },
      {
        name: "glob-oc",
        path: join(fakeHome, ".config/opencode/skills/glob-oc/SKILL.md"),
        description: "Global OpenCode",
        scope: "global",
      },
      { name: "shared", path: join(t.ws, ".opencode/skills/shared/SKILL.md"), description: "Project copy", scope: "project" },
    ]);
  });
});

describe("POST /workspace/:id/skills", () => {
  let t: Awaited<ReturnType<typeof withHarness>>;
  before(async () => {
    t = await withHarness();
  });
  after(() => t.close());
  const file = (name: string) => join(t.ws, ".opencode/skills", name, "SKILL.md");

  test("content without frontmatter: one is added from the request's description", async () => {
    const res = await t.h.call("POST", t.h.ws("/skills"), {
      name: "plain",
      content: "# Plain\n\nDo things.\n",
      description: "Requested: yes",
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await json(res), { name: "plain", path: file("plain"), description: "Requested: yes", scope: "project" });
    assert.equal(await readFile(file("plain"), "utf8"), '---\nname: plain\ndescription: "Requested: yes"\n---\n# Plain\n\nDo things.\n');
  });

  test("content without frontmatter: a leading BOM stays out of the body, CRLF content gets CRLF fences", async () => {
    assert.equal((await t.h.call("POST", t.h.ws("/skills"), { name: "bom", content: "\uFEFFDo bom things.\n" })).status, 200);
    assert.equal(await readFile(file("bom"), "utf8"), "---\nname: bom\ndescription: Do bom things.\n---\nDo bom things.\n");
    assert.equal((await t.h.call("POST", t.h.ws("/skills"), { name: "crlf", content: "Do crlf things.\r\n" })).status, 200);
    assert.equal(await readFile(file("crlf"), "utf8"), "---\r\nname: crlf\r\ndescription: Do crlf things.\r\n---\r\nDo crlf things.\r\n");
  });

  test("description derived from the first non-heading paragraph line", async () => {
    const res = await t.h.call("POST", t.h.ws("/skills"), {
      name: "derived",
      content: "# Title\n\n## Sub\n\nFirst line of text.\nSecond line.\n",
    });
    assert.equal(res.status, 200);
    assert.equal((await json(res)).description, "First line of text.");
    assert.equal(
      await readFile(file("derived"), "utf8"),
      "---\nname: derived\ndescription: First line of text.\n---\n# Title\n\n## Sub\n\nFirst line of text.\nSecond line.\n",
    );
  });

  test("complete frontmatter is written byte for byte; its description wins over the request's", async () => {
    const content = "---\n# a comment\nname: full\ndescription: From frontmatter\nlicense: MIT\n---\n\nBody text\n";
    const res = await t.h.call("POST", t.h.ws("/skills"), { name: "full", content, description: "ignored" });
    assert.equal(res.status, 200);
    assert.equal((await json(res)).description, "From frontmatter");
    assert.equal(await readFile(file("full"), "utf8"), content);
  });

  test("frontmatter without name/description gets them, other lines kept", async () => {
    const content = "---\n# keep me\nlicense: MIT # trailing\n---\nUse the tool.\n";
    const res = await t.h.call("POST", t.h.ws("/skills"), { name: "partial", content });
    assert.equal(res.status, 200);
    assert.equal(
      await readFile(file("partial"), "utf8"),
      "---\nname: partial\ndescription: Use the tool.\n# keep me\nlicense: MIT # trailing\n---\nUse the tool.\n",
    );
  });

  test("an empty name: key or a flow-style frontmatter is re-rendered with name first", async () => {
    let res = await t.h.call("POST", t.h.ws("/skills"), { name: "empty-key", content: "---\nname:\ndescription: Given\n---\nBody\n" });
    assert.equal(res.status, 200);
    assert.equal(await readFile(file("empty-key"), "utf8"), "---\nname: empty-key\ndescription: Given\n---\nBody\n");
    res = await t.h.call("POST", t.h.ws("/skills"), { name: "flow", content: "---\n{ license: MIT }\n---\nFlow body\n" });
    assert.equal(res.status, 200);
    assert.equal(await readFile(file("flow"), "utf8"), "---\nname: flow\ndescription: Flow body\nlicense: MIT\n---\nFlow body\n");
  });

  test("names a YAML 1.1 reader would misread are quoted, and the skill lists", async () => {
    for (const name of ["null", "yes", "123", "true"]) {
      const res = await t.h.call("POST", t.h.ws("/skills"), { name, content: "Some words.\n" });
      assert.equal(res.status, 200, name);
      assert.equal(await readFile(file(name), "utf8"), `---\nname: "${name}"\ndescription: Some words.\n---\nSome words.\n`);
    }
    const { items } = await json(await t.h.call("GET", t.h.ws("/skills")));
    for (const name of ["null", "yes", "123", "true"])
      assert.ok(
        items.some((i: any) => i.name === name),
        name,
      );
  });

  test("upsert replaces an existing skill, records audit and a skills reload event", async () => {
    const before = t.h.services.events.since(t.h.wsId).length;
    const res = await t.h.call("POST", t.h.ws("/skills"), { name: "plain", content: skillMd("plain", "Second version") });
    assert.equal(res.status, 200);
    assert.equal(await readFile(file("plain"), "utf8"), skillMd("plain", "Second version"));
    const events = t.h.services.events.since(t.h.wsId);
    assert.equal(events.length, before + 1);
    assert.equal(events.at(-1)!.reason, "skills");
    const audit = await json(await t.h.call("GET", t.h.ws("/audit?limit=1")));
    assert.equal(audit.items[0].action, "skills.upsert");
    assert.equal(audit.items[0].target, "plain");
  });

  describe("refusals leave every file as it was", () => {
    const cases: Array<[string, unknown, number, string]> = [
      ["frontmatter name differs", { name: "mine", content: skillMd("theirs", "x") }, 400, "invalid_payload"],
      ["frontmatter name not a string", { name: "mine", content: "---\nname: 12\ndescription: x\n---\n" }, 400, "invalid_payload"],
      ["no description anywhere", { name: "nodesc", content: "# Only a heading\n" }, 422, "unprocessable"],
      ["empty content, no description", { name: "nodesc", content: "" }, 422, "unprocessable"],
      [
        "blank description everywhere",
        { name: "nodesc", content: '---\ndescription: "  "\n---\n## h\n', description: " " },
        422,
        "unprocessable",
      ],
      ["description over 1024", { name: "long", content: "x", description: "d".repeat(1025) }, 400, "invalid_payload"],
      ["frontmatter description over 1024", { name: "long", content: skillMd("long", "d".repeat(1025)) }, 400, "invalid_payload"],
      [
        "frontmatter description not a string",
        { name: "long", content: "---\nname: long\ndescription: [a]\n---\n" },
        400,
        "invalid_payload",
      ],
      ["---js frontmatter", { name: "js", content: "---js\n{name: 'js'}\n---\n" }, 400, "invalid_payload"],
      ["malformed YAML", { name: "bad", content: "---\nname: bad\ndescription: [x\n---\n" }, 400, "invalid_payload"],
      ["unclosed frontmatter", { name: "bad", content: "---\nname: bad\n" }, 400, "invalid_payload"],
      [
        "alias bomb",
        {
          name: "bomb",
          content: "---\na: &a [x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a]\nc: [*b,*b,*b,*b,*b,*b,*b,*b]\n---\n",
          description: "d",
        },
        400,
        "invalid_payload",
      ],
      ["content not a string", { name: "x", content: 5 }, 400, "invalid_payload"],
      ["content missing", { name: "x" }, 400, "invalid_payload"],
      ["description not a string", { name: "x", content: "y", description: 3 }, 400, "invalid_payload"],
      ["body not an object", [1, 2], 400, "invalid_payload"],
      ["name missing", { content: "y" }, 400, "invalid_name"],
      ["name upper-case", { name: "Bad", content: "y" }, 400, "invalid_name"],
      ["name double hyphen", { name: "a--b", content: "y" }, 400, "invalid_name"],
      ["name leading hyphen", { name: "-a", content: "y" }, 400, "invalid_name"],
      ["name empty", { name: "", content: "y" }, 400, "invalid_name"],
      ["name 65 chars", { name: "a".repeat(65), content: "y" }, 400, "invalid_name"],
      ["name not a string", { name: 7, content: "y" }, 400, "invalid_name"],
      ["name ..", { name: "..", content: "y" }, 400, "invalid_name"],
      ["name ../x", { name: "../outside", content: "y" }, 400, "invalid_name"],
      ["name a/b", { name: "a/b", content: "y" }, 400, "invalid_name"],
      ["name absolute", { name: "/etc/passwd", content: "y" }, 400, "invalid_name"],
      ["name with NUL", { name: "a\u0000b", content: "y" }, 400, "invalid_name"],
    ];
    for (const [label, body, status, code] of cases) {
      test(`${label} -> ${status} ${code}`, async () => {
        const beforeWs = await snapshot(t.base);
        await expectError(await t.h.call("POST", t.h.ws("/skills"), body), status, code);
        assert.deepEqual(await snapshot(t.base), beforeWs);
      });
    }
    test("a 64-character name is accepted", async () => {
      const name = `a${"-b".repeat(31)}a`;
      assert.equal(name.length, 64);
      assert.equal((await t.h.call("POST", t.h.ws("/skills"), { name, content: "y" })).status, 200);
    });
  });
});

describe("DELETE /workspace/:id/skills/:name", () => {
  let t: Awaited<ReturnType<typeof withHarness>>;
  before(async () => {
    t = await withHarness();
    await putFile(join(t.ws, ".opencode/skills/gone/SKILL.md"), skillMd("gone", "To delete"));
    await putFile(join(t.ws, ".opencode/skills/gone/extra.txt"), "also removed");
    await putFile(join(t.ws, ".claude/skills/claude-only/SKILL.md"), skillMd("claude-only", "Not managed"));
  });
  after(() => t.close());

  test("removes the project skill folder, answers { ok: true, name }", async () => {
    const res = await t.h.call("DELETE", t.h.ws("/skills/gone"));
    assert.equal(res.status, 200);
    assert.deepEqual(await json(res), { ok: true, name: "gone" });
    const files = Object.keys(await snapshot(t.ws));
    assert.ok(!files.some((f) => f.includes("skills/gone")), files.join(","));
    assert.equal(t.h.services.events.since(t.h.wsId).at(-1)!.reason, "skills");
    const audit = await json(await t.h.call("GET", t.h.ws("/audit?limit=1")));
    assert.equal(audit.items[0].action, "skills.delete");
  });

  test("unknown name -> 404; a skill outside .opencode/skills -> 404; nothing changes", async () => {
    const before = await snapshot(t.base);
    await expectError(await t.h.call("DELETE", t.h.ws("/skills/gone")), 404, "not_found");
    await expectError(await t.h.call("DELETE", t.h.ws("/skills/claude-only")), 404, "not_found");
    assert.deepEqual(await snapshot(t.base), before);
  });
});

describe("traversal through every name-taking route", () => {
  let t: Awaited<ReturnType<typeof withHarness>>;
  let outsideBefore: Record<string, string>;
  before(async () => {
    t = await withHarness();
    await putFile(join(t.ws, ".opencode/skills/keep/SKILL.md"), skillMd("keep", "Keep"));
    outsideBefore = await snapshot(t.outside);
  });
  after(() => t.close());

  const urlNames = [
    "..",
    "%2e%2e",
    "%2E%2E%2Foutside%2Fsecret",
    "..%2Foutside%2Fsecret",
    "a%2Fb",
    "%2Fetc%2Fpasswd",
    encodeURIComponent(join(tmpdir(), "x")),
    "secret%00",
    "..%5Coutside",
    "a".repeat(65),
    "x".repeat(5000),
  ];
  for (const name of urlNames) {
    test(`DELETE and GET /skills/${name.slice(0, 40)} -> 4xx, nothing outside touched`, async () => {
      const wsBefore = await snapshot(t.ws);
      for (const method of ["DELETE", "GET"]) {
        const res = await t.h.call(method, t.h.ws(`/skills/${name}`));
        assert.ok(res.status === 400 || res.status === 404, `${method} ${name}: ${res.status}`);
        const body = await json(res);
        if (res.status === 400) assert.equal(body.code, "invalid_name");
      }
      assert.deepEqual(await snapshot(t.outside), outsideBefore);
      assert.deepEqual(await snapshot(t.ws), wsBefore);
    });
  }

  test("a symlinked skill folder pointing outside -> 400 path_escape for POST, DELETE and GET", async () => {
    await symlink(join(t.outside, "secret"), join(t.ws, ".opencode/skills/secret"));
    try {
      const wsBefore = await snapshot(t.ws);
      await expectError(
        await t.h.call("POST", t.h.ws("/skills"), { name: "secret", content: skillMd("secret", "Overwrite") }),
        400,
        "path_escape",
      );
      await expectError(await t.h.call("DELETE", t.h.ws("/skills/secret")), 400, "path_escape");
      await expectError(await t.h.call("GET", t.h.ws("/skills/secret")), 400, "path_escape");
      assert.deepEqual(await snapshot(t.outside), outsideBefore);
      assert.deepEqual(await snapshot(t.ws), wsBefore);
    } finally {
      await rm(join(t.ws, ".opencode/skills/secret"));
    }
  });

  test("a symlinked .opencode/skills pointing outside -> 400 path_escape, nothing touched", async () => {
    await rm(join(t.ws, ".opencode/skills"), { recursive: true });
    await symlink(t.outside, join(t.ws, ".opencode/skills"));
    try {
      const wsBefore = await snapshot(t.ws);
      await expectError(
        await t.h.call("POST", t.h.ws("/skills"), { name: "secret", content: skillMd("secret", "Overwrite") }),
        400,
        "path_escape",
      );
      await expectError(await t.h.call("POST", t.h.ws("/skills"), { name: "brand-new", content: "New skill." }), 400, "path_escape");
      await expectError(await t.h.call("DELETE", t.h.ws("/skills/secret")), 400, "path_escape");
      assert.deepEqual(await snapshot(t.outside), outsideBefore);
      assert.deepEqual(await snapshot(t.ws), wsBefore);
    } finally {
      await rm(join(t.ws, ".opencode/skills"));
    }
  });
});

describe("approval, read-only", () => {
  test("manual approval denied -> 403 write_denied, files unchanged (POST and DELETE)", async () => {
    const t = await withHarness({ approval: { mode: "manual", timeoutMs: 5000 } });
    try {
      await putFile(join(t.ws, ".opencode/skills/kept/SKILL.md"), skillMd("kept", "Kept"));
      const before = await snapshot(t.base);
      for (const [method, path, body] of [
        ["POST", "/skills", { name: "kept", content: skillMd("kept", "Changed") }],
        ["POST", "/skills", { name: "fresh", content: "Fresh." }],
        ["DELETE", "/skills/kept", undefined],
      ] as const) {
        const pending = t.h.call(method, t.h.ws(path), body);
        const approval = await waitFor(async () => (await json(await t.h.host("GET", "/approvals"))).items[0]);
        assert.equal(approval.action, method === "POST" ? "skills.upsert" : "skills.delete");
        assert.ok(approval.paths[0].startsWith(".opencode/skills/"));
        const reply = await t.h.host("POST", `/approvals/${approval.id}`, { reply: "deny" });
        assert.equal(reply.status, 200);
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
      await expectError(await t.h.call("POST", t.h.ws("/skills"), { name: "Bad", content: "x" }), 400, "invalid_name");
      await expectError(await t.h.call("DELETE", t.h.ws("/skills/missing")), 404, "not_found");
      assert.deepEqual((await json(await t.h.host("GET", "/approvals"))).items, []);
    } finally {
      await t.close();
    }
  });

  test("read-only server -> 403 read_only, nothing written", async () => {
    const t = await withHarness({ readOnly: true });
    try {
      await putFile(join(t.ws, ".opencode/skills/kept/SKILL.md"), skillMd("kept", "Kept"));
      const before = await snapshot(t.base);
      await expectError(await t.h.call("POST", t.h.ws("/skills"), { name: "new", content: "x" }), 403, "read_only");
      await expectError(await t.h.call("DELETE", t.h.ws("/skills/kept")), 403, "read_only");
      assert.deepEqual(await snapshot(t.base), before);
      assert.equal((await t.h.call("GET", t.h.ws("/skills"))).status, 200);
    } finally {
      await t.close();
    }
  });
});

describe("auth", () => {
  test("skills routes need a credential; the host token alone is an owner", async () => {
    const t = await withHarness();
    try {
      await expectError(await t.h.app.request(t.h.ws("/skills")), 401, "unauthorized");
      await expectError(await t.h.app.request(t.h.ws("/skills"), { method: "POST" }), 401, "unauthorized");
      assert.equal((await t.h.host("GET", t.h.ws("/skills"))).status, 200);
      await expectError(
        await t.h.app.request(t.h.ws("/skills"), { method: "POST", headers: { "X-OpenWork-Host-Token": HOST_TOKEN } }),
        400,
        "invalid_payload",
      );
    } finally {
      await t.close();
    }
  });
});

// Speed is measured by `npm run bench`, never by a timed test; this checks nothing is dropped.
describe("many items", () => {
  test("lists all of 500 skills spread over two folders", async () => {
    const t = await withHarness();
    try {
      const folders = [".opencode/skills", ".claude/skills"];
      await Promise.all(
        Array.from({ length: 500 }, (_, i) =>
          putFile(join(t.ws, folders[i % 2]!, `skill-${i}`, "SKILL.md"), skillMd(`skill-${i}`, `Skill number ${i}`, "Body\n".repeat(40))),
        ),
      );
      await t.h.call("GET", t.h.ws("/skills")); // warm-up
      const res = await t.h.call("GET", t.h.ws("/skills"));
      assert.equal(res.status, 200);
      assert.equal((await json(res)).items.length, 500);
    } finally {
      await t.close();
    }
  });
});
