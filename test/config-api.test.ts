// GET/PATCH /workspace/:id/config: comment-preserving edits, ETag/If-Match, invalid files, concurrency.
import assert from "node:assert/strict";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import { createHarness, type Harness, json, snapshot } from "./helpers/harness.js";

let h: Harness;
beforeEach(async () => {
  h = await createHarness();
});
afterEach(() => h.close());

const JSONC = `{
  // The model we like
  "model": "anthropic/claude",
  "unknownKey": { "kept": true }, /* block comment */
  "theme": "dark",
}
`;

describe("GET config", () => {
  test("an empty workspace has empty objects, null updatedAt and an ETag", async () => {
    const res = await h.call("GET", h.ws("/config"));
    assert.equal(res.status, 200);
    assert.deepEqual(await json(res), { opencode: {}, openwork: {}, updatedAt: null });
    assert.match(res.headers.get("etag") ?? "", /^"[0-9a-f]+"$/);
  });

  test("opencode.jsonc is preferred over opencode.json, and comments parse", async () => {
    await writeFile(join(h.root, "opencode.json"), '{"model":"from-json"}');
    await writeFile(join(h.root, "opencode.jsonc"), JSONC);
    const body = await json(await h.call("GET", h.ws("/config")));
    assert.equal(body.opencode.model, "anthropic/claude");
    assert.deepEqual(body.opencode.unknownKey, { kept: true });
  });

  test("invalid JSONC on disk is a 422 with line and column, and is not rewritten", async () => {
    const broken = '{\n  "model": "x",\n  "theme": dark\n}\n';
    await writeFile(join(h.root, "opencode.json"), broken);
    const res = await h.call("GET", h.ws("/config"));
    assert.equal(res.status, 422);
    const body = await json(res);
    assert.equal(body.code, "invalid_file");
    assert.equal(body.details.file, "opencode.json");
    assert.equal(body.details.line, 3);
    assert.equal(body.details.column, 12);
    const patch = await h.call("PATCH", h.ws("/config"), { opencode: { theme: "light" } });
    assert.equal(patch.status, 422);
    assert.equal(await readFile(join(h.root, "opencode.json"), "utf8"), broken);
  });

  test("a __proto__ key in a file on disk is a 422, not a polluted object", async () => {
    await writeFile(join(h.root, "opencode.json"), '{"__proto__": {"polluted": true}}');
    const res = await h.call("GET", h.ws("/config"));
    assert.equal(res.status, 422);
    assert.match((await json(res)).details.error, /__proto__/);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  test("a top-level array is a 422", async () => {
    await writeFile(join(h.root, "opencode.json"), "[1,2]");
    assert.equal((await h.call("GET", h.ws("/config"))).status, 422);
  });
});

describe("PATCH config", () => {
  test("replaces top-level keys, keeps comments, formatting and unknown keys", async () => {
    await writeFile(join(h.root, "opencode.jsonc"), JSONC);
    const res = await h.call("PATCH", h.ws("/config"), { opencode: { theme: "light", share: "disabled" } });
    assert.equal(res.status, 200);
    const body = await json(res);
    assert.equal(body.opencode.theme, "light");
    assert.equal(body.opencode.share, "disabled");
    assert.equal(typeof body.updatedAt, "number");
    const text = await readFile(join(h.root, "opencode.jsonc"), "utf8");
    assert.ok(text.includes("// The model we like"));
    assert.ok(text.includes("/* block comment */"));
    assert.ok(text.includes('"unknownKey": { "kept": true }'));
    assert.ok(text.includes('"theme": "light"'));
    assert.ok(!(await snapshot(h.root))["opencode.json"], "no opencode.json created beside the .jsonc");
  });

  test("arrays are replaced, not merged; null removes a key", async () => {
    await writeFile(join(h.root, "opencode.json"), '{\n  "plugin": ["a", "b"],\n  "theme": "dark"\n}\n');
    await h.call("PATCH", h.ws("/config"), { opencode: { plugin: ["c"], theme: null } });
    const text = await readFile(join(h.root, "opencode.json"), "utf8");
    assert.deepEqual(JSON.parse(text), { plugin: ["c"] });
  });

  test("a new file is created as opencode.json", async () => {
    await h.call("PATCH", h.ws("/config"), { opencode: { $schema: "https://opencode.ai/config.json" } });
    assert.deepEqual(JSON.parse(await readFile(join(h.root, "opencode.json"), "utf8")), { $schema: "https://opencode.ai/config.json" });
  });

  test("the openwork block is shallow-merged into .opencode/openwork.json", async () => {
    await mkdir(join(h.root, ".opencode"));
    await writeFile(join(h.root, ".opencode/openwork.json"), '{"a":{"deep":1},"b":2}');
    const body = await json(await h.call("PATCH", h.ws("/config"), { openwork: { a: { other: 2 }, c: 3, b: null } }));
    assert.deepEqual(body.openwork, { a: { other: 2 }, c: 3 });
    assert.equal(await snapshot(h.root).then((s) => s["opencode.json"]), undefined, "opencode.json untouched");
  });

  test("a body with neither opencode nor openwork is a 400", async () => {
    const res = await h.call("PATCH", h.ws("/config"), {});
    assert.equal(res.status, 400);
    assert.equal((await json(res)).code, "invalid_payload");
  });

  for (const [what, opencode] of [
    ["plugin that is not an array of strings", { plugin: [1] }],
    ["an mcp entry without a valid type", { mcp: { x: { type: "sse", url: "http://x" } } }],
    ["a local mcp without a command array", { mcp: { x: { type: "local", command: "npx thing" } } }],
    ["a remote mcp without a url", { mcp: { x: { type: "remote" } } }],
    ["a command entry without a template", { command: { hi: { description: "x" } } }],
  ] as const) {
    test(`a config OpenCode would refuse is a 400 and changes nothing: ${what}`, async () => {
      await writeFile(join(h.root, "opencode.json"), JSONC);
      const before = await snapshot(h.root);
      const res = await h.call("PATCH", h.ws("/config"), { opencode });
      assert.equal(res.status, 400);
      const body = await json(res);
      assert.equal(body.code, "invalid_config");
      assert.ok(body.details.problems.length > 0);
      assert.deepEqual(await snapshot(h.root), before);
    });
  }

  test("If-Match with the current ETag succeeds; a stale one is a 412 and changes nothing", async () => {
    await writeFile(join(h.root, "opencode.json"), '{"theme":"a"}\n');
    const etag = (await h.call("GET", h.ws("/config"))).headers.get("etag")!;
    const ok = await h.call("PATCH", h.ws("/config"), { opencode: { theme: "b" } }, { "If-Match": etag });
    assert.equal(ok.status, 200);
    const newTag = ok.headers.get("etag")!;
    assert.notEqual(newTag, etag);
    const before = await snapshot(h.root);
    const stale = await h.call("PATCH", h.ws("/config"), { opencode: { theme: "c" } }, { "If-Match": etag });
    assert.equal(stale.status, 412);
    const body = await json(stale);
    assert.equal(body.code, "conflict");
    assert.equal(body.details.etag, newTag);
    assert.deepEqual(await snapshot(h.root), before);
  });

  test("an edit made on disk by someone else changes the ETag", async () => {
    const etag = (await h.call("GET", h.ws("/config"))).headers.get("etag")!;
    await writeFile(join(h.root, "opencode.json"), '{"theme":"editor"}\n');
    const res = await h.call("PATCH", h.ws("/config"), { opencode: { theme: "x" } }, { "If-Match": etag });
    assert.equal(res.status, 412);
    assert.equal(JSON.parse(await readFile(join(h.root, "opencode.json"), "utf8")).theme, "editor");
  });

  test("20 concurrent PATCHes of different keys are all kept, each audited once", async () => {
    await writeFile(join(h.root, "opencode.jsonc"), JSONC);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => h.call("PATCH", h.ws("/config"), { opencode: { [`key${i}`]: i } })),
    );
    assert.deepEqual(
      results.map((r) => r.status),
      Array(20).fill(200),
    );
    const { opencode } = await json(await h.call("GET", h.ws("/config")));
    for (let i = 0; i < 20; i++) assert.equal(opencode[`key${i}`], i, `key${i} kept`);
    assert.equal(opencode.theme, "dark");
    const audit = await json(await h.call("GET", h.ws("/audit?limit=200")));
    assert.equal(audit.items.length, 20);
    assert.ok((await readFile(join(h.root, "opencode.jsonc"), "utf8")).includes("// The model we like"));
  });

  test("each successful write records a config reload event", async () => {
    await h.call("PATCH", h.ws("/config"), { opencode: { theme: "x" } });
    const events = h.services.events.since(h.wsId, 0);
    assert.equal(events.length, 1);
    assert.equal(events[0]?.reason, "config");
    assert.equal(events[0]?.workspaceId, h.wsId);
  });
});

