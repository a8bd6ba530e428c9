// Request bodies over a real port: node:http serves them, and the body is read from Node's own
// stream (src/http/body.ts), not from the in-process Request the other tests use. Sizes, chunked
// bodies, clients that stop mid-body, and a write's files before and after.
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import { silentLogger } from "../../src/logger.js";
import { type RunningServer, startServer } from "../../src/server.js";
import { sendChunked } from "../helpers/chunked.js";
import { snapshot, TOKEN, tempDir, testSettings, waitFor } from "../helpers/harness.js";

let root: string;
let server: RunningServer;
let skills: string;

before(async () => {
  root = await tempDir();
  server = await startServer(testSettings(root), silentLogger, { watch: false });
  skills = `/workspace/${server.services.registry.list()[0]!.id}/skills`;
});
after(async () => {
  await server.close();
  await rm(root, { recursive: true, force: true });
});

const skill = (name: string, padding = "") =>
  JSON.stringify({ name, content: `---\nname: ${name}\ndescription: From a chunked body.\n---\n${padding}` });

/** Sends `chunks` as a chunked JSON write; the status and JSON body of the answer. */
async function sendChunkedJson(
  path: string,
  chunks: string[],
): Promise<{ status: number; body: { code?: string; details?: Record<string, unknown> } }> {
  const headers = { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" };
  const answer = await sendChunked(server.port, path, headers, chunks);
  return { status: answer.status, body: JSON.parse(answer.text) };
}

const health = async () => (await fetch(`${server.urls[0]}/health`)).status;

describe("request bodies over node:http", () => {
  test("a chunked write in many small pieces is read whole and written", async () => {
    const text = skill("chunky", "Body text.\n");
    const pieces = text.match(/[\s\S]{1,7}/g)!;
    const res = await sendChunkedJson(skills, pieces);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const files = await snapshot(root);
    assert.match(files[".opencode/skills/chunky/SKILL.md"] ?? "", /From a chunked body\.\n---\nBody text\.\n$/);
  });

  test("a chunked body over the 1 MiB cap is 413 payload_too_large; nothing is written; the server goes on", async () => {
    const before = await snapshot(root);
    const text = skill("too-big", "x".repeat(2 * 1024 * 1024));
    const pieces = text.match(/[\s\S]{1,65536}/g)!;
    const res = await sendChunkedJson(skills, pieces);
    assert.equal(res.status, 413);
    assert.equal(res.body.code, "payload_too_large");
    assert.equal(res.body.details?.limitBytes, 1024 * 1024);
    assert.deepEqual(await snapshot(root), before);
    assert.equal(await health(), 200);
  });

  test("a client that stops mid-body writes nothing, and others are served", async () => {
    const before = await snapshot(root);
    const socket = connect(server.port, "127.0.0.1");
    socket.on("error", () => {});
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    const text = skill("half-sent");
    socket.write(
      `POST ${skills} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nAuthorization: Bearer ${TOKEN}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${text.length}\r\n\r\n${text.slice(0, 20)}`,
    );
    await new Promise((r) => setTimeout(r, 100));
    socket.destroy();
    await waitFor(async () => (await health()) === 200);
    assert.deepEqual(await snapshot(root), before);
    const res = await sendChunkedJson(skills, [skill("after-the-half")]);
    assert.equal(res.status, 200);
  });

  test("malformed JSON sent in pieces is 400 invalid_json", async () => {
    const res = await sendChunkedJson(skills, ['{"name": "x",', ' "content": ']);
    assert.equal(res.status, 400);
    assert.equal(res.body.code, "invalid_json");
  });
});
