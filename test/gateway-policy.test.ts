// The gateway's scope policy (SPEC 9), as data: every route the engine documents (OpenCode
// 1.18.33, test/fixtures) has a deliberate classification, the table says what SPEC 9 says row by
// row, and the checks that keep a non-owner on the workspace's directory refuse what the real
// engine was seen to allow (another ?directory=, file:// URLs outside, session permission rules).
import assert from "node:assert/strict";
import { mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  checkRequestBody,
  checkRequestTarget,
  DEFAULT_RULE,
  decide,
  enginePathSegments,
  GATEWAY_RULES,
  ruleFor,
  type Scope,
} from "../src/services/gateway-policy.js";
import { tempDir } from "./helpers/harness.js";

const FIXTURE = new URL("./fixtures/opencode-1.18.33-routes.json", import.meta.url);

/** An engine path with sample values for `{params}` and a file for the trailing `*`. */
const concrete = (path: string) => path.replace(/\{[^}]+\}/g, "ses_1").replace(/\*$/, "src/a.ts");

function scopeOf(method: string, path: string): Scope {
  const segments = enginePathSegments(path);
  assert.ok(segments, `${path} is a forwardable path`);
  return ruleFor(method, segments).scope;
}

// The whole classification, reviewed by hand: a change to the rules must change this on purpose.
const VIEWER_ROUTES = `
GET /agent
GET /api/agent
GET /api/command
GET /api/event
GET /api/fs/find
GET /api/fs/list
GET /api/fs/read/*
GET /api/health
GET /api/location
GET /api/model
GET /api/permission/request
GET /api/permission/saved
GET /api/provider
GET /api/provider/{providerID}
GET /api/question/request
GET /api/reference
GET /api/session
GET /api/session/active
GET /api/session/{sessionID}
GET /api/session/{sessionID}/context
GET /api/session/{sessionID}/event
GET /api/session/{sessionID}/history
GET /api/session/{sessionID}/message
GET /api/session/{sessionID}/message/{messageID}
GET /api/session/{sessionID}/permission
GET /api/session/{sessionID}/permission/{requestID}
GET /api/session/{sessionID}/question
GET /api/skill
GET /command
GET /config
GET /config/providers
GET /event
GET /experimental/capabilities
GET /experimental/session
GET /experimental/tool
GET /experimental/tool/ids
GET /file
GET /file/content
GET /file/status
GET /find
GET /find/file
GET /find/symbol
GET /formatter
GET /global/event
GET /global/health
GET /lsp
GET /mcp
GET /path
GET /permission
GET /project
GET /project/current
GET /project/{projectID}/directories
GET /provider
GET /provider/auth
GET /question
GET /session
GET /session/status
GET /session/{sessionID}
GET /session/{sessionID}/children
GET /session/{sessionID}/diff
GET /session/{sessionID}/message
GET /session/{sessionID}/message/{messageID}
GET /session/{sessionID}/todo
GET /skill
GET /vcs
GET /vcs/diff
GET /vcs/diff/raw
GET /vcs/status
`;

const COLLABORATOR_ROUTES = `
DELETE /session/{sessionID}
DELETE /session/{sessionID}/message/{messageID}
DELETE /session/{sessionID}/message/{messageID}/part/{partID}
DELETE /session/{sessionID}/share
PATCH /session/{sessionID}
PATCH /session/{sessionID}/message/{messageID}/part/{partID}
POST /api/session
POST /api/session/{sessionID}/agent
POST /api/session/{sessionID}/compact
POST /api/session/{sessionID}/interrupt
POST /api/session/{sessionID}/model
POST /api/session/{sessionID}/permission
POST /api/session/{sessionID}/permission/{requestID}/reply
POST /api/session/{sessionID}/prompt
POST /api/session/{sessionID}/question/{requestID}/reject
POST /api/session/{sessionID}/question/{requestID}/reply
POST /api/session/{sessionID}/revert/clear
POST /api/session/{sessionID}/revert/commit
POST /api/session/{sessionID}/revert/stage
POST /api/session/{sessionID}/wait
POST /permission/{requestID}/reply
POST /question/{requestID}/reject
POST /question/{requestID}/reply
POST /session
POST /session/{sessionID}/abort
POST /session/{sessionID}/command
POST /session/{sessionID}/fork
POST /session/{sessionID}/init
POST /session/{sessionID}/message
POST /session/{sessionID}/permissions/{permissionID}
POST /session/{sessionID}/prompt_async
POST /session/{sessionID}/revert
POST /session/{sessionID}/share
POST /session/{sessionID}/summarize
POST /session/{sessionID}/unrevert
`;

