// Workspace-bound tokens: a token limited to some workspaces sees and reaches only those, through
// /workspace/:id and /w/:id alike; server-wide listings (workspaces, status, approvals, tokens)
// show only its share; and a bound owner cannot hand out (or get) more than it has.
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import { workspaceId } from "../../src/workspaces.js";
import { createHarness, type Harness, HOST_TOKEN, json, snapshot, TOKEN, tempDir, waitFor } from "../helpers/harness.js";
import { bearer, drain, mint, send } from "./helpers.js";

const HOST = { "X-OpenWork-Host-Token": HOST_TOKEN };
const SSE = { Accept: "text/event-stream" };

describe("workspace-bound tokens", () => {
  let h: Harness;
  let other: string;
  let A: string;
  let B: string;
  let viewerA: string;
  let collaboratorA: string;
  let ownerA: { id: string; token: string };

  before(async () => {
    const root = await tempDir("ows-bound-a-");
    other = await tempDir("ows-bound-b-");
    h = await createHarness(
      {
        approval: { mode: "manual", timeoutMs: 10_000 },
        workspaces: [
          { path: root, name: "alpha", workspaceType: "local" },
          { path: other, name: "beta", workspaceType: "local" },
        ],
        authorizedRoots: [root, other],
      },
      { root },
    );
    A = h.wsId;
    B = workspaceId(other);
    viewerA = (await mint(h, { scope: "viewer", workspaces: [A] })).token;
    collaboratorA = (await mint(h, { scope: "collaborator", workspaces: [A] })).token;
    ownerA = await mint(h, { scope: "owner", label: "alpha owner", workspaces: [A] });
  });
  after(async () => {
    await h.close();
    await rm(h.root, { recursive: true, force: true });
    await rm(other, { recursive: true, force: true });
  });

  test("GET /workspaces and /status list only the token's workspaces", async () => {
    const list = await json(await send(h, "GET", "/workspaces", { headers: bearer(viewerA) }));
    assert.deepEqual(
      list.items.map((w: { id: string }) => w.id),
      [A],
    );
    const status = await json(await send(h, "GET", "/status", { headers: bearer(viewerA) }));
    assert.deepEqual(
      status.workspaces.map((w: { id: string }) => w.id),
      [A],
    );
    // The legacy client token and the host still see both.
    const all = await json(await send(h, "GET", "/workspaces", { headers: bearer(TOKEN) }));
    assert.deepEqual(
      all.items.map((w: { id: string }) => w.id),
      [A, B],
    );
  });

  test("whoami names the workspaces", async () => {
    const me = await json(await send(h, "GET", "/whoami", { headers: bearer(viewerA) }));
    assert.equal(me.kind, "token");
    assert.deepEqual(me.workspaces, [A]);
  });

  for (const path of [
    "/workspace/{B}/config",
    "/w/{B}/config",
    "/workspace/{B}/skills",
    "/w/{B}/workspaces",
    "/w/{B}/status",
    "/w/{B}/whoami",
    "/w/{B}/capabilities",
    "/workspace/{B}/events",
    "/workspace/ws_000000000000/config",
  ]) {
    test(`GET ${path} -> 403 workspace_forbidden; its own workspace answers`, async () => {
      const res = await send(h, "GET", path.replace("{B}", B), { headers: bearer(viewerA) });
      const body = await json(res);
      assert.equal(res.status, 403, JSON.stringify(body));
      assert.equal(body.code, "workspace_forbidden");
      if (path.includes("{B}")) {
        const own = await send(h, "GET", path.replace("{B}", A), { headers: bearer(viewerA) });
        assert.equal(own.status, 200);
        await own.body?.cancel();
      }
    });
  }

  test("an event stream of another workspace is refused; the own one opens", async () => {
    const res = await send(h, "GET", `/w/${B}/events`, { headers: { ...bearer(viewerA), ...SSE } });
    assert.equal(res.status, 403);
    assert.equal((await json(res)).code, "workspace_forbidden");
    const own = drain(await send(h, "GET", `/w/${A}/events`, { headers: { ...bearer(viewerA), ...SSE } }));
    await own.cancel();
  });

  test("a bound collaborator's write to another workspace is 403 and writes nothing", async () => {
    const before = await snapshot(other);
    for (const path of [`/workspace/${B}/config`, `/w/${B}/config`]) {
      const res = await send(h, "PATCH", path, { headers: bearer(collaboratorA), body: { opencode: { theme: "x" } } });
      assert.equal(res.status, 403);
      assert.equal((await json(res)).code, "workspace_forbidden");
    }
    assert.deepEqual(await snapshot(other), before);
    assert.deepEqual(h.services.approvals.list(), [], "nobody was asked");
  });

  test("approvals: a bound owner lists, streams and answers only its workspaces' requests", async () => {
    const stream = drain(await send(h, "GET", "/approvals", { headers: { ...bearer(ownerA.token), ...SSE } }));
    const writeA = send(h, "PATCH", `/workspace/${A}/config`, { headers: bearer(TOKEN), body: { opencode: { theme: "a" } } });
    const writeB = send(h, "PATCH", `/workspace/${B}/config`, { headers: bearer(TOKEN), body: { opencode: { theme: "b" } } });
    try {
      const pending = await waitFor(() => (h.services.approvals.list().length === 2 ? h.services.approvals.list() : undefined));
      const a = pending!.find((r) => r.workspaceId === A)!;
      const b = pending!.find((r) => r.workspaceId === B)!;
      const listed = await json(await send(h, "GET", "/approvals", { headers: bearer(ownerA.token) }));
      assert.deepEqual(
        listed.items.map((r: { id: string }) => r.id),
        [a.id],
      );
      const status = await json(await send(h, "GET", "/status", { headers: bearer(ownerA.token) }));
      assert.equal(status.pendingApprovals, 1);
      assert.equal((await json(await send(h, "GET", "/status", { headers: HOST }))).pendingApprovals, 2);

      const refused = await send(h, "POST", `/approvals/${b.id}`, { headers: bearer(ownerA.token), body: { reply: "allow" } });
      assert.equal(refused.status, 404, "another workspace's request is not there for this token");
      assert.ok(
        h.services.approvals.list().some((r) => r.id === b.id),
        "and it is still pending",
      );

      const allowed = await send(h, "POST", `/approvals/${a.id}`, { headers: bearer(ownerA.token), body: { reply: "allow" } });
      assert.deepEqual(await json(allowed), { ok: true, allowed: true });
      assert.equal((await writeA).status, 200);
      await waitFor(() => stream.text().includes("event: resolved"));
      assert.ok(stream.text().includes(a.id), "its own request is streamed");
      assert.ok(!stream.text().includes(b.id), "the other workspace's request never is");
      await send(h, "POST", `/approvals/${b.id}`, { headers: HOST, body: { reply: "deny" } });
      assert.equal((await writeB).status, 403);
    } finally {
      await stream.cancel();
    }
  });

  test("a bound owner cannot mint a wider token: no workspaces means its own, others are 403", async () => {
    const narrow = await mint(h, { scope: "viewer", label: "via bound owner" }, bearer(ownerA.token));
    assert.deepEqual(narrow.workspaces, [A]);
    for (const workspaces of [[B], [A, B]]) {
      const res = await send(h, "POST", "/tokens", { headers: bearer(ownerA.token), body: { scope: "viewer", label: "x", workspaces } });
      assert.equal(res.status, 403);
      assert.equal((await json(res)).code, "workspace_forbidden");
    }
    // It sees and revokes only tokens within its workspaces.
    const unbound = await mint(h, { scope: "viewer", label: "everywhere" });
    const listed = (await json(await send(h, "GET", "/tokens", { headers: bearer(ownerA.token) }))).items as Array<{
      id: string;
      workspaces?: string[];
    }>;
    assert.ok(listed.length >= 3);
    assert.ok(
      listed.every((t) => t.workspaces?.every((w) => w === A)),
      JSON.stringify(listed),
    );
    assert.ok(!listed.some((t) => t.id === unbound.id));
    const del = await send(h, "DELETE", `/tokens/${unbound.id}`, { headers: bearer(ownerA.token) });
    assert.equal(del.status, 404);
    assert.equal((await send(h, "GET", "/whoami", { headers: bearer(unbound.token) })).status, 200, "still active");
  });

  test("a bound owner cannot read the pairing details (the client token reaches every workspace)", async () => {
    const res = await send(h, "GET", "/host/pairing", { headers: bearer(ownerA.token) });
    const body = await json(res);
    assert.equal(res.status, 403, JSON.stringify(body));
    assert.equal(body.code, "workspace_forbidden");
    assert.ok(!JSON.stringify(body).includes(TOKEN));
    // An unbound owner token can.
    const owner = await mint(h, { scope: "owner", label: "everywhere owner" });
    const ok = await json(await send(h, "GET", "/host/pairing", { headers: bearer(owner.token) }));
    assert.equal(ok.token, TOKEN);
  });

  test("workspaces that are unknown, empty or repeated", async () => {
    for (const workspaces of [["ws_nope"], [], [A, "ws_nope"]]) {
      const res = await send(h, "POST", "/tokens", { headers: HOST, body: { scope: "viewer", label: "x", workspaces } });
      assert.equal(res.status, 400, JSON.stringify(workspaces));
      assert.equal((await json(res)).code, "invalid_payload");
    }
    const twice = await mint(h, { scope: "viewer", workspaces: [A, A] });
    assert.deepEqual(twice.workspaces, [A]);
  });
});
