// The gateway and agents end to end, with real processes on real ports: a REAL OpenCode engine
// (`opencode serve`, offline, in a temp git repository, with a password) and our server as a
// child process in front of it. Sessions and events go through OUR gateway; agents are written
// through OUR API; what the engine did is checked through OPENCODE's own API.
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { workspaceId } from "../../src/workspaces.js";
import { type ChildServer, clientOf, okJson, startChildServer } from "../helpers/child-server.js";
import { type Engine, startOpencode } from "../helpers/opencode.js";
import { closedPort } from "../helpers/ports.js";
import { SseReader } from "../helpers/sse.js";

const TOKEN = "gateway-it-token";
const HOST_TOKEN = "gateway-it-host-token";

let engine: Engine;
let server: ChildServer;
let ws: string;
let outsideDir: string;
/** A second workspace, without an engine, for tokens bound to it. */
let otherDir: string;

const request = clientOf(TOKEN);
const api = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}, base = server.url) =>
  request(base, method, path, body, headers);

const ok = okJson;

async function refused(res: Response, status: number, code: string) {
  const text = await res.text();
  assert.equal(res.status, status, text);
  const body = JSON.parse(text);
  assert.equal(body.code, code, text);
  return body;
}

/** GET from the engine's own API for the workspace directory. */
async function engineGet<T = any>(path: string): Promise<T> {
  const res = await engine.request(path, { directory: engine.repo });
  const text = await res.text();
  assert.equal(res.status, 200, `engine GET ${path}: ${res.status} ${text}\n${engine.logs().slice(-2000)}`);
  return JSON.parse(text) as T;
}

before(async () => {
  engine = await startOpencode();
  ws = workspaceId(engine.repo);
  outsideDir = await mkdtemp(join(tmpdir(), "ows-outside-"));
  await writeFile(join(outsideDir, "secret.txt"), "top-secret-42\n");
  otherDir = await mkdtemp(join(tmpdir(), "ows-other-"));
  server = await startChildServer(
    [
      "--workspace",
      engine.repo,
      "--workspace",
      otherDir,
      "--token",
      TOKEN,
      "--host-token",
      HOST_TOKEN,
      "--approval",
      "auto",
      "--opencode-base-url",
      engine.url,
      "--opencode-password",
      engine.password,
    ],
    { env: { HOME: engine.home, XDG_CONFIG_HOME: join(engine.home, ".config") } },
  );
});

after(async () => {
  await server?.stop().catch(() => {});
  await engine?.stop();
  if (outsideDir) await rm(outsideDir, { recursive: true, force: true });
  if (otherDir) await rm(otherDir, { recursive: true, force: true });
});

