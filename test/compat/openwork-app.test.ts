// Compatibility with the OpenWork app's own client, driven the way it talks to the server (SPEC
// 2-6), over a real socket: `Content-Type: application/json` on every request, bodiless GET and
// DELETE included; the bearer token and the host token together on every request when it has
// both; `model: null` and a leading `/` on command names; `ok` checked on the DELETE of a
// command; the first workspace taken when it cannot match one by path.
import assert from "node:assert/strict";
import { mkdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { silentLogger } from "../../src/logger.js";
import { type RunningServer, startServer } from "../../src/server.js";
import { HOST_TOKEN, putFile, TOKEN, tempDir, testSettings } from "../helpers/harness.js";

let parent: string;
let server: RunningServer;
let base: string;
/** Configured second-before-first, so an answer in name or id order would show. */
let paths: string[];

before(async () => {
  parent = await tempDir("ows-compat-");
  paths = [join(parent, "zeta"), join(parent, "alpha")];
  for (const path of paths) await mkdir(path);
  await putFile(join(paths[0]!, ".opencode/skills/review/SKILL.md"), "---\nname: review\ndescription: Reviews changes\n---\nReview.\n");
  await putFile(join(paths[0]!, "opencode.json"), '{ "plugin": ["opencode-wakatime@1.2"], "mcp": {} }\n');
  const settings = testSettings(paths[0]!, {
    workspaces: paths.map((path) => ({ path, workspaceType: "local" as const })),
    authorizedRoots: paths,
  });
  server = await startServer(settings, silentLogger, { watch: false });
  base = server.urls[0]!;
});
after(async () => {
  await server.close();
  await rm(parent, { recursive: true, force: true });
});

/** The app's request: JSON content type always, the bearer token, and the host token when it has one. */
async function app(method: string, path: string, body?: unknown, tokens: { host?: boolean } = { host: true }) {
  const headers: Record<string, string> = { "Content-Type": "application/json", Authorization: `Bearer ${TOKEN}` };
  if (tokens.host) headers["X-OpenWork-Host-Token"] = HOST_TOKEN;
  const res = await fetch(`${base}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** The workspace the app picks: one whose path matches, else the first item. */
async function pickWorkspace(wantedPath: string | undefined) {
  const { status, body } = await app("GET", "/workspaces");
  assert.equal(status, 200);
  return body.items.find((w: { path: string }) => w.path === wantedPath) ?? body.items[0];
}

describe("the OpenWork app's client", () => {
  for (const host of [true, false]) {
    test(`connects and reads everything (${host ? "both tokens" : "client token only"}), Content-Type on every bodiless GET`, async () => {
      const health = await app("GET", "/health", undefined, { host });
      assert.equal(health.status, 200);
      assert.equal(health.body.ok, true);
      const capabilities = await app("GET", "/capabilities", undefined, { host });
      assert.equal(capabilities.status, 200);
      for (const kind of ["skills", "plugins", "mcp", "commands", "config"]) {
        assert.deepEqual(capabilities.body[kind].read, true, kind);
        assert.deepEqual(capabilities.body[kind].write, true, kind);
      }
      assert.equal(capabilities.body.skills.source, "openwork");

      const { status, body } = await app("GET", "/workspaces", undefined, { host });
      assert.equal(status, 200);
      assert.deepEqual(
        body.items.map((w: { path: string }) => w.path),
        paths,
        "every workspace, in configured order",
      );
      const ws = body.items[0];
      const w = `/workspace/${ws.id}`;
      const config = await app("GET", `${w}/config`, undefined, { host });
      assert.equal(config.status, 200);
      assert.deepEqual(config.body.opencode.plugin, ["opencode-wakatime@1.2"]);
      const skills = await app("GET", `${w}/skills`, undefined, { host });
      assert.deepEqual(
        skills.body.items.map((s: { name: string }) => s.name),
        ["review"],
      );
      const plugins = await app("GET", `${w}/plugins`, undefined, { host });
      assert.deepEqual(
        plugins.body.items.map((p: { spec: string }) => p.spec),
        ["opencode-wakatime@1.2"],
      );
      assert.equal((await app("GET", `${w}/mcp`, undefined, { host })).status, 200);
      assert.equal((await app("GET", `${w}/commands`, undefined, { host })).status, 200);
      const events = await app("GET", `${w}/events?since=0`, undefined, { host });
      assert.equal(events.status, 200);
      assert.ok(Array.isArray(events.body.items) && typeof events.body.cursor === "number");
    });
  }

  test("takes the first workspace when it cannot match by path", async () => {
    assert.equal((await pickWorkspace("/somewhere/else")).path, paths[0]);
    assert.equal((await pickWorkspace(paths[1])).path, paths[1]);
  });

  test("commands: `model: null` and a leading `/` on the name, DELETE with a content type and no body -> { ok: true }", async () => {
    const ws = await pickWorkspace(undefined);
    const w = `/workspace/${ws.id}`;
    const created = await app("POST", `${w}/commands`, {
      name: "/ship",
      description: "Ship it",
      template: "Ship $ARGUMENTS",
      agent: null,
      model: null,
      subtask: null,
    });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const item = created.body.items.find((c: { name: string }) => c.name === "ship");
    assert.ok(item, "listed without the slash");
    assert.equal(item.model, null);
    const file = await readFile(join(ws.path, ".opencode/commands/ship.md"), "utf8");
    assert.doesNotMatch(file, /null/, "no null written: OpenCode would refuse the directory");
    assert.doesNotMatch(file, /^name:/m);

    const removed = await app("DELETE", `${w}/commands/ship`);
    assert.equal(removed.status, 200);
    assert.equal(removed.body.ok, true);
    const again = await app("DELETE", `${w}/commands/ship`);
    assert.equal(again.status, 404);
    assert.equal(again.body.code, "not_found");
  });

  test("writes and deletes of skills, plugins, MCP and config with both tokens, recorded as the host", async () => {
    const ws = await pickWorkspace(paths[1]);
    const w = `/workspace/${ws.id}`;
    assert.equal((await app("POST", `${w}/skills`, { name: "notes", content: "Take notes.\n", description: "Notes" })).status, 200);
    assert.equal((await app("DELETE", `${w}/skills/notes`)).status, 200);
    assert.equal((await app("POST", `${w}/plugins`, { spec: "opencode-foo@1" })).status, 200);
    assert.equal((await app("DELETE", `${w}/plugins/opencode-foo`)).status, 200);
    assert.equal((await app("POST", `${w}/mcp`, { name: "docs", config: { type: "remote", url: "https://mcp.example" } })).status, 200);
    assert.equal((await app("DELETE", `${w}/mcp/docs`)).status, 200);
    const patched = await app("PATCH", `${w}/config`, { opencode: { theme: "dark" } });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.opencode.theme, "dark");
    const audit = await app("GET", `${w}/audit?limit=10`);
    assert.equal(audit.body.items.length, 7);
    assert.ok(audit.body.items.every((e: { actor: { type: string } }) => e.actor.type === "host"));
    const events = await app("GET", `${w}/events?since=0`);
    assert.deepEqual(
      events.body.items.map((e: { reason: string }) => e.reason),
      ["skills", "skills", "plugins", "plugins", "mcp", "mcp", "config"],
    );
  });

  test("the events stream with the app's headers", async () => {
    const ws = await pickWorkspace(undefined);
    const controller = new AbortController();
    const res = await fetch(`${base}/workspace/${ws.id}/events?since=0`, {
      headers: {
        "Content-Type": "application/json",
        Authorization: `Bearer ${TOKEN}`,
        "X-OpenWork-Host-Token": HOST_TOKEN,
        Accept: "text/event-stream",
      },
      signal: controller.signal,
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("Content-Type") ?? "", /^text\/event-stream/);
    const reader = res.body!.getReader();
    let text = "";
    while (!/\n\n/.test(text.replace(/^: connected\n\n/, ""))) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    controller.abort();
    assert.match(text, /data: \{.*"reason":"commands"/, "the command written above is replayed");
  });

  test("a POST without a body (engine reload) is never refused for its content type", async () => {
    const ws = await pickWorkspace(undefined);
    const res = await app("POST", `/workspace/${ws.id}/engine/reload`);
    // No engine is configured here: the answer is about that, not about the request's shape.
    assert.deepEqual([res.status, res.body.code], [400, "opencode_not_configured"]);
  });
});
