// The engine link end to end, with real processes on real ports: a REAL OpenCode engine
// (`opencode serve`, offline, in a temp git repository, with a password) and our server as a
// child process pointed at it. Everything is written through OUR API, the engine is reloaded
// through OUR API, and what the engine loaded is checked through OPENCODE's own API.
import assert from "node:assert/strict";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { ReloadEvent } from "../../src/services/events.js";
import { workspaceId } from "../../src/workspaces.js";
import { type ChildServer, clientOf, okJson, startChildServer } from "../helpers/child-server.js";
import { type Engine, startOpencode } from "../helpers/opencode.js";
import { closedPort } from "../helpers/ports.js";

const TOKEN = "engine-it-client-token";
const HOST_TOKEN = "engine-it-host-token";

let engine: Engine;
let server: ChildServer;
const extra: ChildServer[] = [];
let ws: string;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Requests to our servers (any of them: `base` first) with the client token. */
const api = clientOf(TOKEN);

const ok = okJson;

/** GET from the engine's own API for the workspace directory. */
async function engineGet<T = any>(path: string): Promise<T> {
  const res = await engine.request(path, { directory: engine.repo });
  const text = await res.text();
  assert.equal(res.status, 200, `engine GET ${path}: ${res.status} ${text}\n${engine.logs().slice(-2000)}`);
  return JSON.parse(text) as T;
}

async function ourServer(args: string[]): Promise<ChildServer> {
  const child = await startChildServer(
    ["--workspace", engine.repo, "--token", TOKEN, "--host-token", HOST_TOKEN, "--approval", "auto", ...args],
    // Our server's own config and global folders: the engine's temp HOME, never the user's.
    { env: { HOME: engine.home, XDG_CONFIG_HOME: join(engine.home, ".config") } },
  );
  return child;
}

/** Collects the events of an SSE response body into `into` until the body ends. */
async function collectSse(res: Response, into: ReloadEvent[]) {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const id = /^id: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (data) {
          const event = JSON.parse(data) as ReloadEvent;
          assert.equal(id, String(event.seq), "id: is the seq");
          into.push(event);
        }
      }
    }
  } catch {
    // aborted
  }
}

before(async () => {
  engine = await startOpencode();
  ws = workspaceId(engine.repo);
  server = await ourServer(["--opencode-base-url", engine.url, "--opencode-password", engine.password]);
});

after(async () => {
  for (const child of [server, ...extra]) await child?.stop().catch(() => {});
  await engine?.stop();
});