describe("OpenCode gateway against a real engine", { timeout: 180_000 }, () => {
  let sessionId: string;

  test("lists and creates sessions through /opencode and /w/:id/opencode, in the workspace's directory", async () => {
    const created = await ok(await api("POST", "/opencode/session", { title: "via gateway" }));
    assert.match(created.id, /^ses/);
    assert.equal(created.directory, engine.repo);
    sessionId = created.id;
    const second = await ok(await api("POST", `/w/${ws}/opencode/session`, { title: "via mount" }));
    assert.equal(second.directory, engine.repo);

    const listed = await ok<Array<{ id: string }>>(await api("GET", `/w/${ws}/opencode/session`));
    const ids = listed.map((s) => s.id);
    assert.ok(ids.includes(created.id) && ids.includes(second.id), JSON.stringify(ids));
    const viaDefault = await ok<Array<{ id: string }>>(await api("GET", "/opencode/session"));
    assert.deepEqual(viaDefault.map((s) => s.id).sort(), [...ids].sort());
    // The engine's own view agrees: same sessions in that directory.
    const direct = await engineGet<Array<{ id: string }>>("/session");
    assert.deepEqual(direct.map((s) => s.id).sort(), [...ids].sort());
  });

  test("delivers the engine's event stream event by event: the session event arrives while the stream is open", async () => {
    // Some of the engine's own event streams never carry bus events, only heartbeats (measured
    // straight against the engine: 3 of 8 `GET /global/event` streams, all or nothing per stream,
    // however long one waits). So a stream that shows no session event in 5 s is opened again,
    // at most 8 times; one stream delivering the event through the gateway is what is asserted.
    for (const path of ["/opencode/event", `/w/${ws}/opencode/global/event`]) {
      const misses: string[] = [];
      for (let attempt = 1; ; attempt++) {
        const res = await api("GET", path, undefined, { Accept: "text/event-stream" });
        assert.equal(res.status, 200);
        assert.match(res.headers.get("content-type") ?? "", /text\/event-stream/);
        const events = new SseReader(res);
        try {
          // The first event arrives on its own, before anything else happens: nothing is buffered.
          const first = (await events.nextData(30_000)).data;
          const type = first.type ?? first.payload?.type;
          assert.equal(typeof type, "string", JSON.stringify(first));
          const created = await ok(await api("POST", `/w/${ws}/opencode/session`, { title: `event ${path} ${attempt}` }));
          await events.until(
            (e) => {
              const payload = e.payload ?? e;
              return payload.type === "session.created" && payload.properties?.info?.id === created.id;
            },
            5_000,
            (e) => String((e.payload ?? e).type),
          );
          break;
        } catch (error) {
          if (error instanceof assert.AssertionError) throw error;
          misses.push((error as Error).message);
          if (attempt === 8) assert.fail(`no stream of ${path} delivered session.created: ${misses.join(" | ")}`);
        } finally {
          await events.cancel();
        }
      }
    }
  });

  test("a collaborator gets proxy_forbidden for PATCH /config and /pty, and the engine's config is unchanged", async () => {
    const before = await engineGet("/config");
    const body = await refused(await api("PATCH", "/opencode/config", { model: "evil/model" }), 403, "proxy_forbidden");
    assert.equal(body.details.use, "PATCH /workspace/{id}/config");
    await refused(await api("PATCH", `/w/${ws}/opencode/config`, { model: "evil/model" }), 403, "proxy_forbidden");
    await refused(await api("POST", "/opencode/pty", { command: "/bin/sh" }), 403, "proxy_forbidden");
    await refused(await api("GET", "/opencode/pty"), 403, "proxy_forbidden");
    await refused(await api("POST", `/opencode/session/${sessionId}/shell`, { agent: "build", command: "id" }), 403, "proxy_forbidden");
    await refused(await api("POST", "/opencode/instance/dispose"), 403, "proxy_forbidden");
    assert.deepEqual(await engineGet("/config"), before);
    // The owner (host token) reaches them: the gateway forwards, the engine answers.
    const pty = await api("GET", "/opencode/pty", undefined, { "X-OpenWork-Host-Token": HOST_TOKEN });
    assert.equal(pty.status, 200, await pty.clone().text());
    assert.ok(Array.isArray(await pty.json()));
  });

  test("scoped tokens: a viewer reads sessions and events but drives nothing; a bound token reaches only its workspace's engine; an owner token reaches the owner routes", async () => {
    const mint = async (scope: string, workspaces?: string[]) =>
      (
        await ok(
          await api(
            "POST",
            "/tokens",
            { scope, label: `gateway ${scope}`, ...(workspaces ? { workspaces } : {}) },
            { "X-OpenWork-Host-Token": HOST_TOKEN },
          ),
          201,
        )
      ).token as string;
    const as = (token: string) => ({ Authorization: `Bearer ${token}` });
    const viewer = await mint("viewer");
    const sessions = await ok<unknown[]>(await api("GET", "/opencode/session", undefined, as(viewer)));
    assert.ok(Array.isArray(sessions));
    const stream = await api("GET", `/w/${ws}/opencode/event`, undefined, { ...as(viewer), Accept: "text/event-stream" });
    assert.equal(stream.status, 200);
    const events = new SseReader(stream);
    assert.equal(typeof (await events.nextData(30_000)).data.type, "string");
    await events.cancel();
    const before = (await engineGet<unknown[]>("/session")).length;
    const post = await refused(await api("POST", "/opencode/session", { title: "viewer" }, as(viewer)), 403, "proxy_forbidden");
    assert.equal(post.details.required, "collaborator");
    await refused(await api("POST", "/opencode/permission/per_x/reply", { reply: "always" }, as(viewer)), 403, "proxy_forbidden");
    assert.equal((await engineGet<unknown[]>("/session")).length, before, "the engine never heard of it");

    // Bound to the other workspace: this workspace's engine is out of reach, by either path.
    const bound = await mint("collaborator", [workspaceId(otherDir)]);
    await refused(await api("GET", `/w/${ws}/opencode/session`, undefined, as(bound)), 403, "workspace_forbidden");
    await refused(await api("GET", "/opencode/session", undefined, as(bound)), 400, "opencode_not_configured");
    // Bound to this workspace: its engine, but nothing engine-wide (other directories' events, projects).
    const mine = await mint("viewer", [ws]);
    assert.equal((await api("GET", "/opencode/session", undefined, as(mine))).status, 200);
    const wide = await refused(await api("GET", `/w/${ws}/opencode/global/event`, undefined, as(mine)), 403, "proxy_forbidden");
    assert.equal(wide.details.bound, true);
    await refused(await api("GET", "/opencode/project", undefined, as(mine)), 403, "proxy_forbidden");

    const owner = await mint("owner");
    const pty = await api("GET", "/opencode/pty", undefined, as(owner));
    assert.equal(pty.status, 200, await pty.clone().text());
  });

  test("a wrong token never reaches the engine", async () => {
    const before = (await engineGet<unknown[]>("/session")).length;
    for (const headers of [
      { Authorization: "Bearer wrong" },
      { Authorization: `Basic ${Buffer.from(`opencode:${engine.password}`).toString("base64")}` },
    ]) {
      const res = await api("POST", "/opencode/session", { title: "intruder" }, headers);
      assert.equal(res.status, 401, await res.text());
    }
    assert.equal((await engineGet<unknown[]>("/session")).length, before);
  });

  test("a collaborator cannot make the engine read outside the workspace (which it otherwise does)", async () => {
    const secretUrl = `file://${join(outsideDir, "secret.txt")}`;
    const prompt = { noReply: true, parts: [{ type: "file", mime: "text/plain", url: secretUrl, filename: "secret.txt" }] };
    // Measured: the engine itself reads a file:// part from anywhere, with no permission prompt.
    const probe = await ok(await api("POST", "/opencode/session", { title: "probe" }));
    const direct = await engine.request(`/session/${probe.id}/message`, {
      directory: engine.repo,
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(prompt),
    });
    assert.equal(direct.status, 200);
    assert.match(await direct.text(), /top-secret-42/, "the engine reads it when asked directly");
    // Through the gateway a collaborator is refused, and nothing is added to the session.
    const body = await refused(await api("POST", `/opencode/session/${sessionId}/message`, prompt), 400, "path_escape");
    assert.equal(body.details.url, secretUrl);
    const messages = await engineGet<unknown[]>(`/session/${sessionId}/message`);
    assert.ok(!JSON.stringify(messages).includes("top-secret-42"));
    // Nor another directory, nor a path that leads out.
    await refused(
      await api("GET", `/opencode/file/content?path=secret.txt&directory=${encodeURIComponent(outsideDir)}`),
      403,
      "proxy_forbidden",
    );
    await refused(await api("GET", "/opencode/file/content?path=../x"), 400, "path_escape");
    await refused(
      await api("POST", "/opencode/session", { permission: [{ permission: "bash", pattern: "*", action: "allow" }] }),
      403,
      "proxy_forbidden",
    );
    // A file inside the workspace is read as usual.
    await writeFile(join(engine.repo, "inside.txt"), "inside-ok\n");
    const inside = await ok(await api("GET", "/opencode/file/content?path=inside.txt"));
    assert.match(JSON.stringify(inside), /inside-ok/);
  });

  test("an engine that is down is a 502", async () => {
    const down = await startChildServer(
      [
        "--workspace",
        engine.repo,
        "--token",
        TOKEN,
        "--host-token",
        HOST_TOKEN,
        "--opencode-base-url",
        `http://127.0.0.1:${await closedPort()}`,
      ],
      { env: { HOME: engine.home, XDG_CONFIG_HOME: join(engine.home, ".config") } },
    );
    try {
      await refused(await api("GET", "/opencode/session", undefined, {}, down.url), 502, "opencode_unreachable");
    } finally {
      await down.stop();
    }
  });
});