describe("workspace files of the wrong kind", () => {
  const expect422 = async (res: Response, what: string) => {
    assert.equal(res.status, 422, what);
    const body = await json(res);
    assert.equal(body.code, "invalid_file", what);
    return body;
  };

  test("a folder named opencode.json is 422 invalid_file for every reader and writer, never a 500", async () => {
    await mkdir(join(h.root, "opencode.json", "inside"), { recursive: true });
    await writeFile(join(h.root, "opencode.json", "inside", "keep.txt"), "keep\n");
    const before = await snapshot(h.root);
    const calls: Array<[string, string, unknown?]> = [
      ["GET", "/config"],
      ["GET", "/plugins"],
      ["GET", "/mcp"],
      ["GET", "/export"],
      ["PATCH", "/config", { opencode: { theme: "x" } }],
      ["POST", "/plugins", { spec: "p" }],
      ["POST", "/mcp", { name: "s", config: { type: "remote", url: "https://s.test/mcp" } }],
      ["POST", "/import", { opencode: { theme: "x" } }],
    ];
    for (const [method, path, body] of calls) {
      const error = await expect422(await h.call(method, h.ws(path), body), `${method} ${path}`);
      assert.equal(error.details.file, "opencode.json");
    }
    assert.deepEqual(await snapshot(h.root), before);
  });

  test("a file named .opencode: reads find nothing below it; writes below it are 422 invalid_file and write nothing", async () => {
    await writeFile(join(h.root, ".opencode"), "not a folder\n");
    const before = await snapshot(h.root);
    assert.deepEqual(await json(await h.call("GET", h.ws("/config"))), { opencode: {}, openwork: {}, updatedAt: null });
    for (const path of ["/skills", "/commands", "/audit"]) {
      const res = await h.call("GET", h.ws(path));
      assert.equal(res.status, 200, path);
      assert.deepEqual((await json(res)).items, [], path);
    }
    const writes: Array<[string, string, unknown]> = [
      ["POST", "/skills", { name: "s", content: "Do s." }],
      ["POST", "/commands", { name: "c", template: "Do c" }],
      ["PATCH", "/config", { openwork: { a: 1 } }],
      // Writes outside .opencode too: their audit entry could not be kept, so they are refused first.
      ["PATCH", "/config", { opencode: { theme: "x" } }],
      ["POST", "/plugins", { spec: "p" }],
      ["POST", "/import", { skills: [{ name: "s", content: "Do s." }] }],
    ];
    for (const [method, path, body] of writes) await expect422(await h.call(method, h.ws(path), body), `${method} ${path}`);
    assert.deepEqual(await snapshot(h.root), before);
  });

  test("a folder where the audit log must be is 422 before approval; nothing is written", async () => {
    await mkdir(join(h.root, ".opencode/openwork/audit.jsonl"), { recursive: true });
    const before = await snapshot(h.root);
    const body = await expect422(await h.call("PATCH", h.ws("/config"), { opencode: { theme: "x" } }), "PATCH");
    assert.equal(body.details.file, ".opencode/openwork/audit.jsonl");
    assert.deepEqual(await snapshot(h.root), before);
  });
});

describe("a PATCH that changes nothing", () => {
  test("is answered without approval, audit entry or event", async () => {
    const manual = await createHarness({ approval: { mode: "manual", timeoutMs: 60_000 } });
    try {
      await writeFile(join(manual.root, "opencode.json"), '{\n  "theme": "dark"\n}\n');
      const before = await snapshot(manual.root);
      for (const body of [{ opencode: {} }, { opencode: { theme: "dark" } }, { openwork: {} }]) {
        const res = await manual.call("PATCH", manual.ws("/config"), body);
        assert.equal(res.status, 200, JSON.stringify(body));
        assert.deepEqual((await json(res)).opencode, { theme: "dark" });
      }
      assert.deepEqual(manual.services.approvals.list(), []);
      assert.deepEqual(await snapshot(manual.root), before, "no file, not even an audit log");
      assert.deepEqual(manual.services.events.since(manual.wsId), []);
    } finally {
      await manual.close();
    }
  });
});