const OWNER_ROUTES = `
DELETE /api/credential/{credentialID}
DELETE /api/integration/attempt/{attemptID}
DELETE /api/permission/saved/{id}
DELETE /api/pty/{ptyID}
DELETE /auth/{providerID}
DELETE /experimental/project/{projectID}/copy
DELETE /experimental/workspace/{id}
DELETE /experimental/worktree
DELETE /mcp/{name}/auth
DELETE /pty/{ptyID}
GET /api/integration
GET /api/integration/attempt/{attemptID}
GET /api/integration/{integrationID}
GET /api/pty
GET /api/pty/{ptyID}
GET /api/pty/{ptyID}/connect
GET /experimental/console
GET /experimental/console/orgs
GET /experimental/resource
GET /experimental/workspace
GET /experimental/workspace/adapter
GET /experimental/workspace/status
GET /experimental/worktree
GET /global/config
GET /pty
GET /pty/shells
GET /pty/{ptyID}
GET /pty/{ptyID}/connect
GET /tui/control/next
PATCH /api/credential/{credentialID}
PATCH /config
PATCH /global/config
PATCH /project/{projectID}
POST /api/integration/attempt/{attemptID}/complete
POST /api/integration/{integrationID}/connect/key
POST /api/integration/{integrationID}/connect/oauth
POST /api/pty
POST /api/pty/{ptyID}/connect-token
POST /experimental/console/switch
POST /experimental/control-plane/move-session
POST /experimental/project/{projectID}/copy
POST /experimental/project/{projectID}/copy/generate-name
POST /experimental/project/{projectID}/copy/refresh
POST /experimental/session/{sessionID}/background
POST /experimental/workspace
POST /experimental/workspace/sync-list
POST /experimental/workspace/warp
POST /experimental/worktree
POST /experimental/worktree/reset
POST /global/dispose
POST /global/upgrade
POST /instance/dispose
POST /log
POST /mcp
POST /mcp/{name}/auth
POST /mcp/{name}/auth/authenticate
POST /mcp/{name}/auth/callback
POST /mcp/{name}/connect
POST /mcp/{name}/disconnect
POST /project/git/init
POST /provider/{providerID}/oauth/authorize
POST /provider/{providerID}/oauth/callback
POST /pty
POST /pty/{ptyID}/connect-token
POST /session/{sessionID}/shell
POST /sync/history
POST /sync/replay
POST /sync/start
POST /sync/steal
POST /tui/append-prompt
POST /tui/clear-prompt
POST /tui/control/response
POST /tui/execute-command
POST /tui/open-help
POST /tui/open-models
POST /tui/open-sessions
POST /tui/open-themes
POST /tui/publish
POST /tui/select-session
POST /tui/show-toast
POST /tui/submit-prompt
POST /vcs/apply
PUT /api/pty/{ptyID}
PUT /auth/{providerID}
PUT /pty/{ptyID}
`;

/** Rules no documented 1.18.33 route reaches: guards for methods or routes the engine may add. */
const UNREACHED_GUARDS: string[] = [];

const table = (text: string) =>
  text
    .trim()
    .split("\n")
    .map((line) => line.split(" ") as [string, string]);

