// Crash safety: a server killed with SIGKILL in the middle of writes leaves every file whole
// (as it was or as it became), keeps every write it acknowledged, and the next start sweeps the
// temp files a crash left behind.
import assert from "node:assert/strict";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { parseJsoncObject } from "../../src/workspace/jsonc.js";
import { AUDIT_LOG } from "../../src/workspace/layout.js";
import { workspaceId } from "../../src/workspaces.js";
import { startChildServer } from "../helpers/child-server.js";
import { tempDir, waitFor } from "../helpers/harness.js";

const TOKEN = "crash-test-token";
const ROUNDS = 6;

async function allFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name));
  }
  return out;
}

test("SIGKILL during writes never tears a file or loses an acknowledged write", async () => {
  const root = await tempDir("ows-crash-");
  const original = '{\n  // keep me\n  "theme": "dark",\n}\n';
  await writeFile(join(root, "opencode.jsonc"), original);
  const ws = workspaceId(root);
  const acknowledged = new Set<string>();

  for (let round = 0; round < ROUNDS; round++) {
    const server = await startChildServer(["--workspace", root, "--approval", "auto", "--token", TOKEN], {
      env: { HOME: root },
    });
    const writes: Promise<void>[] = [];
    let stop = false;
    for (let worker = 0; worker < 4; worker++) {
      writes.push(
        (async () => {
          for (let i = 0; !stop; i++) {
            const key = `r${round}w${worker}i${i}`;
            const body = i % 2 === 0 ? { opencode: { [key]: "x".repeat(2000) } } : { openwork: { [key]: i } };
            try {
              const res = await fetch(`${server.url}/workspace/${ws}/config`, {
                method: "PATCH",
                headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
                body: JSON.stringify(body),
              });
              if (res.status === 200) acknowledged.add(key);
              else assert.fail(`unexpected status ${res.status}`);
            } catch {
              return; // the server died under us
            }
          }
        })(),
      );
    }
    // Kill once writes are flowing (a busy machine may take a while to answer the first one).
    const before = acknowledged.size;
    for (let waited = 0; acknowledged.size === before && waited < 10_000; waited += 10) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 50 + round * 40));
    server.proc.kill("SIGKILL");
    await server.stop();
    stop = true;
    await Promise.all(writes);

    // Every file parses: the old bytes or the new, never a mix.
    const config = parseJsoncObject(await readFile(join(root, "opencode.jsonc"), "utf8"), "opencode.jsonc");
    const text = await readFile(join(root, "opencode.jsonc"), "utf8");
    assert.ok(text.includes("// keep me"), "comments survive");
    assert.equal(config.theme, "dark");
    let openwork: Record<string, unknown> = {};
    try {
      openwork = parseJsoncObject(await readFile(join(root, ".opencode/openwork.json"), "utf8"), "openwork.json");
    } catch (error) {
      if ((error as { code?: string }).code !== "ENOENT") throw error;
    }
    for (const key of acknowledged) {
      assert.ok(key in config || key in openwork, `acknowledged write ${key} survived the crash`);
    }
    // (On a loaded machine a round may end before any write was acknowledged: then no log yet.)
    const log = await readFile(join(root, AUDIT_LOG), "utf8").catch((error) => {
      if ((error as { code?: string }).code === "ENOENT" && acknowledged.size === 0) return "";
      throw error;
    });
    const lines = log.split("\n").filter(Boolean);
    for (const line of lines) JSON.parse(line); // whole lines only
    assert.ok(lines.length >= acknowledged.size, "every acknowledged write was audited");
  }
  assert.ok(acknowledged.size > 10, `writes happened before the kills (${acknowledged.size})`);

  // A stale temp file (as a kill between create and rename leaves) is swept on the next start.
  await writeFile(join(root, ".opencode", `.openwork.json.owtmp-99999-deadbeef`), "{ half");
  await writeFile(join(root, `.opencode.jsonc.owtmp-99999-deadbeef`), "{ half");
  await mkdir(join(root, ".opencode/skills/deep"), { recursive: true });
  await writeFile(join(root, ".opencode/skills/deep/.SKILL.md.owtmp-99999-deadbeef"), "---\nhalf");
  const server = await startChildServer(["--workspace", root, "--approval", "auto", "--token", TOKEN], { env: { HOME: root } });
  try {
    // Beside the config files: gone before the server answers; deeper: swept right after.
    const shallow = (await allFiles(root)).filter((f) => f.includes(".owtmp-") && !f.includes("skills"));
    assert.deepEqual(shallow, []);
    await waitFor(async () => (await allFiles(root)).every((f) => !f.includes(".owtmp-")), 10_000);
    const res = await fetch(`${server.url}/workspace/${ws}/config`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    assert.equal(res.status, 200);
  } finally {
    await server.stop();
  }
});