describe("agents against a real engine", { timeout: 180_000 }, () => {
  const reload = async () => ok(await api("POST", `/workspace/${ws}/engine/reload?force=true`));

  test("an agent written through the API is listed by the engine's GET /agent after a reload", async () => {
    const saved = await ok(
      await api("POST", `/workspace/${ws}/agents`, {
        name: "ow-reviewer",
        description: "Reviews diffs carefully",
        mode: "subagent",
        temperature: 0.2,
        tools: { bash: false },
        permission: { edit: "deny" },
        prompt: "You review diffs. Be precise.",
      }),
    );
    assert.equal(saved.item.path, ".opencode/agents/ow-reviewer.md");
    await ok(
      await api("POST", `/workspace/${ws}/agents`, {
        name: "team/ow-nested",
        content: "---\ndescription: A nested agent\nmode: primary\n---\nYou are nested.\n",
      }),
    );
    const beforeReload = await engineGet<Array<{ name: string }>>("/agent");
    assert.ok(!beforeReload.some((a) => a.name === "ow-reviewer"), "the engine does not hot-reload");
    await reload();
    const agents =
      await engineGet<Array<{ name: string; description?: string; mode?: string; temperature?: number; prompt?: string }>>("/agent");
    const reviewer = agents.find((a) => a.name === "ow-reviewer");
    assert.ok(reviewer, JSON.stringify(agents.map((a) => a.name)));
    assert.equal(reviewer.description, "Reviews diffs carefully");
    assert.equal(reviewer.mode, "subagent");
    assert.equal(reviewer.temperature, 0.2);
    assert.match(reviewer.prompt ?? "", /You review diffs/);
    assert.equal(agents.find((a) => a.name === "team/ow-nested")?.mode, "primary");
    // The same list through the gateway, and our own listing agrees.
    const viaGateway = await ok<Array<{ name: string }>>(await api("GET", "/opencode/agent"));
    assert.ok(viaGateway.some((a) => a.name === "ow-reviewer"));
    const ours = await ok<{ items: Array<{ name: string; source: string }> }>(await api("GET", `/workspace/${ws}/agents`));
    assert.deepEqual(
      ours.items.map((a) => `${a.name}:${a.source}`),
      ["ow-reviewer:file", "team/ow-nested:file"],
    );
  });

  test("a bad agent is refused, naming the field, and the engine keeps loading the directory", async () => {
    const files = async () => (await readdir(join(engine.repo, ".opencode", "agents"), { recursive: true })).sort();
    const before = await files();
    const cases: Array<[unknown, string]> = [
      [{ name: "ow-bad", description: "x", mode: "boss" }, "mode"],
      [{ name: "ow-bad", description: "x", temperature: "hot" }, "temperature"],
      [{ name: "ow-bad", description: "x", tools: "bash" }, "tools"],
      [{ name: "ow-bad", description: "x", permission: { bash: "maybe" } }, "permission.bash"],
      [{ name: "ow-bad", content: "---\ndescription: x\nmodel: null\n---\nbody\n" }, "model"],
      [{ name: "ow-bad", content: "---\ndescription: 2024-01-01\n---\nbody\n" }, "description"],
      [{ name: "ow-bad", content: "---\ndescription: x\n<<: {mode: boss}\n---\nbody\n" }, "mode"],
      [{ name: "ow-bad", content: "---\ndescription: x\nname: other\n---\nbody\n" }, "name"],
    ];
    for (const [input, field] of cases) {
      const body = await refused(await api("POST", `/workspace/${ws}/agents`, input), 400, "invalid_payload");
      assert.equal(body.details.field, field, JSON.stringify(body));
    }
    // JavaScript frontmatter, which the engine would evaluate, is refused like any non-YAML one.
    await refused(
      await api("POST", `/workspace/${ws}/agents`, { name: "ow-bad", content: '---js\n{description: "x"}\n---\nbody\n' }),
      400,
      "invalid_payload",
    );
    assert.deepEqual(await files(), before, "nothing was written");
    await reload();
    const agents = await engineGet<Array<{ name: string }>>("/agent");
    assert.ok(agents.some((a) => a.name === "ow-reviewer"));
    assert.ok(!agents.some((a) => a.name === "ow-bad"));
    await engineGet("/session");
  });
});