describe("gateway policy: the engine's API, route by route", () => {
  let documented: Array<[string, string]>;
  before(async () => {
    documented = JSON.parse(await readFile(FIXTURE, "utf8")).routes;
  });

  it("classifies every documented engine route with a rule, never by default", () => {
    assert.equal(documented.length, 188);
    const unclassified = documented.filter(([method, path]) => ruleFor(method, enginePathSegments(concrete(path))!) === DEFAULT_RULE);
    assert.deepEqual(unclassified, []);
  });

  it("gives every documented route the scope in the reviewed table", () => {
    const expected = new Map<string, Scope>();
    for (const [scope, text] of [
      ["viewer", VIEWER_ROUTES],
      ["collaborator", COLLABORATOR_ROUTES],
      ["owner", OWNER_ROUTES],
    ] as const) {
      for (const [method, path] of table(text)) expected.set(`${method} ${path}`, scope);
    }
    assert.equal(expected.size, documented.length, "the table names each route once");
    for (const [method, path] of documented) {
      assert.equal(scopeOf(method, concrete(path)), expected.get(`${method} ${path}`), `${method} ${path}`);
    }
  });

  it("has no rule that no documented route reaches, except deliberate guards", () => {
    const reached = new Set(documented.map(([m, p]) => ruleFor(m, enginePathSegments(concrete(p))!)));
    // Rules kept for routes the engine may add or that take another method than documented.
    const unreached = GATEWAY_RULES.filter((r) => !reached.has(r)).map((r) => `${r.methods} ${r.path}`);
    assert.deepEqual(unreached, UNREACHED_GUARDS);
  });
});

