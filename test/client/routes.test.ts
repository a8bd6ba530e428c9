// Every route group driven through the published client (over app.request): what a script or an
// app using `openwork-server/client` gets — typed answers, OpenworkError for failures — for the
// server, devices, approvals, host, config, audit, plugins, MCP, skills, commands, export/import,
// events and engine routes, directly and through the /w/:id mount.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import { createClient, OpenworkError } from "../../src/client/index.js";
import { createHarness, type Harness, HOST_TOKEN, TOKEN } from "../helpers/harness.js";

let h: Harness;
beforeEach(async () => {
  h = await createHarness();
});
afterEach(() => h.close());

/** The OpenworkError a call fails with. */
async function failure(call: Promise<unknown>): Promise<OpenworkError> {
  const error = await call.then(
    () => assert.fail("expected the call to fail"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof OpenworkError, String(error));
  return error;
}

describe("through the client", () => {
  test("server: health, capabilities, whoami, status, workspaces, the OpenAPI document", async () => {
    const health = await h.client.getHealth();
    assert.equal(health.ok, true);
    assert.equal(health.version, h.services.version);
    const capabilities = await h.client.getCapabilities();
    assert.equal(capabilities.scope, "collaborator");
    assert.equal(capabilities.skills.write, true);
    const tablet = createClient({ baseUrl: "http://localhost", token: TOKEN, clientId: "tablet", fetch: (u, i) => h.app.request(u, i) });
    assert.deepEqual(await tablet.whoami(), { kind: "legacy", scope: "collaborator", clientId: "tablet" });
    assert.equal((await h.hostClient.whoami()).kind, "host");
    const status = await h.client.getStatus();
    assert.deepEqual(
      status.workspaces.map((w) => w.id),
      [h.wsId],
    );
    assert.equal(status.instanceId, h.services.instanceId);
    const { items } = await h.client.listWorkspaces();
    assert.deepEqual(
      items.map((w) => [w.id, w.path]),
      [[h.wsId, h.root]],
    );
    const doc = (await h.client.getOpenapi()) as { openapi: string };
    assert.equal(doc.openapi, "3.1.0");
    // Without a token only health answers.
    const anonymous = createClient({ baseUrl: "http://localhost", fetch: (u, i) => h.app.request(u, i) });
    assert.equal((await anonymous.getHealth()).ok, true);
    const error = await failure(anonymous.getCapabilities());
    assert.deepEqual([error.status, error.code, error.details?.reason], [401, "unauthorized", "missing"]);
  });

  test("devices: create, list and revoke a token; its holder is who it says", async () => {
    const created = await h.hostClient.createToken({ body: { scope: "viewer", label: "Susan's phone", workspaces: [h.wsId] } });
    assert.match(created.token, /^owt_/);
    assert.deepEqual(
      (await h.hostClient.listTokens()).items.map((t) => [t.id, t.label, t.scope]),
      [[created.id, "Susan's phone", "viewer"]],
    );
    const phone = createClient({ baseUrl: "http://localhost", token: created.token, fetch: (u, i) => h.app.request(u, i) });
    assert.deepEqual(await phone.whoami(), {
      kind: "token",
      scope: "viewer",
      tokenId: created.id,
      label: "Susan's phone",
      workspaces: [h.wsId],
    });
    const refused = await failure(phone.upsertCommand({ id: h.wsId, body: { name: "x", template: "x" } }));
    assert.deepEqual([refused.status, refused.code], [403, "insufficient_scope"]);
    assert.deepEqual(await h.hostClient.deleteToken({ id: created.id }), { ok: true });
    const revoked = await failure(phone.whoami());
    assert.deepEqual([revoked.status, revoked.details?.reason], [401, "revoked"]);
    const unknown = await failure(h.hostClient.deleteToken({ id: created.id }));
    assert.deepEqual([unknown.status, unknown.code], [404, "token_not_found"]);
    // The client token is not an owner.
    assert.equal((await failure(h.client.listTokens())).code, "insufficient_scope");
  });

  test("approvals and host: pending and decided lists, grants, an unknown reply, the pairing data", async () => {
    assert.deepEqual(await h.hostClient.listApprovals(), { items: [] });
    await h.client.patchConfig({ id: h.wsId, body: { opencode: { theme: "dark" } } });
    const decided = await h.hostClient.listApprovals({ query: { state: "decided", limit: 5 } });
    assert.equal(decided.items.length, 1);
    const grant = await h.hostClient.createGrant({
      body: { tokenId: "legacy", workspaceId: h.wsId, actions: ["skills.upsert"], ttlMs: 60_000 },
    });
    assert.deepEqual(
      (await h.hostClient.listGrants()).items.map((g) => g.id),
      [grant.id],
    );
    assert.deepEqual(await h.hostClient.deleteGrant({ id: grant.id }), { ok: true });
    const unknown = await failure(h.hostClient.replyApproval({ id: "apr_nope", body: { reply: "allow" } }));
    assert.deepEqual([unknown.status, unknown.code], [404, "not_found"]);
    const bad = await failure(h.hostClient.listApprovals({ query: { state: "later" as "pending" } }));
    assert.deepEqual([bad.status, bad.code], [400, "invalid_payload"]);
    const pairing = await h.hostClient.getPairing();
    assert.equal(pairing.token, TOKEN);
    assert.deepEqual(
      pairing.workspaces.map((w) => [w.id, w.authorized]),
      [[h.wsId, true]],
    );
  });

  test("config: the ETag from request(), If-Match on the write, 412 when stale", async () => {
    const first = await h.client.request("getConfig", { id: h.wsId });
    assert.deepEqual(first.data, { opencode: {}, openwork: {}, updatedAt: null });
    const etag = first.headers.get("ETag")!;
    assert.ok(etag);
    const patched = await h.client.patchConfig({ id: h.wsId, body: { opencode: { theme: "dark" } }, headers: { "If-Match": etag } });
    assert.deepEqual(patched.opencode, { theme: "dark" });
    const stale = await failure(
      h.client.patchConfig({ id: h.wsId, body: { opencode: { theme: "light" } }, headers: { "If-Match": etag } }),
    );
    assert.deepEqual([stale.status, stale.code], [412, "conflict"]);
    const empty = await failure(h.client.patchConfig({ id: h.wsId, body: {} }));
    assert.deepEqual([empty.status, empty.code], [400, "invalid_payload"]);
  });

  test("audit: entries newest first, limit as a number", async () => {
    for (const n of [1, 2, 3]) await h.client.patchConfig({ id: h.wsId, body: { openwork: { n } } });
    const { items } = await h.client.listAudit({ id: h.wsId, query: { limit: 2 } });
    assert.equal(items.length, 2);
    assert.ok(items.every((e) => e.action === "config.patch" && e.outcome === "applied"));
    assert.ok(items[0]!.timestamp >= items[1]!.timestamp);
    const bad = await failure(h.client.listAudit({ id: h.wsId, query: { limit: 0 } }));
    assert.deepEqual([bad.status, bad.code], [400, "invalid_payload"]);
  });

  test("plugins: add a scoped package, list it, remove it by name (the slash encoded)", async () => {
    const added = await h.client.addPlugin({ id: h.wsId, body: { spec: "@acme/opencode-tools@1.2.0" } });
    assert.equal(added.changed, true);
    assert.deepEqual(
      (await h.client.listPlugins({ id: h.wsId, query: { includeGlobal: false } })).items.map((p) => p.spec),
      ["@acme/opencode-tools@1.2.0"],
    );
    const removed = await h.client.removePlugin({ id: h.wsId, name: "@acme/opencode-tools" });
    assert.deepEqual(removed.items, []);
    const missing = await failure(h.client.removePlugin({ id: h.wsId, name: "@acme/opencode-tools" }));
    assert.deepEqual([missing.status, missing.code], [404, "not_found"]);
    // Global plugins are the host user's: owner only.
    assert.equal((await failure(h.client.listPlugins({ id: h.wsId, query: { includeGlobal: true } }))).status, 403);
  });

  test("MCP: add, list, remove", async () => {
    const { items } = await h.client.addMcp({
      id: h.wsId,
      body: { name: "docs", config: { type: "remote", url: "https://mcp.example/x" } },
    });
    assert.deepEqual(
      items.map((m) => [m.name, m.source]),
      [["docs", "config.project"]],
    );
    assert.equal((await h.client.listMcp({ id: h.wsId })).items.length, 1);
    assert.deepEqual((await h.client.removeMcp({ id: h.wsId, name: "docs" })).items, []);
    const bad = await failure(h.client.addMcp({ id: h.wsId, body: { name: "-x", config: { type: "remote", url: "https://x" } } }));
    assert.deepEqual([bad.status, bad.code], [400, "invalid_name"]);
  });

  test("skills: upsert, list, read, delete", async () => {
    const skill = await h.client.upsertSkill({
      id: h.wsId,
      body: { name: "release-notes", content: "Write release notes.\n", description: "Drafts notes" },
    });
    assert.deepEqual([skill.name, skill.scope, skill.description], ["release-notes", "project", "Drafts notes"]);
    assert.deepEqual(
      (await h.client.listSkills({ id: h.wsId })).items.map((s) => s.name),
      ["release-notes"],
    );
    const { content } = await h.client.getSkill({ id: h.wsId, name: "release-notes" });
    assert.equal(content, await readFile(join(h.root, ".opencode/skills/release-notes/SKILL.md"), "utf8"));
    assert.deepEqual(await h.client.deleteSkill({ id: h.wsId, name: "release-notes" }), { ok: true, name: "release-notes" });
    const gone = await failure(h.client.getSkill({ id: h.wsId, name: "release-notes" }));
    assert.deepEqual([gone.status, gone.code], [404, "not_found"]);
  });

  test("commands: upsert (model null, a leading slash), list, delete -> { ok: true }", async () => {
    const { items } = await h.client.upsertCommand({ id: h.wsId, body: { name: "/deploy", template: "Ship $ARGUMENTS", model: null } });
    assert.deepEqual(
      items.map((c) => [c.name, c.model, c.scope]),
      [["deploy", null, "workspace"]],
    );
    assert.equal((await h.client.listCommands({ id: h.wsId, query: { scope: "workspace" } })).items.length, 1);
    assert.deepEqual(await h.client.deleteCommand({ id: h.wsId, name: "deploy" }), { ok: true, name: "deploy" });
    const blank = await failure(h.client.upsertCommand({ id: h.wsId, body: { name: "x", template: "  " } }));
    assert.equal(blank.status, 400);
  });

  test("export and import: preview writes nothing, import applies, the export carries it", async () => {
    const body = { commands: [{ name: "hello", template: "Say hello" }], openwork: { theme: "x" } };
    const preview = await h.client.previewImport({ id: h.wsId, body });
    assert.deepEqual(preview.commands.added, ["hello"]);
    assert.deepEqual((await h.client.listCommands({ id: h.wsId })).items, []);
    const imported = await h.client.importWorkspace({ id: h.wsId, body });
    assert.deepEqual([imported.ok, imported.changed], [true, true]);
    const exported = await h.client.exportWorkspace({ id: h.wsId });
    assert.deepEqual(
      exported.commands.map((c) => c.name),
      ["hello"],
    );
    assert.match(exported.commands[0]!.template, /^Say hello\n?$/);
    assert.deepEqual(exported.openwork, { theme: "x" });
  });

  test("events and engine: the JSON listing with since; a reload without an engine is refused", async () => {
    await h.client.upsertCommand({ id: h.wsId, body: { name: "a", template: "A" } });
    await h.client.upsertCommand({ id: h.wsId, body: { name: "b", template: "B" } });
    const { items, cursor } = await h.client.listEvents({ id: h.wsId, query: { since: 1 } });
    assert.deepEqual(
      items.map((e) => e.seq),
      [2],
    );
    assert.equal(cursor, 2);
    const error = await failure(h.client.reloadEngine({ id: h.wsId, query: { force: true } }));
    assert.deepEqual([error.status, error.code], [400, "opencode_not_configured"]);
  });

  test("from a page of another origin: every header the client sends passes the preflight; ETag and Retry-After are readable", async () => {
    const sent = new Set<string>();
    const recording = createClient({
      baseUrl: "http://localhost",
      token: TOKEN,
      hostToken: HOST_TOKEN,
      clientId: "page",
      fetch: (url, init) => {
        for (const name of new Headers(init.headers).keys()) sent.add(name);
        return h.app.request(url, init);
      },
    });
    await recording.patchConfig({ id: h.wsId, body: { openwork: { a: 1 } } });
    const controller = new AbortController();
    const events = recording.streamEvents({ id: h.wsId, since: 0, signal: controller.signal, onOpen: () => controller.abort() });
    assert.deepEqual(await events.next(), { done: true, value: undefined });
    // The two a caller or a reconnection adds (test/client/client.test.ts shows them sent).
    for (const name of ["if-match", "last-event-id"]) sent.add(name);
    assert.deepEqual([...sent].sort(), [
      "accept",
      "authorization",
      "content-type",
      "if-match",
      "last-event-id",
      "x-openwork-client-id",
      "x-openwork-host-token",
    ]);
    const preflight = await h.app.request(h.ws("/config"), {
      method: "OPTIONS",
      headers: {
        Origin: "https://app.example",
        "Access-Control-Request-Method": "PATCH",
        "Access-Control-Request-Headers": [...sent].join(", "),
      },
    });
    const allowed = (preflight.headers.get("Access-Control-Allow-Headers") ?? "").toLowerCase().split(/,\s*/);
    // Accept (with these values) is safelisted: a browser does not ask for it.
    for (const name of [...sent].filter((n) => n !== "accept")) assert.ok(allowed.includes(name), `${name} is allowed (${allowed})`);
    const res = await h.app.request("/health", { headers: { Origin: "https://app.example" } });
    const exposed = (res.headers.get("Access-Control-Expose-Headers") ?? "").toLowerCase().split(/,\s*/);
    assert.ok(exposed.includes("etag") && exposed.includes("retry-after"), `exposed: ${exposed}`);
  });

  test("the /w/:id mount: workspace(id) and a shared one-workspace URL reach the same workspace", async () => {
    const ws = h.client.workspace(h.wsId);
    await ws.upsertSkill({ body: { name: "mounted", content: "Mounted skill\n", description: "Via /w" } });
    assert.deepEqual(
      (await h.client.listSkills({ id: h.wsId })).items.map((s) => s.name),
      ["mounted"],
    );
    const shared = createClient({ baseUrl: `http://localhost/w/${h.wsId}`, token: TOKEN, fetch: (u, i) => h.app.request(u, i) });
    const mine = shared.workspace();
    assert.deepEqual(
      (await mine.listWorkspaces()).items.map((w) => w.id),
      [h.wsId],
    );
    assert.deepEqual((await mine.getStatus()).workspaces.length, 1);
    assert.deepEqual(await mine.deleteSkill({ name: "mounted" }), { ok: true, name: "mounted" });
    const unknown = await failure(h.client.workspace("ws_000000000000").listSkills());
    assert.deepEqual([unknown.status, unknown.code], [404, "workspace_not_found"]);
  });
});
