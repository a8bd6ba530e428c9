// The config text edit (issue 13.1: one scan, one pass) against a model: random JSONC files
// (comments, trailing commas, tabs, CRLF, one-line objects) and random PATCHes must give exactly
// the patched value, in order, keep the comments that belong to no removed key, and be stable
// (the same PATCH again changes no byte).
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { createHarness, type Harness, json } from "./helpers/harness.js";

let h: Harness;
before(async () => {
  h = await createHarness();
});
after(() => h.close());

let seed = 20240613;
const random = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
};
const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)]!;
const VALUES: unknown[] = [1, "s", true, null, [1, 2], { a: 1 }, [], {}, { b: [{ c: "x" }] }];
const KEYS = ["a", "b", "c", "d", "e", "f", "g"];

function randomFile(): string {
  const keys = [...KEYS].sort(() => random() - 0.5).slice(0, Math.floor(random() * 6));
  const eol = pick(["\n", "\r\n"]);
  if (random() < 0.15) return `{${keys.map((k) => `"${k}": ${JSON.stringify(pick(VALUES))}`).join(", ")}}${eol}`;
  const indent = pick(["  ", "    ", "\t"]);
  const lines = keys.map((k, i) => {
    const lead = random() < 0.3 ? `${indent}${pick([`// about ${k}`, `/* about ${k} */`])}${eol}` : "";
    const last = i === keys.length - 1;
    const comma = last ? (random() < 0.3 ? "," : "") : ",";
    const trail = pick(["", " // trailing", " /* t */"]);
    return `${lead}${indent}"${k}": ${JSON.stringify(pick(VALUES))}${comma}${trail}${eol}`;
  });
  return `// head${eol}{${eol}${lines.join("")}}${eol}// tail${eol}`;
}

test("random PATCHes of random JSONC files give exactly the patched value and keep the other comments", async () => {
  const file = join(h.root, "opencode.jsonc");
  for (let round = 0; round < 60; round++) {
    const text = randomFile();
    await writeFile(file, text);
    const before = (await json(await h.call("GET", h.ws("/config")))).opencode as Record<string, unknown>;
    const patch: Record<string, unknown> = {};
    for (const key of KEYS) if (random() < 0.4) patch[key] = random() < 0.4 ? null : pick(VALUES.filter((v) => v !== null));
    const expected: Record<string, unknown> = { ...before };
    for (const [key, value] of Object.entries(patch)) {
      if (value === null) delete expected[key];
      else expected[key] = value;
    }
    const res = await h.call("PATCH", h.ws("/config"), { opencode: patch });
    assert.equal(res.status, 200, `${text}\n${JSON.stringify(patch)}`);
    const after = (await json(res)).opencode;
    assert.deepEqual(Object.keys(after), Object.keys(expected), text);
    assert.deepEqual(after, expected, text);
    const written = await readFile(file, "utf8");
    for (const comment of ["// head", "// tail"]) if (text.includes(comment)) assert.ok(written.includes(comment), written);
    for (const key of KEYS) {
      // A key's own comments go with it; every other key's stay.
      if (key in after && text.includes(`about ${key}`)) assert.ok(written.includes(`about ${key}`), `${key}\n${written}`);
    }
    await h.call("PATCH", h.ws("/config"), { opencode: patch });
    assert.equal(await readFile(file, "utf8"), written, "the same PATCH again changes no byte");
  }
});