describe("gateway policy: SPEC 9 row by row", () => {
  const rows: Array<[Scope, string, string]> = [
    // viewer: GET/HEAD of read routes
    ["viewer", "GET", "/session"],
    ["viewer", "HEAD", "/session"],
    ["viewer", "GET", "/session/ses_1/message"],
    ["viewer", "GET", "/event"],
    ["viewer", "GET", "/global/event"],
    ["viewer", "GET", "/config"],
    ["viewer", "GET", "/agent"],
    ["viewer", "GET", "/command"],
    ["viewer", "GET", "/skill"],
    ["viewer", "GET", "/provider"],
    ["viewer", "GET", "/find/file"],
    ["viewer", "GET", "/file/content"],
    ["viewer", "GET", "/vcs/diff"],
    ["viewer", "GET", "/path"],
    ["viewer", "GET", "/project/current"],
    ["viewer", "GET", "/lsp"],
    ["viewer", "GET", "/formatter"],
    ["viewer", "GET", "/mcp"],
    // collaborator: also non-GET on /session/*, /permission/*, /question/*, /api/session/*
    ["collaborator", "POST", "/session"],
    ["collaborator", "POST", "/session/ses_1/message"],
    ["collaborator", "POST", "/session/ses_1/prompt_async"],
    ["collaborator", "POST", "/session/ses_1/abort"],
    ["collaborator", "DELETE", "/session/ses_1"],
    ["collaborator", "POST", "/permission/per_1/reply"],
    ["collaborator", "POST", "/question/que_1/reply"],
    ["collaborator", "POST", "/api/session/ses_1/prompt"],
    // owner-only, named by SPEC 9
    ["owner", "PATCH", "/config"],
    ["owner", "PATCH", "/global/config"],
    ["owner", "POST", "/global/dispose"],
    ["owner", "POST", "/global/upgrade"],
    ["owner", "PUT", "/auth/anthropic"],
    ["owner", "DELETE", "/auth/anthropic"],
    ["owner", "POST", "/mcp"],
    ["owner", "POST", "/mcp/github/auth"],
    ["owner", "POST", "/mcp/github/auth/callback"],
    ["owner", "DELETE", "/mcp/github/auth"],
    ["owner", "POST", "/instance/dispose"],
    ["owner", "GET", "/pty"],
    ["owner", "POST", "/pty"],
    ["owner", "GET", "/pty/pty_1/connect"],
    ["owner", "POST", "/tui/submit-prompt"],
    ["owner", "GET", "/tui/control/next"],
    ["owner", "POST", "/sync/start"],
    ["owner", "POST", "/experimental/worktree"],
    ["owner", "DELETE", "/experimental/worktree"],
    ["owner", "POST", "/vcs/apply"],
    ["owner", "POST", "/session/ses_1/shell"],
    // anything not listed
    ["owner", "GET", "/"],
    ["owner", "GET", "/some/future/route"],
    ["owner", "POST", "/some/future/route"],
    ["owner", "PUT", "/config"],
  ];
  for (const [scope, method, path] of rows) {
    it(`${method} ${path} needs ${scope}`, () => {
      assert.equal(scopeOf(method, path), scope);
      const ranks: Scope[] = ["viewer", "collaborator", "owner"];
      for (const have of ranks) {
        const allowed = decide(have, method, enginePathSegments(path)!) === null;
        assert.equal(allowed, ranks.indexOf(have) >= ranks.indexOf(scope), `${have} on ${method} ${path}`);
      }
    });
  }

  it("refuses engine-wide reads to a token bound to some workspaces, whatever its scope", () => {
    const seg = (path: string) => enginePathSegments(path)!;
    for (const path of ["/global/event", "/project", "/project/current", "/experimental/session"]) {
      assert.equal(decide("viewer", "GET", seg(path)), null, `${path} unbound`);
      assert.equal(decide("owner", "GET", seg(path), true)?.details.bound, true, `${path} bound`);
    }
    // Its own directory's reads are not engine-wide.
    for (const path of ["/event", "/session", "/config", "/file/content"])
      assert.equal(decide("viewer", "GET", seg(path), true), null, path);
  });

  it("names the approval-gated route in a refusal", () => {
    const refusal = (method: string, path: string) => decide("collaborator", method, enginePathSegments(path)!);
    assert.equal(refusal("PATCH", "/config")?.details.use, "PATCH /workspace/{id}/config");
    assert.equal(refusal("POST", "/mcp")?.details.use, "POST /workspace/{id}/mcp");
    assert.equal(refusal("POST", "/instance/dispose")?.details.use, "POST /workspace/{id}/engine/reload");
    const pty = refusal("POST", "/pty");
    assert.equal(pty?.kind, "forbidden");
    assert.equal(pty?.details.required, "owner");
    assert.equal(pty?.details.scope, "collaborator");
  });

  it("matches what the engine routes: case, trailing slash and encoded letters change nothing", () => {
    assert.equal(scopeOf("PATCH", "/Config/"), "owner");
    assert.equal(scopeOf("POST", "/sessi%6Fn/ses_1/SHELL"), "owner");
    assert.equal(scopeOf("POST", "/PTY"), "owner");
    assert.equal(scopeOf("GET", "/session/"), "viewer");
  });

  it("refuses paths it cannot classify the way the engine would route them", () => {
    for (const bad of [
      "",
      "config",
      "//config",
      "/session//x",
      "/a/./b",
      "/a/../config",
      "/a/%2e%2e/config",
      "/a%2fb",
      "/a%5Cb",
      "/a\\b",
      "/a%00",
      "/%E0%A4%A",
    ]) {
      assert.equal(enginePathSegments(bad), null, bad);
    }
    assert.deepEqual(enginePathSegments("/"), []);
    assert.deepEqual(enginePathSegments("/Session/ses_AbC/"), ["session", "ses_abc"]);
  });
});

