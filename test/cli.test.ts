// The openwork-server command as a user runs it: a real process on a real port.
import assert from "node:assert/strict";
import { mkdir, realpath } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import { describe, test } from "node:test";
import { VERSION } from "../src/version.js";
import { workspaceId } from "../src/workspaces.js";
import { runCli, startChildServer } from "./helpers/child-server.js";
import { tempDir } from "./helpers/harness.js";

/** Sends raw bytes (e.g. UTF-8 in a header) that fetch would refuse to send. */
function rawRequest(url: string, head: Buffer): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.end(head));
    let data = "";
    socket.on("data", (d) => (data += d));
    socket.on("end", () => resolve(data));
    socket.on("error", reject);
  });
}

describe("openwork-server CLI", () => {
  test("--help prints usage and exits 0; --version prints the version", async () => {
    const help = await runCli(["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: openwork-server/);
    assert.match(help.stdout, /--approval manual\|auto/);
    const version = await runCli(["--version"]);
    assert.equal(version.code, 0);
    assert.equal(version.stdout.trim(), VERSION);
  });

  for (const [args, pattern] of [
    [["--port", "abc"], /--port/],
    [["--approval", "maybe"], /--approval/],
    [["--bogus"], /bogus/],
    [["--workspace", "/nonexistent/ows-cli"], /does not exist/],
    [["--token", "bench-token"], /--token is 11 characters long; use at least 16/],
    [["--token", "same-token-for-both", "--host-token", "same-token-for-both"], /approve its own writes/],
    [["--token-store", "/dev/null"], /Token store \/dev\/null .* is a special file/],
  ] as const) {
    test(`exits 2 with a message for ${args.join(" ")}`, async () => {
      const result = await runCli([...args]);
      assert.equal(result.code, 2);
      assert.match(result.stderr, pattern);
      assert.ok(!/\n\s+at /.test(result.stderr), "no stack trace");
    });
  }

  test("a port that is already taken exits 1 with a message, not a stack trace", async () => {
    const { createServer } = await import("node:net");
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const result = await runCli(["--port", String(port), "--workspace", await tempDir()]);
      assert.equal(result.code, 1);
      assert.match(result.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: EADDRINUSE`));
      assert.ok(!/\n\s+at /.test(result.stderr), "no stack trace");
    } finally {
      blocker.close();
    }
  });

  test("a config file that is not JSON exits 2 naming the file", async () => {
    const dir = await tempDir();
    const { writeFile } = await import("node:fs/promises");
    await writeFile(join(dir, "server.json"), "{ not json");
    const result = await runCli(["--config", join(dir, "server.json")]);
    assert.equal(result.code, 2);
    assert.ok(result.stderr.includes(join(dir, "server.json")));
  });

  test("serves the current directory by default and prints generated tokens once", async () => {
    const dir = await realpath(await tempDir());
    const server = await startChildServer([], { cwd: dir, env: { HOME: dir } });
    try {
      const out = server.stdout();
      const client = /^Client token: (\S+)$/m.exec(out)?.[1];
      const host = /^Host token: (\S+)$/m.exec(out)?.[1];
      assert.ok(client && host, `tokens printed: ${out}`);
      assert.equal(out.split(client).length - 1, 1, "client token printed exactly once");
      assert.ok(out.includes(dir), "workspace listed");
      assert.ok(out.includes(workspaceId(dir)));
      const health = await fetch(`${server.url}/health`);
      assert.equal(health.status, 200);
      const list = await (await fetch(`${server.url}/workspaces`, { headers: { Authorization: `Bearer ${client}` } })).json();
      assert.equal(list.items[0].path, dir);
      assert.equal(list.items[0].id, workspaceId(dir));
      const approvals = await fetch(`${server.url}/approvals`, { headers: { "X-OpenWork-Host-Token": host } });
      assert.equal(approvals.status, 200);

      // A token with multi-byte UTF-8 characters is a 401, never a 500.
      const head = Buffer.concat([
        Buffer.from("GET /workspaces HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nAuthorization: Bearer "),
        Buffer.from("t\u00e9l\u00e9phone-\u2603-\u{1F600}", "utf8"),
        Buffer.from("\r\n\r\n"),
      ]);
      const raw = await rawRequest(server.url, head);
      assert.match(raw, /^HTTP\/1\.1 401/);
      assert.match(raw, /"code":"unauthorized"/);
    } finally {
      assert.equal(await server.stop(), 0, "exits cleanly on SIGTERM");
    }
  });

  test("supplied tokens are never printed; ids are stable across restarts", async () => {
    const dir = await realpath(await tempDir());
    await mkdir(join(dir, "ws"));
    const args = ["--workspace", join(dir, "ws"), "--token", "supplied-client-secret", "--approval", "auto"];
    const env = { HOME: dir, OPENWORK_HOST_TOKEN: "supplied-host-secret" };
    const first = await startChildServer(args, { env });
    const ids: string[] = [];
    try {
      assert.ok(!first.stdout().includes("supplied-client-secret"));
      assert.ok(!first.stdout().includes("supplied-host-secret"));
      assert.ok(!first.stdout().includes("Client token:"));
      const res = await fetch(`${first.url}/workspaces`, { headers: { Authorization: "Bearer supplied-client-secret" } });
      ids.push((await res.json()).items[0].id);
    } finally {
      await first.stop();
    }
    const second = await startChildServer(args, { env });
    try {
      const res = await fetch(`${second.url}/workspaces`, { headers: { Authorization: "Bearer supplied-client-secret" } });
      ids.push((await res.json()).items[0].id);
      assert.ok(!(second.stdout() + second.stderr()).includes("supplied-client-secret"));
    } finally {
      await second.stop();
    }
    assert.equal(ids[0], ids[1]);
  });
});