describe("engine link against a real OpenCode", { timeout: 120_000 }, () => {
  const stream: ReloadEvent[] = [];
  const streamAbort = new AbortController();
  let streaming: Promise<void>;

  test("our server names the engine; the engine serves the workspace and knows none of our items yet", async () => {
    const { items } = await ok(await api(server.url, "GET", "/workspaces"));
    assert.equal(items[0].id, ws);
    assert.equal(items[0].baseUrl, engine.url);
    const commands = await engineGet<Array<{ name: string }>>("/command");
    assert.ok(!commands.some((c) => c.name.startsWith("ow-")), JSON.stringify(commands.map((c) => c.name)));
    const skills = await engineGet<Array<{ name: string }>>("/skill");
    assert.ok(!skills.some((s) => s.name === "ow-hello"));

    // Follow the live event stream over the real socket while we write.
    const res = await fetch(`${server.url}/workspace/${ws}/events`, {
      headers: { Authorization: `Bearer ${TOKEN}`, Accept: "text/event-stream" },
      signal: streamAbort.signal,
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /text\/event-stream/);
    streaming = collectSse(res, stream);
  });

  test("write a skill, two commands, two MCP servers and a local plugin through our API", async () => {
    const base = `/workspace/${ws}`;
    await ok(
      await api(server.url, "POST", `${base}/skills`, {
        name: "ow-hello",
        description: "Greets people politely",
        content: "When asked to greet, say hello.\n",
      }),
    );
    await ok(
      await api(server.url, "POST", `${base}/commands`, { name: "ow-greet", description: "Greet someone", template: "Greet $ARGUMENTS" }),
    );
    await ok(
      await api(server.url, "POST", `${base}/commands`, {
        name: "ow-review",
        description: "Review in a subtask",
        template: "Review $ARGUMENTS carefully",
        agent: "plan",
        model: null,
        subtask: true,
      }),
    );
    // A local server the engine must not spawn (disabled) and a remote one on a closed port.
    await ok(
      await api(server.url, "POST", `${base}/mcp`, {
        name: "ow-local",
        config: { type: "local", command: ["node", "-e", "process.exit(0)"], enabled: false },
      }),
    );
    await ok(
      await api(server.url, "POST", `${base}/mcp`, {
        name: "ow-remote",
        config: { type: "remote", url: "http://127.0.0.1:9/mcp", enabled: false },
      }),
    );
    // A local plugin: a file in the repository (as its author would have it), added by path.
    // When the engine loads it, it leaves a marker file (outside everything watched).
    await mkdir(join(engine.repo, "tools"), { recursive: true });
    await writeFile(
      join(engine.repo, "tools", "ow-plugin.js"),
      'import { writeFileSync } from "node:fs";\n' +
        "export const OwMarker = async () => {\n" +
        '  writeFileSync(new URL("../ow-plugin-loaded.txt", import.meta.url), String(Date.now()));\n' +
        "  return {};\n" +
        "};\n",
    );
    await ok(await api(server.url, "POST", `${base}/plugins`, { spec: "./tools/ow-plugin.js" }));

    // OpenCode does not hot-reload: until we ask, the engine still has the old state.
    const commands = await engineGet<Array<{ name: string }>>("/command");
    assert.ok(!commands.some((c) => c.name === "ow-greet"), "not visible before the reload");
  });

  test("each write is one reload event (live on the stream too), none reported twice by the watcher", async () => {
    await sleep(2500); // longer than the watcher's debounce and our-write window
    const { items, cursor } = await ok<{ items: ReloadEvent[]; cursor: number }>(
      await api(server.url, "GET", `/workspace/${ws}/events?since=0`),
    );
    assert.deepEqual(
      items.map((e) => `${e.reason}:${e.trigger?.source}`),
      ["skills:api", "commands:api", "commands:api", "mcp:api", "mcp:api", "plugins:api"],
    );
    assert.equal(cursor, items[items.length - 1]!.seq);
    assert.deepEqual(
      stream.map((e) => e.seq),
      items.map((e) => e.seq),
      "the SSE stream carried the same events",
    );
  });

  test("reload through our API; the engine then has every item and still loads the directory", async () => {
    // An idle session does not hold the reload up (the engine lists only busy ones: `{}`).
    const session = await engine.request("/session", {
      method: "POST",
      directory: engine.repo,
      headers: { "Content-Type": "application/json" },
      body: "{}",
    });
    assert.equal(session.status, 200, await session.clone().text());
    assert.deepEqual(await engineGet("/session/status"), {});
    const started = Date.now();
    const body = await ok(await api(server.url, "POST", `/workspace/${ws}/engine/reload`));
    assert.equal(body.ok, true);
    assert.ok(body.reloadedAt >= started);
    assert.ok(Date.now() - started < 5000, "no wait for an idle engine");

    const commands =
      await engineGet<Array<{ name: string; template: string; description?: string; agent?: string; subtask?: boolean }>>("/command");
    const greet = commands.find((c) => c.name === "ow-greet");
    assert.ok(greet, JSON.stringify(commands.map((c) => c.name)));
    assert.equal(greet.template.trim(), "Greet $ARGUMENTS");
    assert.equal(greet.description, "Greet someone");
    const review = commands.find((c) => c.name === "ow-review");
    assert.ok(review);
    assert.equal(review.agent, "plan");
    assert.equal(review.subtask, true);
    assert.equal(review.template.trim(), "Review $ARGUMENTS carefully");

    const skills = await engineGet<Array<{ name: string; description?: string; location: string }>>("/skill");
    const hello = skills.find((s) => s.name === "ow-hello");
    assert.ok(hello, JSON.stringify(skills.map((s) => s.name)));
    assert.equal(hello.description, "Greets people politely");
    assert.equal(hello.location, join(engine.repo, ".opencode", "skills", "ow-hello", "SKILL.md"));

    // The directory's config loads (a config the engine rejects would be a 400 here).
    const config = await engineGet<{ mcp?: Record<string, any>; plugin?: string[] }>("/config");
    assert.deepEqual(config.mcp?.["ow-local"], { type: "local", command: ["node", "-e", "process.exit(0)"], enabled: false });
    assert.deepEqual(config.mcp?.["ow-remote"], { type: "remote", url: "http://127.0.0.1:9/mcp", enabled: false });
    assert.ok(config.plugin?.includes(`file://${join(engine.repo, "tools", "ow-plugin.js")}`), JSON.stringify(config.plugin));
    const mcp = await engineGet<Record<string, { status: string }>>("/mcp");
    assert.equal(mcp["ow-local"]?.status, "disabled");
    assert.equal(mcp["ow-remote"]?.status, "disabled");
    // The plugin's code ran inside the engine.
    const marker = await readFile(join(engine.repo, "ow-plugin-loaded.txt"), "utf8");
    assert.ok(Number(marker) >= started, "loaded by this reload");

    const audit = await ok(await api(server.url, "GET", `/workspace/${ws}/audit`));
    assert.equal(audit.items[0].action, "engine.reload");

    // Loading a config without "$schema", the engine adds it to the file itself: a change made
    // by someone else, so the watcher reports it (once).
    let fromEngine: ReloadEvent[] = [];
    for (let i = 0; i < 50 && fromEngine.length === 0; i++) {
      await sleep(100);
      const all: ReloadEvent[] = (await ok(await api(server.url, "GET", `/workspace/${ws}/events`))).items;
      fromEngine = all.filter((e) => e.trigger?.source === "watcher");
    }
    assert.deepEqual(
      fromEngine.map((e) => [e.reason, e.trigger?.path]),
      [["config", "opencode.json"]],
    );
    assert.match(await readFile(join(engine.repo, "opencode.json"), "utf8"), /"\$schema": "https:\/\/opencode.ai\/config.json"/);
  });

  test("a change made by someone else is reported by the watcher and reaches the engine on reload", async () => {
    await sleep(1000); // let the engine's own write above settle
    const { cursor } = await ok(await api(server.url, "GET", `/workspace/${ws}/events`));
    // As an editor would: rewrite the command file in place.
    await writeFile(
      join(engine.repo, ".opencode", "commands", "ow-greet.md"),
      "---\ndescription: Greet warmly\n---\nGreet $ARGUMENTS warmly\n",
    );
    let items: ReloadEvent[] = [];
    for (let i = 0; i < 50 && items.length === 0; i++) {
      await sleep(100);
      items = (await ok(await api(server.url, "GET", `/workspace/${ws}/events?since=${cursor}`))).items;
    }
    assert.deepEqual(
      items.map((e) => [e.reason, e.trigger?.source, e.trigger?.path]),
      [["commands", "watcher", ".opencode/commands/ow-greet.md"]],
    );
    assert.equal(stream[stream.length - 1]?.seq, items[0]!.seq, "and live on the stream");

    await ok(await api(server.url, "POST", `/workspace/${ws}/engine/reload?force=true`));
    const greet = (await engineGet<Array<{ name: string; template: string; description?: string }>>("/command")).find(
      (c) => c.name === "ow-greet",
    );
    assert.equal(greet?.description, "Greet warmly");
    assert.equal(greet?.template.trim(), "Greet $ARGUMENTS warmly");

    // What else the engine wrote while booting (.opencode/.gitignore, package files,
    // node_modules) is not reported: besides our writes, only the two changes above.
    await sleep(1500);
    const all: ReloadEvent[] = (await ok(await api(server.url, "GET", `/workspace/${ws}/events`))).items;
    const fromWatcher = all.filter((e) => e.trigger?.source === "watcher");
    assert.deepEqual(
      fromWatcher.map((e) => e.trigger?.path),
      ["opencode.json", ".opencode/commands/ow-greet.md"],
      JSON.stringify(fromWatcher),
    );
  });

  test("a read-only server refuses writes but still reloads the engine", async () => {
    const readOnly = await ourServer(["--read-only", "--opencode-base-url", engine.url, "--opencode-password", engine.password]);
    extra.push(readOnly);
    const res = await api(readOnly.url, "POST", `/workspace/${ws}/skills`, { name: "nope", description: "No", content: "No\n" });
    assert.equal(res.status, 403);
    assert.equal((await res.json()).code, "read_only");
    await assert.rejects(stat(join(engine.repo, ".opencode", "skills", "nope")));
    const body = await ok(await api(readOnly.url, "POST", `/workspace/${ws}/engine/reload`));
    assert.equal(body.ok, true);
    assert.ok((await engineGet<Array<{ name: string }>>("/command")).some((c) => c.name === "ow-review"));
    await readOnly.stop();
  });

  test("failures map to clear errors: wrong password 502, engine down 502", async () => {
    const wrong = await ourServer(["--opencode-base-url", engine.url, "--opencode-password", "not-the-password"]);
    extra.push(wrong);
    let res = await api(wrong.url, "POST", `/workspace/${ws}/engine/reload`);
    let body = await res.json();
    assert.equal(res.status, 502, JSON.stringify(body));
    assert.equal(body.code, "opencode_reload_failed");
    assert.equal(body.details.status, 401);
    await wrong.stop();

    const port = await closedPort();
    const down = await ourServer(["--opencode-base-url", `http://127.0.0.1:${port}`]);
    extra.push(down);
    res = await api(down.url, "POST", `/workspace/${ws}/engine/reload`);
    body = await res.json();
    assert.equal(res.status, 502, JSON.stringify(body));
    assert.equal(body.code, "opencode_unreachable");
    res = await api(down.url, "POST", `/workspace/${ws}/engine/reload?force=true`);
    assert.equal(res.status, 502);
    await down.stop();

    // Without an engine configured at all.
    const none = await ourServer([]);
    extra.push(none);
    res = await api(none.url, "POST", `/workspace/${ws}/engine/reload`);
    body = await res.json();
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.equal(body.code, "opencode_not_configured");
    await none.stop();
  });

  test("the stream ends cleanly when the client goes away", async () => {
    streamAbort.abort();
    await streaming;
  });
});