describe("gateway policy: a non-owner stays on the workspace's directory", () => {
  let dir: string;
  let outside: string;
  before(async () => {
    const base = await tempDir("ows-policy-");
    dir = join(base, "ws");
    outside = join(base, "outside");
    await mkdir(join(dir, "src"), { recursive: true });
    await mkdir(outside);
    await writeFile(join(outside, "secret.txt"), "secret\n");
    await writeFile(join(dir, "src", "a.ts"), "a\n");
    await symlink(outside, join(dir, "out"));
  });
  after(async () => {});

  const target = (path: string, query = "", headers: Record<string, string> = {}) =>
    checkRequestTarget(dir, enginePathSegments(path)!, new URLSearchParams(query), new Headers(headers));

  it("lets the workspace's own directory and paths inside it through", () => {
    assert.equal(target("/session"), null);
    assert.equal(target("/session", `directory=${encodeURIComponent(dir)}`), null);
    assert.equal(target("/session", "", { "x-opencode-directory": encodeURIComponent(dir) }), null);
    assert.equal(target("/file/content", "path=src/a.ts"), null);
    assert.equal(target("/file", "path=."), null);
    assert.equal(target("/api/fs/read/src/a.ts"), null);
    assert.equal(target("/api/fs/list", "path=src"), null);
  });

  it("refuses another directory, however it is named", () => {
    for (const [path, query, headers] of [
      ["/file/content", "directory=/&path=etc/hostname", {}],
      ["/session", `directory=${encodeURIComponent(outside)}`, {}],
      ["/api/fs/read/secret.txt", `location[directory]=${encodeURIComponent(outside)}`, {}],
      ["/session", "", { "x-opencode-directory": encodeURIComponent(outside) }],
      ["/session", "workspace=wrk_1", {}],
      ["/session", "", { "x-opencode-workspace": "wrk_1" }],
    ] as const) {
      const refusal = target(path, query, headers);
      assert.equal(refusal?.kind, "forbidden", `${path}?${query} ${JSON.stringify(headers)}`);
    }
  });

  it("refuses file paths that lead out: .., absolute, through a symlink", () => {
    for (const [path, query] of [
      ["/file/content", "path=../outside/secret.txt"],
      ["/file/content", `path=${encodeURIComponent(join(outside, "secret.txt"))}`],
      ["/file/content", "path=out/secret.txt"],
      ["/file", "path=.."],
      ["/file", "path=out"],
      ["/api/fs/list", "path=/etc"],
      ["/api/fs/read/out/secret.txt", ""],
    ] as const) {
      assert.equal(target(path, query)?.kind, "invalid_path", `${path}?${query}`);
    }
  });

  it("refuses file URLs outside the directory anywhere in a body, and rules that widen permissions", () => {
    const part = (url: string) => ({ parts: [{ type: "file", mime: "text/plain", url }] });
    assert.equal(checkRequestBody(dir, part(`file://${join(dir, "src", "a.ts")}`)), null);
    assert.equal(checkRequestBody(dir, part(`file://${join(outside, "secret.txt")}`))?.kind, "invalid_path");
    assert.equal(checkRequestBody(dir, part("file:///etc/passwd"))?.kind, "invalid_path");
    assert.equal(checkRequestBody(dir, part(`FILE://${join(dir, "out", "secret.txt")}`))?.kind, "invalid_path");
    assert.equal(checkRequestBody(dir, { prompt: { parts: [part("file:///etc/passwd")] } })?.kind, "invalid_path");
    assert.equal(
      checkRequestBody(dir, { title: "x", permission: [{ permission: "bash", pattern: "*", action: "allow" }] })?.kind,
      "forbidden",
    );
    assert.equal(checkRequestBody(dir, { parts: [], tools: { bash: true } })?.kind, "forbidden");
    assert.equal(checkRequestBody(dir, { parts: [], tools: { bash: false } }), null);
    assert.equal(checkRequestBody(dir, { location: { directory: outside } })?.kind, "forbidden");
    assert.equal(checkRequestBody(dir, { location: { directory: dir } }), null);
    assert.equal(checkRequestBody(dir, { workspaceID: "wrk_1" })?.kind, "forbidden");
    assert.equal(checkRequestBody(dir, { parts: [{ type: "text", text: "see file:///etc/passwd" }] }), null);
  });
});
