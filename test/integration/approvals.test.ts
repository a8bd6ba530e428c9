// Approvals over a real socket, against a real server process: a client that leaves withdraws its
// request; at shutdown every waiting client gets its answer before the listener closes; and 300
// large writes at once cannot make the server hold more than its share in memory.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { AUDIT_LOG } from "../../src/workspace/layout.js";
import { workspaceId } from "../../src/workspaces.js";
import { type ChildServer, startChildServer } from "../helpers/child-server.js";
import { tempDir, waitFor } from "../helpers/harness.js";

const TOKEN = "integration-client-token";
const HOST = "integration-host-token";

async function pending(server: ChildServer): Promise<Array<{ id: string; target?: string; summary: string }>> {
  const res = await fetch(`${server.url}/approvals`, { headers: { "X-OpenWork-Host-Token": HOST } });
  return ((await res.json()) as { items: Array<{ id: string; summary: string }> }).items;
}

type Answer = { status: number; body: any; error?: undefined } | { error: string; status?: undefined };

/**
 * Sends a write and returns its answer (status and body), or the socket error. `from` picks the
 * loopback address it comes from (the server limits connections per address).
 */
function send(url: string, body: unknown, options: { from?: string; onRequest?: (req: ReturnType<typeof httpRequest>) => void } = {}) {
  return new Promise<Answer>((resolve) => {
    const data = JSON.stringify(body);
    const req = httpRequest(
      url,
      {
        method: "POST",
        agent: false,
        ...(options.from ? { localAddress: options.from } : {}),
        headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json", "Content-Length": Buffer.byteLength(data) },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk) => (text += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : null }));
        res.on("error", (error) => resolve({ error: String(error) }));
      },
    );
    req.on("error", (error) => resolve({ error: (error as { code?: string }).code ?? String(error) }));
    req.end(data);
    options.onRequest?.(req);
  });
}

const skill = (name: string, body = "Body.") => ({ name, content: `---\nname: ${name}\ndescription: The ${name} skill\n---\n${body}\n` });

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

describe("approvals over a real socket", () => {
  let root: string;
  let ws: string;
  let server: ChildServer;
  const start = () =>
    startChildServer(["--workspace", root, "--approval", "manual", "--approval-timeout", "60000", "--token", TOKEN, "--host-token", HOST], {
      env: { HOME: root },
    });

  before(async () => {
    root = await tempDir("ows-approvals-");
    ws = workspaceId(root);
    server = await start();
  });
  after(() => server?.stop());

  test("a client that disconnects while waiting withdraws its request: it leaves the list and can never be allowed", async () => {
    let clientRequest: ReturnType<typeof httpRequest> | undefined;
    const answer = send(`${server.url}/workspace/${ws}/skills`, skill("left"), { onRequest: (req) => (clientRequest = req) });
    const waiting = await waitFor(async () => (await pending(server))[0]);
    clientRequest!.destroy();
    await answer;
    await waitFor(async () => (await pending(server)).length === 0, 5000);
    const late = await fetch(`${server.url}/approvals/${waiting!.id}`, {
      method: "POST",
      headers: { "X-OpenWork-Host-Token": HOST, "Content-Type": "application/json" },
      body: JSON.stringify({ reply: "allow" }),
    });
    assert.equal(late.status, 404);
    // The audit entry follows the withdrawal at once (an append after the list changed).
    const entries = await waitFor(async () => {
      const text = (await readFile(join(root, AUDIT_LOG), "utf8").catch(() => "")).trim();
      return text ? text.split("\n").map((l) => JSON.parse(l)) : null;
    });
    assert.deepEqual(
      entries.map((e: { target: string; outcome: string }) => [e.target, e.outcome]),
      [["left", "withdrawn"]],
    );
    await assert.rejects(readFile(join(root, ".opencode/skills/left/SKILL.md")), { code: "ENOENT" });
  });

  test("300 large writes at once: 8 wait, the rest get 429 at once, memory stays bounded, the list stays small", async () => {
    const big = "x".repeat(900 * 1024);
    const rssBefore = await rssMiB(server.proc.pid!);
    // Spread over a few loopback addresses: the server also caps connections per address.
    const answers = Array.from({ length: 300 }, (_, i) =>
      send(`${server.url}/workspace/${ws}/skills`, skill(`big-${i}`, big), { from: `127.0.0.${10 + (i % 6)}` }),
    );
    const settled: Answer[] = [];
    for (const answer of answers) void answer.then((a) => settled.push(a));
    // Every write but the 8 the legacy token may queue is answered at once.
    await waitFor(() => settled.length >= 292, 60_000, 100);
    const statuses = settled.map((r) => r.status ?? r.error);
    const waiting = await pending(server);
    assert.equal(waiting.length, 8, `pending: ${waiting.length}; answered: ${JSON.stringify([...new Set(statuses)])}`);
    assert.equal(statuses.filter((s) => s === 429).length, 292, JSON.stringify([...new Set(statuses)]));
    const rssAfter = await rssMiB(server.proc.pid!);
    assert.ok(rssAfter - rssBefore < 200, `resident memory grew by ${(rssAfter - rssBefore).toFixed(0)} MiB`);
    const listing = await fetch(`${server.url}/approvals`, { headers: { "X-OpenWork-Host-Token": HOST } });
    assert.equal(listing.status, 200);
    assert.ok((await listing.text()).length < 8 * 3 * 1024 * 1024, "GET /approvals stays bounded");
    for (const item of waiting) {
      await fetch(`${server.url}/approvals/${item.id}`, {
        method: "POST",
        headers: { "X-OpenWork-Host-Token": HOST, "Content-Type": "application/json" },
        body: JSON.stringify({ reply: "deny" }),
      });
    }
    const all = await Promise.all(answers);
    assert.equal(all.filter((r) => r.status === 403).length, 8, "the 8 that waited were denied");
  });

  test("at shutdown every waiting client receives its 403 write_denied (reason shutdown) before the listener closes", async () => {
    const answers = [
      send(`${server.url}/workspace/${ws}/skills`, skill("one")),
      send(`${server.url}/workspace/${ws}/skills`, skill("two")),
    ];
    await waitFor(async () => (await pending(server)).length === 2);
    const code = await server.stop("SIGTERM");
    assert.equal(code, 0);
    for (const answer of await Promise.all(answers)) {
      assert.ok(answer.status !== undefined, `the client got an answer, not ${JSON.stringify(answer)}`);
      assert.equal(answer.status, 403);
      assert.deepEqual([answer.body.code, answer.body.details.reason], ["write_denied", "shutdown"]);
    }
    const outcomes = (await readFile(join(root, AUDIT_LOG), "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l))
      .filter((e) => e.target === "one" || e.target === "two")
      .map((e) => e.outcome);
    assert.deepEqual(outcomes, ["shutdown", "shutdown"]);
  });
});
