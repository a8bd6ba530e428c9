// The gateway over a real port: node:http serves the client, so the gateway reads request bodies
// from Node's own stream and sees a client leave on Node's answer (src/services/gateway.ts), not
// through the in-process Request that test/gateway.test.ts uses. The upstream is a plain
// node:http server (test/helpers/upstream.ts).
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { request } from "node:http";
import { after, afterEach, before, describe, test } from "node:test";
import { silentLogger } from "../../src/logger.js";
import { type RunningServer, startServer } from "../../src/server.js";
import { type ChunkedAnswer, sendChunked } from "../helpers/chunked.js";
import { HOST_TOKEN, TOKEN, tempDir, testSettings, waitFor } from "../helpers/harness.js";
import { Upstream } from "../helpers/upstream.js";

const collaborator = { Authorization: `Bearer ${TOKEN}` };
const owner = { ...collaborator, "X-OpenWork-Host-Token": HOST_TOKEN };
const BODY_LIMIT = 64 * 1024;

let root: string;
let up: Upstream;
let server: RunningServer;

before(async () => {
  root = await tempDir();
  up = new Upstream();
  await up.start();
  const settings = testSettings(root, {
    workspaces: [{ path: root, workspaceType: "local", baseUrl: up.url }],
    bodyLimitBytes: BODY_LIMIT,
  });
  // A patient gateway: only a client leaving ends a request the upstream does not answer.
  server = await startServer(settings, silentLogger, { watch: false, gateway: { timeoutMs: 60_000 } });
});
after(async () => {
  await server.close();
  await up.stop();
  await rm(root, { recursive: true, force: true });
});
afterEach(() => up.reset());

const send = (path: string, headers: Record<string, string>, chunks: string[], method = "POST") =>
  sendChunked(server.port, path, headers, chunks, method);

const json = { "Content-Type": "application/json" };
const health = async () => (await fetch(`${server.urls[0]}/health`)).status;
const codeOf = (answer: ChunkedAnswer) => (JSON.parse(answer.text) as { code?: string }).code;

describe("gateway over node:http", () => {
  test("an owner's chunked body reaches the engine whole, as it was sent", async () => {
    const pieces = Array.from({ length: 40 }, (_, i) => `{"n":${i}}`.padEnd(500, " "));
    const answer = await send("/opencode/session", { ...owner, ...json }, pieces);
    assert.equal(answer.status, 200);
    assert.equal(up.seen[0]?.body, pieces.join(""));
  });

  test("an owner's chunked body over the cap is 413; the engine never gets a whole body; the server goes on", async () => {
    const pieces = Array.from({ length: 20 }, () => "x".repeat(8 * 1024));
    const answer = await send("/opencode/session", { ...owner, ...json }, pieces);
    assert.equal(answer.status, 413);
    assert.equal(codeOf(answer), "payload_too_large");
    assert.equal(up.seen.length, 0, "the engine saw no complete request");
    assert.equal(await health(), 200);
  });

  test("a collaborator's chunked body is read from Node's stream and checked before the engine hears of it", async () => {
    const outside = '{"parts":[{"type":"file","mime":"text/plain","url":"file:///etc/passwd"}]}';
    const refused = await send("/opencode/session/ses_1/message", { ...collaborator, ...json }, [outside.slice(0, 20), outside.slice(20)]);
    assert.equal(refused.status, 400);
    assert.equal(codeOf(refused), "path_escape");
    const tooBig = await send("/opencode/session/ses_1/message", { ...collaborator, ...json }, ["[", "0,".repeat(BODY_LIMIT / 2), "0]"]);
    assert.equal(tooBig.status, 413);
    assert.equal(up.seen.length, 0);

    const prompt = '{"parts":[{"type":"text","text":"hi"}]}';
    const ok = await send("/opencode/session/ses_1/message", { ...collaborator, ...json }, [prompt.slice(0, 9), prompt.slice(9)]);
    assert.equal(ok.status, 200);
    assert.equal(up.seen[0]?.body, prompt);
    assert.equal(up.seen[0]?.headers["content-length"], String(prompt.length), "a checked body goes out with its length");
  });

  test("a client that leaves before the engine answers ends the upstream request", async () => {
    let heard = false;
    up.handler = () => {
      heard = true; // and never answers
    };
    const cutBefore = up.cut;
    const req = request({ host: "127.0.0.1", port: server.port, path: "/opencode/session", headers: collaborator });
    req.on("error", () => {});
    req.end();
    await waitFor(() => heard, 5000);
    req.destroy();
    await waitFor(() => up.cut > cutBefore, 5000);
    assert.equal(await health(), 200);
  });

  test("a small answer arrives whole with its length; a large one is streamed intact", async () => {
    for (const size of [100, 300 * 1024]) {
      const text = "y".repeat(size);
      up.handler = (_req, res) => {
        res.setHeader("Content-Type", "text/plain");
        res.setHeader("Content-Length", String(size));
        res.end(text);
      };
      const answer = await send("/opencode/file/content?path=a.txt", collaborator, [], "GET");
      assert.equal(answer.status, 200);
      assert.equal(answer.headers["content-length"], String(size));
      assert.equal(answer.text, text);
    }
  });
});
