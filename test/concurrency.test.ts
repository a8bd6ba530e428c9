// Many clients writing to one workspace at once: every change is kept, and the audit log gets
// exactly one whole JSON line per successful write.
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { parseJsoncObject } from "../src/workspace/jsonc.js";
import { AUDIT_LOG } from "../src/workspace/layout.js";
import { createHarness, json } from "./helpers/harness.js";

test("50 plugin adds + 30 MCP adds + 10 config patches + skills, commands and imports at once keep every change", async () => {
  const h = await createHarness();
  try {
    await writeFile(join(h.root, "opencode.jsonc"), '{\n  // shared by everyone\n  "theme": "dark"\n}\n');
    const requests: Array<Promise<Response>> = [];
    for (let i = 0; i < 50; i++) requests.push(h.call("POST", h.ws("/plugins"), { spec: `plugin-${i}@1.0.${i}` }));
    for (let i = 0; i < 30; i++) {
      requests.push(
        h.call("POST", h.ws("/mcp"), {
          name: `server-${i}`,
          config: { type: "remote", url: `http://127.0.0.1:${9000 + i}/mcp`, enabled: false },
        }),
      );
    }
    for (let i = 0; i < 10; i++)
      requests.push(h.call("PATCH", h.ws("/config"), { opencode: { [`key${i}`]: i }, openwork: { [`ow${i}`]: i } }));
    for (let i = 0; i < 10; i++) {
      requests.push(h.call("POST", h.ws("/skills"), { name: `skill-${i}`, content: `Do task ${i} carefully.`, description: `Skill ${i}` }));
      requests.push(h.call("POST", h.ws("/commands"), { name: `cmd-${i}`, template: `Run part ${i}`, description: `Command ${i}` }));
    }
    for (let i = 0; i < 5; i++) {
      requests.push(
        h.call("POST", h.ws("/import"), {
          skills: [{ name: `imported-${i}`, content: `Imported skill ${i}.`, description: `Imported ${i}` }],
          commands: [{ name: `imported-cmd-${i}`, template: `Imported command ${i}` }],
        }),
      );
    }
    const responses = await Promise.all(requests);
    const statuses = await Promise.all(responses.map(async (r) => (r.status === 200 ? 200 : `${r.status} ${await r.text()}`)));
    assert.deepEqual(
      statuses.filter((s) => s !== 200),
      [],
    );

    const text = await readFile(join(h.root, "opencode.jsonc"), "utf8");
    assert.ok(text.includes("// shared by everyone"), "comments survive");
    const config = parseJsoncObject(text, "opencode.jsonc");
    assert.equal((config.plugin as string[]).length, 50);
    for (let i = 0; i < 50; i++) assert.ok((config.plugin as string[]).includes(`plugin-${i}@1.0.${i}`));
    assert.equal(Object.keys(config.mcp as object).length, 30);
    for (let i = 0; i < 10; i++) assert.equal(config[`key${i}`], i);
    assert.equal(config.theme, "dark");

    const { openwork } = await json(await h.call("GET", h.ws("/config")));
    for (let i = 0; i < 10; i++) assert.equal(openwork[`ow${i}`], i);
    const skills = (await json(await h.call("GET", h.ws("/skills")))).items.map((s: { name: string }) => s.name);
    const commands = (await json(await h.call("GET", h.ws("/commands")))).items.map((c: { name: string }) => c.name);
    for (let i = 0; i < 10; i++) {
      assert.ok(skills.includes(`skill-${i}`));
      assert.ok(commands.includes(`cmd-${i}`));
    }
    for (let i = 0; i < 5; i++) {
      assert.ok(skills.includes(`imported-${i}`));
      assert.ok(commands.includes(`imported-cmd-${i}`));
    }

    const lines = (await readFile(join(h.root, AUDIT_LOG), "utf8")).split("\n");
    assert.equal(lines.pop(), "", "the log ends with a newline");
    assert.equal(lines.length, requests.length, "exactly one audit line per successful write");
    const ids = new Set(lines.map((line) => (JSON.parse(line) as { id: string }).id));
    assert.equal(ids.size, requests.length);
  } finally {
    await h.close();
  }
});
