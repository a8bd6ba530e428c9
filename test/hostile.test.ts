// Hostile requests against every route (issue 6). Each table row is one request with the status
// and error code it must get: never a 500, never a stack trace, nothing changed in the workspace
// (every row here is a refusal unless it says otherwise) and every file OUTSIDE the workspace
// byte-identical, including a sibling folder that shares the workspace's name as a prefix.
// Object.prototype is checked after every row (the `__proto__` / `constructor` cases).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { link, mkdir, readFile, rm, symlink } from "node:fs/promises";
import { join, sep } from "node:path";
import { after, before, describe, test } from "node:test";
import { pino } from "pino";
import { createApp } from "../src/app.js";
import { createServices } from "../src/services/index.js";
import { workspaceId } from "../src/workspaces.js";
import { type ChildServer, startChildServer } from "./helpers/child-server.js";
import { createHarness, type Harness, HOST_TOKEN, json, putFile, snapshot, TOKEN, tempDir, testSettings } from "./helpers/harness.js";

// ---------------------------------------------------------------------------------------------
// The world: <parent>/ws (the workspace), <parent>/outside, <parent>/ws-evil (sibling prefix),
// <parent>/secret.txt. Everything but ws/ must never change.

interface World {
  parent: string;
  root: string;
  outside: string;
  evil: string;
  h: Harness;
  close(): Promise<void>;
}

const SKILL = (name: string, description = "A skill") => `---\nname: ${name}\ndescription: ${description}\n---\nBody of ${name}.\n`;

async function makeWorld(): Promise<World> {
  const parent = await tempDir("ows-hostile-");
  const root = join(parent, "ws");
  const outside = join(parent, "outside");
  const evil = join(parent, "ws-evil");
  await mkdir(root);
  await putFile(join(parent, "secret.txt"), "parent secret\n");
  await putFile(join(outside, "secret.txt"), "outside secret\n");
  await putFile(join(outside, "opencode.json"), '{ "theme": "outside" }\n');
  await putFile(join(outside, "openwork.json"), '{ "outside": true }\n');
  await putFile(join(outside, "skills", "outside-skill", "SKILL.md"), SKILL("outside-skill"));
  await putFile(join(outside, "skills", "good", "SKILL.md"), SKILL("good", "outside twin"));
  await putFile(join(outside, "commands", "outside-cmd.md"), "---\ndescription: outside\n---\nOutside template\n");
  await putFile(join(outside, "commands", "good.md"), "Outside good\n");
  await putFile(join(outside, "plugins", "evil.js"), "export default {}\n");
  await putFile(join(outside, "openwork", "audit.jsonl"), "");
  await putFile(join(evil, "skills", "evil-skill", "SKILL.md"), SKILL("evil-skill"));
  await putFile(join(evil, "opencode.json"), '{ "theme": "evil" }\n');
  const h = await createHarness({}, { root });
  return {
    parent,
    root,
    outside,
    evil,
    h,
    async close() {
      await h.close();
      await rm(parent, { recursive: true, force: true });
    },
  };
}

/** Every regular file of the parent folder except those in the workspace. */
async function outsideFiles(w: World): Promise<Record<string, string>> {
  const all = await snapshot(w.parent);
  return Object.fromEntries(Object.entries(all).filter(([k]) => k.split(sep)[0] !== "ws"));
}

// ---------------------------------------------------------------------------------------------
// Rows

type Auth = "client" | "host" | "both" | "none";

interface Row {
  name: string;
  method: string;
  /** Path under the workspace (`/skills`) unless `absolute`. */
  path: string;
  absolute?: boolean;
  /** JSON-encoded unless a string (sent as is). */
  body?: unknown;
  /** Sent as is, with no Content-Type added. */
  raw?: BodyInit;
  headers?: Record<string, string>;
  auth?: Auth;
  status: number;
  code?: string;
  /** Rows that are allowed to change the workspace (never the outside). */
  writes?: boolean;
  check?: (body: any) => void;
  /** Upper bound for the answer, for the alias bombs. */
  maxMs?: number;
}

const PROTO_KEYS = Object.getOwnPropertyNames(Object.prototype).sort();

function send(w: World, row: Row): Promise<Response> {
  const auth = row.auth ?? "client";
  const headers: Record<string, string> = {};
  if (auth === "client" || auth === "both") headers.Authorization = `Bearer ${TOKEN}`;
  if (auth === "host" || auth === "both") headers["X-OpenWork-Host-Token"] = HOST_TOKEN;
  const init: RequestInit & { duplex?: string } = { method: row.method, headers };
  if (row.raw !== undefined) {
    init.body = row.raw;
    if (row.raw instanceof ReadableStream) init.duplex = "half";
  } else if (row.body !== undefined) {
    init.body = typeof row.body === "string" ? row.body : JSON.stringify(row.body);
    headers["Content-Type"] = "application/json";
  }
  Object.assign(headers, row.headers ?? {});
  const path = row.absolute ? row.path : w.h.ws(row.path);
  return Promise.resolve(w.h.app.request(path, init));
}

async function runRow(w: World, row: Row) {
  const outsideBefore = await outsideFiles(w);
  const wsBefore = await snapshot(w.root);
  const started = Date.now();
  const res = await send(w, row);
  const elapsed = Date.now() - started;
  const text = await res.text();
  assert.notEqual(res.status, 500, `500 for ${row.name}: ${text}`);
  assert.equal(res.status, row.status, `status for ${row.name}: ${text.slice(0, 300)}`);
  let body: any;
  if (res.headers.get("content-type")?.includes("application/json")) body = JSON.parse(text);
  if (row.code !== undefined) {
    assert.match(res.headers.get("content-type") ?? "", /application\/json/);
    assert.equal(body?.code, row.code, `code for ${row.name}: ${text.slice(0, 300)}`);
    assert.equal(typeof body.message, "string");
  }
  assert.ok(!/\bat .+:\d+:\d+\)?/.test(text), "no stack trace in the answer");
  row.check?.(body);
  if (row.maxMs !== undefined) assert.ok(elapsed < row.maxMs, `${row.name} took ${elapsed} ms`);
  assert.deepEqual(await outsideFiles(w), outsideBefore, "files outside the workspace are unchanged");
  if (!row.writes) assert.deepEqual(await snapshot(w.root), wsBefore, "a refused request changes nothing in the workspace");
  assert.equal(({} as Record<string, unknown>).polluted, undefined, "Object.prototype not polluted");
  assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), PROTO_KEYS);
}

/** One node:test subtest per row, named by the row. */
function table(getWorld: () => World, rows: Row[]) {
  for (const row of rows) {
    test(`${row.method} ${row.path} — ${row.name} -> ${row.status}${row.code ? ` ${row.code}` : ""}`, { timeout: 30_000 }, () =>
      runRow(getWorld(), row),
    );
  }
}

/** A describe block with a fresh world, prepared by `setup`, for its rows. */
function scenario(title: string, setup: (w: World) => Promise<void>, rows: Row[]) {
  describe(title, () => {
    let w: World;
    before(async () => {
      w = await makeWorld();
      await setup(w);
    });
    after(() => w.close());
    table(() => w, rows);
  });
}

// ---------------------------------------------------------------------------------------------
// Inputs

const BOMB_YAML = [
  'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]",
  "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]",
  "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]",
  "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]",
  "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]",
  "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]",
  "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]",
  "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]",
].join("\n");
const bombSkill = (name: string) => `---\nname: ${name}\ndescription: boom\n${BOMB_YAML}\n---\nBody\n`;
const BOMB_COMMAND = `---\ndescription: boom\n${BOMB_YAML}\n---\nTemplate\n`;

const TWO_MIB = 2 * 1024 * 1024;
function chunkedStream(total = TWO_MIB): ReadableStream<Uint8Array> {
  const chunk = new TextEncoder().encode(`{"x":"${"a".repeat(64 * 1024)}`);
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= total) return controller.close();
      sent += chunk.byteLength;
      controller.enqueue(chunk);
    },
  });
}
const DEEP = 100_000;
const deepJson = (wrap: (inner: string) => string) => wrap(`${"[".repeat(DEEP)}${"]".repeat(DEEP)}`);

const A300 = "a".repeat(300);
const A5000 = "a".repeat(5000);

// A valid body per write route, so a row changes one thing at a time.
const VALID: Record<string, unknown> = {
  "/config": { openwork: { x: 1 } },
  "/skills": { name: "fresh", content: SKILL("fresh") },
  "/commands": { name: "fresh", template: "Do it" },
  "/plugins": { spec: "fresh-plugin" },
  "/mcp": { name: "fresh", config: { type: "remote", url: "https://example.com/mcp" } },
  "/import": { openwork: { y: 2 } },
  "/import/preview": { openwork: { y: 2 } },
};
const WRITE_ROUTES: Array<{ method: string; path: string; auth?: Auth; absolute?: boolean }> = [
  { method: "PATCH", path: "/config" },
  { method: "POST", path: "/skills" },
  { method: "POST", path: "/commands" },
  { method: "POST", path: "/plugins" },
  { method: "POST", path: "/mcp" },
  { method: "POST", path: "/import" },
  { method: "POST", path: "/import/preview" },
  { method: "POST", path: "/approvals/apr_x", auth: "host", absolute: true },
];

/** Malformed bodies every write route must refuse the same way. */
function genericBodyRows(route: { method: string; path: string; auth?: Auth; absolute?: boolean }): Row[] {
  const base = { method: route.method, path: route.path, auth: route.auth, absolute: route.absolute };
  const valid = JSON.stringify(VALID[route.path] ?? { reply: "allow" });
  const bad = (name: string, extra: Partial<Row>, status: number, code: string): Row => ({ ...base, name, status, code, ...extra });
  return [
    bad("no body", {}, 400, "invalid_payload"),
    bad("whitespace body", { body: "   \n" }, 400, "invalid_payload"),
    bad("top-level []", { body: "[]" }, 400, "invalid_payload"),
    bad('top-level "str"', { body: '"str"' }, 400, "invalid_payload"),
    bad("top-level 123", { body: "123" }, 400, "invalid_payload"),
    bad("top-level null", { body: "null" }, 400, "invalid_payload"),
    bad("top-level true", { body: "true" }, 400, "invalid_payload"),
    bad("truncated JSON", { body: valid.slice(0, -1) }, 400, "invalid_json"),
    bad(
      "invalid UTF-8",
      { raw: new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), headers: { "Content-Type": "application/json" } },
      400,
      "invalid_json",
    ),
    bad("NUL byte in the JSON text", { body: `${valid.slice(0, -1)},\u0000"z":1}` }, 400, "invalid_json"),
    bad("top-level __proto__ key", { body: `{"__proto__":{"polluted":"yes"},${valid.slice(1)}` }, 400, "invalid_payload"),
    bad(
      "nested constructor.prototype",
      { body: `{"a":{"b":[{"constructor":{"prototype":{"polluted":"yes"}}}]},${valid.slice(1)}` },
      400,
      "invalid_payload",
    ),
    bad("top-level prototype key", { body: `{"prototype":{"polluted":"yes"},${valid.slice(1)}` }, 400, "invalid_payload"),
    bad("100k-deep nesting", { body: deepJson((inner) => `{"deep":${inner},${valid.slice(1)}`) }, 400, "invalid_payload"),
    bad("2 MiB declared", { body: valid, headers: { "Content-Length": String(TWO_MIB) } }, 413, "payload_too_large"),
    bad(
      "2 MiB chunked, no Content-Length",
      {
        get raw() {
          return chunkedStream();
        },
        headers: { "Content-Type": "application/json" },
      } as Partial<Row>,
      413,
      "payload_too_large",
    ),
    bad("text/plain", { body: valid, headers: { "Content-Type": "text/plain" } }, 415, "unsupported_media_type"),
    bad(
      "multipart/form-data",
      {
        body: `--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--\r\n`,
        headers: { "Content-Type": "multipart/form-data; boundary=x" },
      },
      415,
      "unsupported_media_type",
    ),
    bad(
      "x-www-form-urlencoded",
      { body: "name=a&content=b", headers: { "Content-Type": "application/x-www-form-urlencoded" } },
      415,
      "unsupported_media_type",
    ),
    bad("no Content-Type", { raw: new TextEncoder().encode(valid) }, 415, "unsupported_media_type"),
    bad("application/jsonx", { body: valid, headers: { "Content-Type": "application/jsonx" } }, 415, "unsupported_media_type"),
  ];
}

const WRONG_TYPES: Array<[string, unknown]> = [
  ["number", 5],
  ["array", ["a"]],
  ["object", { a: 1 }],
  ["null", null],
  ["boolean", true],
];
const wrongTypeRows = (
  method: string,
  path: string,
  base: Record<string, unknown>,
  field: string,
  code: string,
  skip: string[] = [],
): Row[] =>
  WRONG_TYPES.filter(([t]) => !skip.includes(t)).map(([t, value]) => ({
    name: `${field} is ${t}`,
    method,
    path,
    body: { ...base, [field]: value },
    status: 400,
    code,
  }));

// ---------------------------------------------------------------------------------------------
// 1. Route parameters: the workspace id and every name.

describe("hostile route parameters", () => {
  let w: World;
  before(async () => {
    w = await makeWorld();
    // Real items, so a name that sneaks past validation would find something to break.
    await putFile(join(w.root, ".opencode", "skills", "good", "SKILL.md"), SKILL("good"));
    await putFile(join(w.root, ".opencode", "commands", "good.md"), "Good template\n");
    await putFile(
      join(w.root, "opencode.json"),
      '{\n  "plugin": ["good-plugin"],\n  "mcp": { "good": { "type": "remote", "url": "https://example.com" } }\n}\n',
    );
  });
  after(() => w.close());

  const ROUTES: Array<[string, string]> = [
    ["GET", "/config"],
    ["PATCH", "/config"],
    ["GET", "/audit"],
    ["GET", "/skills"],
    ["POST", "/skills"],
    ["GET", "/skills/good"],
    ["DELETE", "/skills/good"],
    ["GET", "/commands"],
    ["POST", "/commands"],
    ["DELETE", "/commands/good"],
    ["GET", "/plugins"],
    ["POST", "/plugins"],
    ["DELETE", "/plugins/good-plugin"],
    ["GET", "/mcp"],
    ["POST", "/mcp"],
    ["DELETE", "/mcp/good"],
    ["GET", "/export"],
    ["POST", "/import"],
    ["POST", "/import/preview"],
    ["GET", "/events"],
    ["POST", "/engine/reload"],
  ];
  // [label, id as it appears in the URL, status, code]. `..` and its encodings are dot segments:
  // the URL parser removes them before routing, so the request names no route at all.
  const EVIL_IDS: Array<[string, string, number, string]> = [
    ["..", "..", 404, "not_found"],
    ["%2e%2e", "%2e%2e", 404, "not_found"],
    [".%2E", ".%2E", 404, "not_found"],
    ["..%2F..%2Foutside", "..%2F..%2Foutside", 404, "workspace_not_found"],
    ["a%2Fb", "a%2Fb", 404, "workspace_not_found"],
    ["a%5Cb", "a%5Cb", 404, "workspace_not_found"],
    ["%00", "%00", 404, "workspace_not_found"],
    ["x%00y", "x%00y", 404, "workspace_not_found"],
    ["300 chars", A300, 404, "workspace_not_found"],
    ["5000 chars", A5000, 404, "workspace_not_found"],
    ["%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd", 404, "workspace_not_found"],
    [".hidden", ".hidden", 404, "workspace_not_found"],
    ["CON", "CON", 404, "workspace_not_found"],
    ["%252e%252e (double-encoded)", "%252e%252e%252Foutside", 404, "workspace_not_found"],
    ["__proto__", "__proto__", 404, "workspace_not_found"],
    ["constructor", "constructor", 404, "workspace_not_found"],
  ];

  describe("workspace id", () => {
    // Dynamic ids (built from the real one) are added in the test body.
    for (const [method, suffix] of ROUTES) {
      for (const [label, id, status, code] of EVIL_IDS) {
        test(`${method} /workspace/${label}${suffix} -> ${status} ${code}`, async () => {
          if (suffix === "/events" || suffix === "/engine/reload") {
            const b = await (await w.h.call(method, w.h.ws(suffix))).json().catch(() => ({}));
            if (typeof b.message === "string" && b.message.startsWith("No route")) return; // route not mounted (yet)
          }
          const body = method === "GET" || method === "DELETE" ? undefined : (VALID[suffix] ?? {});
          await runRow(w, { name: label, method, path: `/workspace/${id}${suffix}`, absolute: true, body, status, code });
        });
      }
      test(`${method} /workspace/<lookalikes of the real id>${suffix} -> 404 workspace_not_found`, async () => {
        const real = w.h.wsId;
        const body = method === "GET" || method === "DELETE" ? undefined : (VALID[suffix] ?? {});
        for (const id of [
          real.toUpperCase(),
          `${real}%00`,
          `${real}%20`,
          `${real}%2F..`,
          real.replace("ws_", "ws＿"),
          encodeURIComponent(real.replace("_", "\u2010")),
        ]) {
          const res = await w.h.call(method, `/workspace/${id}${suffix}`, body);
          if (res.status === 404 && suffix.startsWith("/e")) {
            const b = await res.json();
            if (b.message.startsWith("No route")) continue;
            assert.equal(b.code, "workspace_not_found", id);
            continue;
          }
          assert.equal(res.status, 404, id);
          assert.equal((await res.json()).code, "workspace_not_found", id);
        }
      });
    }
  });

  // [label, name as in the URL, expected per route: skill (GET and DELETE), command, mcp, plugin, approval]
  type E = [number, string];
  const NAME = (s: number, c: string): E => [s, c];
  const nf = NAME(404, "not_found");
  const bad = NAME(400, "invalid_name");
  const EVIL_NAMES: Array<[string, string, { skill: E; command: E; mcp: E; plugin: E; approval: E }]> = [
    ["..", "..", { skill: nf, command: nf, mcp: nf, plugin: nf, approval: nf }],
    ["%2e%2e", "%2e%2e", { skill: nf, command: nf, mcp: nf, plugin: nf, approval: nf }],
    // Plugin names are npm specs, URLs or paths, never used as a path here: an unknown one is 404.
    ["..%2F..%2Foutside", "..%2F..%2Foutside", { skill: bad, command: bad, mcp: bad, plugin: nf, approval: nf }],
    ["good%2F..%2F..%2F..%2Foutside", "good%2F..%2F..%2F..%2Foutside", { skill: bad, command: bad, mcp: bad, plugin: nf, approval: nf }],
    ["a%2Fb", "a%2Fb", { skill: bad, command: bad, mcp: bad, plugin: nf, approval: nf }],
    ["a%5Cb (backslash)", "a%5Cb", { skill: bad, command: bad, mcp: bad, plugin: nf, approval: nf }],
    ["..%5C..%5Coutside", "..%5C..%5Coutside", { skill: bad, command: bad, mcp: bad, plugin: nf, approval: nf }],
    ["%00", "%00", { skill: bad, command: bad, mcp: bad, plugin: bad, approval: nf }],
    ["x%00y", "x%00y", { skill: bad, command: bad, mcp: bad, plugin: bad, approval: nf }],
    ["good%00.md", "good%00.md", { skill: bad, command: bad, mcp: bad, plugin: bad, approval: nf }],
    ["300 chars", A300, { skill: bad, command: bad, mcp: bad, plugin: nf, approval: nf }],
    ["5000 chars", A5000, { skill: bad, command: bad, mcp: bad, plugin: bad, approval: nf }],
    ["%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd", { skill: bad, command: bad, mcp: bad, plugin: nf, approval: nf }],
    ["C:%5CWindows", "C:%5CWindows", { skill: bad, command: bad, mcp: bad, plugin: nf, approval: nf }],
    [".hidden", ".hidden", { skill: bad, command: bad, mcp: bad, plugin: nf, approval: nf }],
    // Windows device names (issue 13.9): refused wherever a name becomes a file (or an MCP key).
    ["CON (Windows device name)", "CON", { skill: bad, command: bad, mcp: bad, plugin: nf, approval: nf }],
    ["nul", "nul", { skill: bad, command: bad, mcp: bad, plugin: nf, approval: nf }],
    ["com1", "com1", { skill: bad, command: bad, mcp: bad, plugin: nf, approval: nf }],
    ["Lpt9", "Lpt9", { skill: bad, command: bad, mcp: bad, plugin: nf, approval: nf }],
    ["aux.md", "aux.md", { skill: bad, command: bad, mcp: bad, plugin: nf, approval: nf }],
    ["prn (command with a leading slash)", "%2Fprn", { skill: bad, command: bad, mcp: bad, plugin: nf, approval: nf }],
    ["com10 (not a device name)", "com10", { skill: nf, command: nf, mcp: nf, plugin: nf, approval: nf }],
    ["console (not a device name)", "console", { skill: nf, command: nf, mcp: nf, plugin: nf, approval: nf }],
    ["fullwidth ｇｏｏｄ", encodeURIComponent("ｇｏｏｄ"), { skill: bad, command: bad, mcp: bad, plugin: nf, approval: nf }],
    ["cyrillic gооd", encodeURIComponent("gооd"), { skill: bad, command: bad, mcp: bad, plugin: nf, approval: nf }],
    ["division slash ..∕outside", encodeURIComponent("..∕outside"), { skill: bad, command: bad, mcp: bad, plugin: nf, approval: nf }],
    ["%252e%252e%252F (double-encoded)", "%252e%252e%252Foutside", { skill: bad, command: bad, mcp: bad, plugin: nf, approval: nf }],
    ["trailing space", "good%20", { skill: bad, command: bad, mcp: bad, plugin: nf, approval: nf }],
    // A plugin name is trimmed like a spec: "good-plugin\n" names good-plugin... which is absent as "good".
    ["newline", "good%0A", { skill: bad, command: bad, mcp: bad, plugin: nf, approval: nf }],
    ["NUL in the middle of a plugin name", "good%00-plugin", { skill: bad, command: bad, mcp: bad, plugin: bad, approval: nf }],
    ["__proto__", "__proto__", { skill: bad, command: nf, mcp: bad, plugin: nf, approval: nf }],
    ["constructor", "constructor", { skill: nf, command: nf, mcp: bad, plugin: nf, approval: nf }],
  ];

  describe("names", () => {
    const rows: Row[] = [];
    for (const [label, name, e] of EVIL_NAMES) {
      rows.push(
        { name: label, method: "GET", path: `/skills/${name}`, status: e.skill[0], code: e.skill[1] },
        { name: label, method: "DELETE", path: `/skills/${name}`, status: e.skill[0], code: e.skill[1] },
        { name: label, method: "DELETE", path: `/commands/${name}`, status: e.command[0], code: e.command[1] },
        { name: label, method: "DELETE", path: `/mcp/${name}`, status: e.mcp[0], code: e.mcp[1] },
        { name: label, method: "DELETE", path: `/plugins/${name}`, status: e.plugin[0], code: e.plugin[1] },
        {
          name: label,
          method: "POST",
          path: `/approvals/${name}`,
          absolute: true,
          auth: "host",
          body: { reply: "allow" },
          status: e.approval[0],
          code: e.approval[1],
        },
      );
    }
    // The plugin route takes a multi-segment name (`@scope/pkg`): raw separators reach it too.
    rows.push(
      { name: "raw ../../outside", method: "DELETE", path: "/plugins/a/../../../outside", status: 404, code: "not_found" },
      { name: "raw a/b/c", method: "DELETE", path: "/plugins/a/b/c", status: 404, code: "not_found" },
      { name: "%2F..%2F", method: "DELETE", path: "/plugins/%2F..%2F", status: 404, code: "not_found" },
    );
    table(() => w, rows);
  });

  describe("query parameters", () => {
    table(
      () => w,
      [
        { name: "limit=-1", method: "GET", path: "/audit?limit=-1", status: 400, code: "invalid_payload" },
        { name: "limit=abc", method: "GET", path: "/audit?limit=abc", status: 400, code: "invalid_payload" },
        { name: "limit=1e9", method: "GET", path: "/audit?limit=1e9", status: 400, code: "invalid_payload" },
        { name: "limit=%00", method: "GET", path: "/audit?limit=%00", status: 400, code: "invalid_payload" },
        { name: "limit=99999999999999999999 (clamped)", method: "GET", path: "/audit?limit=99999999999999999999", status: 200 },
        { name: "scope=../../etc", method: "GET", path: "/commands?scope=..%2F..%2Fetc", status: 400, code: "invalid_payload" },
        {
          name: "scope=global without the owner scope",
          method: "GET",
          path: "/commands?scope=global",
          status: 403,
          code: "insufficient_scope",
        },
        {
          name: "includeGlobal without the owner scope (skills)",
          method: "GET",
          path: "/skills?includeGlobal=true",
          status: 403,
          code: "insufficient_scope",
        },
        {
          name: "includeGlobal without the owner scope (plugins)",
          method: "GET",
          path: "/plugins?includeGlobal=1",
          status: 403,
          code: "insufficient_scope",
        },
        { name: "since=-1", method: "GET", path: "/events?since=-1", status: 400, code: "invalid_payload" },
        { name: "since=abc", method: "GET", path: "/events?since=abc", status: 400, code: "invalid_payload" },
        { name: "since=1e3", method: "GET", path: "/events?since=1e3", status: 400, code: "invalid_payload" },
        { name: "since=%00", method: "GET", path: "/events?since=%00", status: 400, code: "invalid_payload" },
        { name: "since=5000 digits", method: "GET", path: `/events?since=${"9".repeat(5000)}`, status: 400, code: "invalid_payload" },
        { name: "force=maybe", method: "POST", path: "/engine/reload?force=maybe", status: 400, code: "invalid_payload" },
        { name: "waitMs=-1", method: "POST", path: "/engine/reload?waitMs=-1", status: 400, code: "invalid_payload" },
        { name: "waitMs=1e9", method: "POST", path: "/engine/reload?waitMs=999999999999", status: 400, code: "invalid_payload" },
        // No engine is configured for this workspace; a hostile body is not even read.
        {
          name: "no engine, hostile body",
          method: "POST",
          path: "/engine/reload?force=true",
          body: '{"__proto__":{"polluted":1}}',
          status: 400,
          code: "opencode_not_configured",
        },
      ],
    );
  });
});

// ---------------------------------------------------------------------------------------------
// 2. Bodies

describe("hostile bodies", () => {
  let w: World;
  before(async () => {
    w = await makeWorld();
    await putFile(join(w.root, "opencode.json"), '{\n  // keep me\n  "theme": "ws"\n}\n');
  });
  after(() => w.close());

  describe("malformed bodies on every write route", () => {
    for (const route of WRITE_ROUTES) table(() => w, genericBodyRows(route));
  });

  describe("PATCH /config fields", () => {
    table(
      () => w,
      [
        ...wrongTypeRows("PATCH", "/config", {}, "opencode", "invalid_payload", ["object"]),
        ...wrongTypeRows("PATCH", "/config", {}, "openwork", "invalid_payload", ["object"]),
        ...wrongTypeRows("PATCH", "/config", { opencode: { theme: "x" } }, "openwork", "invalid_payload", ["object"]),
        ...wrongTypeRows("PATCH", "/config", { openwork: { a: 1 } }, "opencode", "invalid_payload", ["object"]),
        { name: "string opencode", method: "PATCH", path: "/config", body: { opencode: "dark" }, status: 400, code: "invalid_payload" },
        { name: "empty object", method: "PATCH", path: "/config", body: {}, status: 400, code: "invalid_payload" },
        { name: "only unknown keys", method: "PATCH", path: "/config", body: { evil: { x: 1 } }, status: 400, code: "invalid_payload" },
        { name: "plugin: 5", method: "PATCH", path: "/config", body: { opencode: { plugin: 5 } }, status: 400, code: "invalid_config" },
        { name: "plugin: [1]", method: "PATCH", path: "/config", body: { opencode: { plugin: [1] } }, status: 400, code: "invalid_config" },
        { name: 'mcp: "x"', method: "PATCH", path: "/config", body: { opencode: { mcp: "x" } }, status: 400, code: "invalid_config" },
        {
          name: "mcp entry without type",
          method: "PATCH",
          path: "/config",
          body: { opencode: { mcp: { a: { command: ["x"] } } } },
          status: 400,
          code: "invalid_config",
        },
        {
          name: "command entry without template",
          method: "PATCH",
          path: "/config",
          body: { opencode: { command: { x: {} } } },
          status: 400,
          code: "invalid_config",
        },
        { name: "tools: 1", method: "PATCH", path: "/config", body: { opencode: { tools: 1 } }, status: 400, code: "invalid_config" },
        {
          name: "If-Match garbage",
          method: "PATCH",
          path: "/config",
          body: { openwork: { a: 1 } },
          headers: { "If-Match": '"nope"' },
          status: 412,
          code: "conflict",
        },
        {
          name: "If-Match 10 KB",
          method: "PATCH",
          path: "/config",
          body: { openwork: { a: 1 } },
          headers: { "If-Match": `"${"x".repeat(10_000)}"` },
          status: 412,
          code: "conflict",
        },
        {
          name: "openwork __proto__ (raw)",
          method: "PATCH",
          path: "/config",
          body: '{"openwork":{"__proto__":{"polluted":1}}}',
          status: 400,
          code: "invalid_payload",
        },
        {
          name: "opencode constructor (raw)",
          method: "PATCH",
          path: "/config",
          body: '{"opencode":{"constructor":{"prototype":{"polluted":1}}}}',
          status: 400,
          code: "invalid_payload",
        },
      ],
    );
  });

  describe("POST /skills fields", () => {
    const ok = { name: "fresh", content: SKILL("fresh") };
    table(
      () => w,
      [
        ...wrongTypeRows("POST", "/skills", ok, "name", "invalid_name"),
        ...wrongTypeRows("POST", "/skills", ok, "content", "invalid_payload"),
        ...wrongTypeRows("POST", "/skills", { name: "fresh", content: "Body only" }, "description", "invalid_payload", ["null"]),
        { name: "missing name", method: "POST", path: "/skills", body: { content: ok.content }, status: 400, code: "invalid_name" },
        { name: "missing content", method: "POST", path: "/skills", body: { name: "fresh" }, status: 400, code: "invalid_payload" },
        ...["", "Fresh", "a--b", "-a", "a-", "a".repeat(65), "a\u0000b", "../x", "a/b", "a\\b", ".x", "ｆｒｅｓｈ", "__proto__"].map(
          (name): Row => ({
            name: `name ${JSON.stringify(name).slice(0, 40)}`,
            method: "POST",
            path: "/skills",
            body: { name, content: "Body" },
            status: 400,
            code: "invalid_name",
          }),
        ),
        {
          name: "---js frontmatter",
          method: "POST",
          path: "/skills",
          body: { name: "fresh", content: "---js\nmodule.exports = { name: 'fresh' }\n---\nx" },
          status: 400,
          code: "invalid_payload",
        },
        {
          name: "---json frontmatter",
          method: "POST",
          path: "/skills",
          body: { name: "fresh", content: '---json\n{"name":"fresh"}\n---\nx' },
          status: 400,
          code: "invalid_payload",
        },
        {
          name: "frontmatter that is not YAML",
          method: "POST",
          path: "/skills",
          body: { name: "fresh", content: "---\nname: fresh\n: : [unclosed\n\t- {\n---\nx" },
          status: 400,
          code: "invalid_payload",
        },
        {
          name: "frontmatter not closed",
          method: "POST",
          path: "/skills",
          body: { name: "fresh", content: "---\nname: fresh\ndescription: d\n" },
          status: 400,
          code: "invalid_payload",
        },
        {
          name: "frontmatter is a list",
          method: "POST",
          path: "/skills",
          body: { name: "fresh", content: "---\n- a\n- b\n---\nx" },
          status: 400,
          code: "invalid_payload",
        },
        {
          name: "frontmatter nested 20000 deep",
          method: "POST",
          path: "/skills",
          body: { name: "fresh", content: `---\nname: fresh\ndescription: d\na: ${"[".repeat(20_000)}\n---\nx` },
          status: 400,
          code: "invalid_payload",
          maxMs: 5000,
        },
        {
          name: "frontmatter alias bomb",
          method: "POST",
          path: "/skills",
          body: { name: "fresh", content: bombSkill("fresh") },
          status: 400,
          code: "invalid_payload",
          maxMs: 3000,
        },
        {
          name: "frontmatter __proto__ key",
          method: "POST",
          path: "/skills",
          body: { name: "fresh", content: "---\nname: fresh\ndescription: d\n__proto__:\n  polluted: yes\n---\nx" },
          status: 400,
          code: "invalid_payload",
        },
        {
          name: "frontmatter constructor key",
          method: "POST",
          path: "/skills",
          body: { name: "fresh", content: "---\nname: fresh\ndescription: d\nmeta:\n  constructor: x\n---\nx" },
          status: 400,
          code: "invalid_payload",
        },
        {
          name: "frontmatter name differs",
          method: "POST",
          path: "/skills",
          body: { name: "fresh", content: SKILL("other") },
          status: 400,
          code: "invalid_payload",
        },
        {
          name: "frontmatter name ../x",
          method: "POST",
          path: "/skills",
          body: { name: "fresh", content: SKILL("../x") },
          status: 400,
          code: "invalid_payload",
        },
        {
          name: "frontmatter description is a number",
          method: "POST",
          path: "/skills",
          body: { name: "fresh", content: "---\nname: fresh\ndescription: 5\n---\nx" },
          status: 400,
          code: "invalid_payload",
        },
        {
          name: "NUL in content",
          method: "POST",
          path: "/skills",
          body: { name: "fresh", content: "Body with a \u0000 byte" },
          status: 400,
          code: "invalid_payload",
        },
        {
          name: "NUL in frontmatter",
          method: "POST",
          path: "/skills",
          body: { name: "fresh", content: '---\nname: fresh\ndescription: "a\\0b"\n---\nx' },
          status: 400,
          code: "invalid_payload",
        },
        {
          name: "NUL in description",
          method: "POST",
          path: "/skills",
          body: { name: "fresh", content: "Body", description: "a\u0000b" },
          status: 400,
          code: "invalid_payload",
        },
        {
          name: "description 2000 chars",
          method: "POST",
          path: "/skills",
          body: { name: "fresh", content: "Body", description: "d".repeat(2000) },
          status: 400,
          code: "invalid_payload",
        },
        {
          name: "no description anywhere",
          method: "POST",
          path: "/skills",
          body: { name: "fresh", content: "# Only a heading\n" },
          status: 422,
          code: "unprocessable",
        },
      ],
    );
  });

  describe("POST /commands fields", () => {
    const ok = { name: "fresh", template: "Do it" };
    table(
      () => w,
      [
        ...wrongTypeRows("POST", "/commands", ok, "name", "invalid_name"),
        ...wrongTypeRows("POST", "/commands", ok, "template", "invalid_payload"),
        ...wrongTypeRows("POST", "/commands", ok, "description", "invalid_payload", ["null"]),
        ...wrongTypeRows("POST", "/commands", ok, "agent", "invalid_payload", ["null"]),
        ...wrongTypeRows("POST", "/commands", ok, "model", "invalid_payload", ["null"]),
        ...wrongTypeRows("POST", "/commands", ok, "subtask", "invalid_payload", ["boolean", "null"]),
        {
          name: 'subtask is "yes"',
          method: "POST",
          path: "/commands",
          body: { ...ok, subtask: "yes" },
          status: 400,
          code: "invalid_payload",
        },
        { name: "missing template", method: "POST", path: "/commands", body: { name: "fresh" }, status: 400, code: "invalid_payload" },
        {
          name: "blank template",
          method: "POST",
          path: "/commands",
          body: { name: "fresh", template: " \n\t" },
          status: 400,
          code: "invalid_payload",
        },
        {
          name: "content instead of template (import-only form)",
          method: "POST",
          path: "/commands",
          body: { name: "fresh", content: BOMB_COMMAND },
          status: 400,
          code: "invalid_payload",
        },
        ...["", "/", "//", "a b", "a/b", "../x", "a\\b", "a.md", "a\u0000b", "a".repeat(129), "ｆｒｅｓｈ"].map(
          (name): Row => ({
            name: `name ${JSON.stringify(name).slice(0, 40)}`,
            method: "POST",
            path: "/commands",
            body: { name, template: "x" },
            status: 400,
            code: "invalid_name",
          }),
        ),
        {
          name: "NUL in template",
          method: "POST",
          path: "/commands",
          body: { name: "fresh", template: "a\u0000b" },
          status: 400,
          code: "invalid_payload",
        },
        {
          name: "NUL in description",
          method: "POST",
          path: "/commands",
          body: { ...ok, description: "a\u0000b" },
          status: 400,
          code: "invalid_payload",
        },
        {
          name: "NUL in agent",
          method: "POST",
          path: "/commands",
          body: { ...ok, agent: "a\u0000b" },
          status: 400,
          code: "invalid_payload",
        },
        {
          name: "NUL in model",
          method: "POST",
          path: "/commands",
          body: { ...ok, model: "a\u0000b" },
          status: 400,
          code: "invalid_payload",
        },
      ],
    );
  });

  describe("POST /plugins fields", () => {
    table(
      () => w,
      [
        ...wrongTypeRows("POST", "/plugins", {}, "spec", "invalid_payload"),
        { name: "missing spec", method: "POST", path: "/plugins", body: {}, status: 400, code: "invalid_payload" },
        ...["", "   ", "a\u0000b", "a\nb", "a\rb", "x".repeat(1025)].map(
          (spec): Row => ({
            name: `spec ${JSON.stringify(spec).slice(0, 30)}`,
            method: "POST",
            path: "/plugins",
            body: { spec },
            status: 400,
            code: "invalid_payload",
          }),
        ),
      ],
    );
  });

  describe("POST /mcp fields", () => {
    const remote = { type: "remote", url: "https://example.com/mcp" };
    const local = { type: "local", command: ["node", "server.js"] };
    const cfg = (config: unknown, name = "fresh"): Row => ({
      name: `config ${JSON.stringify(config).slice(0, 60)}`,
      method: "POST",
      path: "/mcp",
      body: { name, config },
      status: 400,
      code: "invalid_payload",
    });
    table(
      () => w,
      [
        ...wrongTypeRows("POST", "/mcp", { config: remote }, "name", "invalid_name"),
        ...wrongTypeRows("POST", "/mcp", { name: "fresh" }, "config", "invalid_payload", ["object"]),
        { name: 'config is "x"', method: "POST", path: "/mcp", body: { name: "fresh", config: "x" }, status: 400, code: "invalid_payload" },
        { name: "missing config", method: "POST", path: "/mcp", body: { name: "fresh" }, status: 400, code: "invalid_payload" },
        ...["", "-a", "a b", "a/b", "../x", "a\\b", "a\u0000b", "a".repeat(129), "__proto__", "constructor", "prototype", "ｆｒｅｓｈ"].map(
          (name): Row => ({
            name: `name ${JSON.stringify(name).slice(0, 40)}`,
            method: "POST",
            path: "/mcp",
            body: { name, config: remote },
            status: 400,
            code: "invalid_name",
          }),
        ),
        cfg({}),
        cfg({ type: "evil" }),
        cfg({ type: "local" }),
        cfg({ type: "local", command: "rm -rf /" }),
        cfg({ type: "local", command: [] }),
        cfg({ type: "local", command: [1] }),
        cfg({ type: "local", command: ["a\u0000b"] }),
        cfg({ ...local, enabled: "yes" }),
        cfg({ ...local, timeout: -1 }),
        cfg({ ...local, timeout: "5" }),
        cfg({ ...local, environment: { A: 1 } }),
        cfg({ ...local, environment: [] }),
        cfg({ ...local, cwd: 5 }),
        cfg({ type: "remote" }),
        cfg({ type: "remote", url: 5 }),
        cfg({ type: "remote", url: "not a url" }),
        cfg({ type: "remote", url: "http://a\u0000b/" }),
        cfg({ ...remote, headers: { a: 1 } }),
        cfg({ ...remote, oauth: "x" }),
        cfg({ ...remote, oauth: { callbackPort: 70000 } }),
        cfg({ ...remote, oauth: { clientId: 5 } }),
        {
          name: "config with __proto__ (raw)",
          method: "POST",
          path: "/mcp",
          body: '{"name":"fresh","config":{"type":"remote","url":"https://e.com","__proto__":{"polluted":1}}}',
          status: 400,
          code: "invalid_payload",
        },
        {
          name: "environment with constructor (raw)",
          method: "POST",
          path: "/mcp",
          body: '{"name":"fresh","config":{"type":"local","command":["x"],"environment":{"constructor":"x"}}}',
          status: 400,
          code: "invalid_payload",
        },
      ],
    );
  });

  for (const path of ["/import", "/import/preview"]) {
    describe(`POST ${path} fields`, () => {
      table(
        () => w,
        [
          { name: "empty object", method: "POST", path, body: {}, status: 400, code: "invalid_payload" },
          ...wrongTypeRows("POST", path, {}, "opencode", "invalid_payload", ["object"]),
          ...wrongTypeRows("POST", path, {}, "openwork", "invalid_payload", ["object"]),
          ...wrongTypeRows("POST", path, {}, "skills", "invalid_payload", ["array"]),
          ...wrongTypeRows("POST", path, {}, "commands", "invalid_payload", ["array"]),
          ...wrongTypeRows("POST", path, { openwork: { a: 1 } }, "mode", "invalid_payload", ["object"]),
          { name: "skills [5]", method: "POST", path, body: { skills: [5] }, status: 400, code: "invalid_payload" },
          { name: "skills [null]", method: "POST", path, body: { skills: [null] }, status: 400, code: "invalid_payload" },
          { name: "commands ['x']", method: "POST", path, body: { commands: ["x"] }, status: 400, code: "invalid_payload" },
          {
            name: 'mode.skills "nuke"',
            method: "POST",
            path,
            body: { skills: [], mode: { skills: "nuke" } },
            status: 400,
            code: "invalid_payload",
          },
          {
            name: "mode with unknown part",
            method: "POST",
            path,
            body: { skills: [], mode: { evil: "merge" } },
            status: 400,
            code: "invalid_payload",
          },
          { name: "skill name 5", method: "POST", path, body: { skills: [{ name: 5, content: "x" }] }, status: 400, code: "invalid_name" },
          {
            name: "skill name ../x",
            method: "POST",
            path,
            body: { skills: [{ name: "../x", content: "x" }] },
            status: 400,
            code: "invalid_name",
          },
          {
            name: "skill name a\\u0000b",
            method: "POST",
            path,
            body: { skills: [{ name: "a\u0000b", content: "x" }] },
            status: 400,
            code: "invalid_name",
          },
          {
            name: "skill content 5",
            method: "POST",
            path,
            body: { skills: [{ name: "fresh", content: 5 }] },
            status: 400,
            code: "invalid_payload",
          },
          {
            name: "skill content alias bomb",
            method: "POST",
            path,
            body: { skills: [{ name: "fresh", content: bombSkill("fresh") }] },
            status: 400,
            code: "invalid_payload",
            maxMs: 3000,
          },
          {
            name: "skill content ---js",
            method: "POST",
            path,
            body: { skills: [{ name: "fresh", content: "---js\n{}\n---\nx" }] },
            status: 400,
            code: "invalid_payload",
          },
          {
            name: "skill twice",
            method: "POST",
            path,
            body: {
              skills: [
                { name: "fresh", content: SKILL("fresh") },
                { name: "fresh", content: SKILL("fresh") },
              ],
            },
            status: 400,
            code: "invalid_payload",
          },
          {
            name: "command name a/b",
            method: "POST",
            path,
            body: { commands: [{ name: "a/b", template: "x" }] },
            status: 400,
            code: "invalid_name",
          },
          {
            name: "command without name",
            method: "POST",
            path,
            body: { commands: [{ template: "x" }] },
            status: 400,
            code: "invalid_name",
          },
          {
            name: "command name null",
            method: "POST",
            path,
            body: { commands: [{ name: null, template: "x" }] },
            status: 400,
            code: "invalid_name",
          },
          {
            name: "command template 5",
            method: "POST",
            path,
            body: { commands: [{ name: "fresh", template: 5 }] },
            status: 400,
            code: "invalid_payload",
          },
          {
            name: "command content alias bomb",
            method: "POST",
            path,
            body: { commands: [{ name: "fresh", content: BOMB_COMMAND }] },
            status: 400,
            code: "invalid_payload",
            maxMs: 3000,
          },
          {
            name: "command content ---js",
            method: "POST",
            path,
            body: { commands: [{ name: "fresh", content: "---js\n{}\n---\nx" }] },
            status: 400,
            code: "invalid_payload",
          },
          {
            name: "command subtask 'yes'",
            method: "POST",
            path,
            body: { commands: [{ name: "fresh", template: "x", subtask: "yes" }] },
            status: 400,
            code: "invalid_payload",
          },
          { name: "opencode plugin: 5", method: "POST", path, body: { opencode: { plugin: 5 } }, status: 400, code: "invalid_config" },
          {
            name: "valid part + invalid part writes nothing",
            method: "POST",
            path,
            body: { openwork: { a: 1 }, skills: [{ name: "Bad", content: "x" }] },
            status: 400,
            code: "invalid_name",
          },
          {
            name: "openwork __proto__ (raw)",
            method: "POST",
            path,
            body: '{"openwork":{"__proto__":{"polluted":1}}}',
            status: 400,
            code: "invalid_payload",
          },
        ],
      );
    });
  }

  describe("POST /approvals/:id fields (host)", () => {
    const row = (label: string, body: unknown): Row => ({
      name: label,
      method: "POST",
      path: "/approvals/apr_x",
      absolute: true,
      auth: "host",
      body,
      status: 400,
      code: "invalid_payload",
    });
    table(
      () => w,
      [
        ...WRONG_TYPES.map(([t, v]) => row(`reply is ${t}`, { reply: v })),
        row('reply "ALLOW"', { reply: "ALLOW" }),
        row('reply "allow\\u0000"', { reply: "allow\u0000" }),
        row("missing reply", {}),
      ],
    );
  });
});

// ---------------------------------------------------------------------------------------------
// 3. Headers

describe("hostile headers", () => {
  let w: World;
  before(async () => {
    w = await makeWorld();
  });
  after(() => w.close());

  const latin1 = Array.from({ length: 200 }, (_, i) => String.fromCharCode(0x80 + (i % 0x7f) + 1)).join("");
  table(
    () => w,
    [
      {
        name: "10 KB bearer token",
        method: "GET",
        path: "/config",
        auth: "none",
        headers: { Authorization: `Bearer ${"t".repeat(10_240)}` },
        status: 401,
        code: "unauthorized",
      },
      {
        name: "bearer token in latin1 bytes",
        method: "GET",
        path: "/config",
        auth: "none",
        headers: { Authorization: `Bearer ${latin1}` },
        status: 401,
        code: "unauthorized",
      },
      {
        name: "Basic auth",
        method: "GET",
        path: "/config",
        auth: "none",
        headers: { Authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString("base64")}` },
        status: 401,
        code: "unauthorized",
      },
      {
        name: "two bearer tokens",
        method: "GET",
        path: "/config",
        auth: "none",
        headers: { Authorization: `Bearer ${TOKEN} Bearer ${TOKEN}` },
        status: 401,
        code: "unauthorized",
      },
      {
        name: "host token in latin1 bytes",
        method: "GET",
        path: "/approvals",
        absolute: true,
        auth: "none",
        headers: { "X-OpenWork-Host-Token": latin1 },
        status: 401,
        code: "unauthorized",
      },
      {
        name: "10 KB host token",
        method: "GET",
        path: "/host/pairing",
        absolute: true,
        auth: "none",
        headers: { "X-OpenWork-Host-Token": "h".repeat(10_240) },
        status: 401,
        code: "unauthorized",
      },
      {
        name: "client token as host token",
        method: "GET",
        path: "/host/pairing",
        absolute: true,
        auth: "none",
        headers: { "X-OpenWork-Host-Token": TOKEN },
        status: 401,
        code: "unauthorized",
      },
      {
        name: "host token as bearer (client route)",
        method: "GET",
        path: "/config",
        auth: "none",
        headers: { Authorization: `Bearer ${HOST_TOKEN}` },
        status: 401,
        code: "unauthorized",
      },
      {
        name: "latin1 host token beside a good bearer (global scope): still only a collaborator",
        method: "GET",
        path: "/commands?scope=global",
        headers: { "X-OpenWork-Host-Token": latin1 },
        status: 403,
        code: "insufficient_scope",
      },
      {
        name: "no auth on /workspaces",
        method: "GET",
        path: "/workspaces",
        absolute: true,
        auth: "none",
        status: 401,
        code: "unauthorized",
      },
      {
        name: "no auth on /capabilities",
        method: "GET",
        path: "/capabilities",
        absolute: true,
        auth: "none",
        status: 401,
        code: "unauthorized",
      },
      {
        name: "no auth on POST /approvals/:id",
        method: "POST",
        path: "/approvals/x",
        absolute: true,
        auth: "none",
        body: { reply: "allow" },
        status: 401,
        code: "unauthorized",
      },
      { name: "unknown route under /workspace", method: "GET", path: "/nope", status: 404, code: "not_found" },
      { name: "unknown method on a route", method: "PUT", path: "/config", body: {}, status: 404, code: "not_found" },
    ],
  );

  test("a 10 KB X-OpenWork-Client-Id is accepted and truncated in the audit entry", async () => {
    const id = `client-${"x".repeat(10_240)}`;
    await runRow(w, {
      name: "huge client id",
      method: "PATCH",
      path: "/config",
      body: { openwork: { touched: true } },
      headers: { "X-OpenWork-Client-Id": id },
      status: 200,
      writes: true,
    });
    const audit = await json(await w.h.call("GET", w.h.ws("/audit?limit=1")));
    const clientId = audit.items[0].actor.clientId as string;
    assert.ok(clientId.length > 0 && clientId.length <= 128, `clientId length ${clientId.length}`);
    assert.ok(id.startsWith(clientId));
  });

  test("the health, capabilities, workspaces and UI routes shrug off a hostile body", async () => {
    // GET cannot carry a body; a POST to a GET-only route is simply not a route.
    for (const path of ["/health", "/capabilities", "/workspaces", "/ui", "/host/pairing"]) {
      const res = await w.h.app.request(path, {
        method: "POST",
        headers: { Authorization: `Bearer ${TOKEN}`, "X-OpenWork-Host-Token": HOST_TOKEN, "Content-Type": "application/json" },
        body: '{"__proto__":{"polluted":1}}',
      });
      assert.equal(res.status, 404, path);
      assert.equal((await res.json()).code, "not_found");
    }
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});

// ---------------------------------------------------------------------------------------------
// 4. Hostile files on disk

const CONFIG_READERS = (code: string, status = 422): Row[] => [
  { name: "GET config", method: "GET", path: "/config", status, code },
  { name: "GET mcp", method: "GET", path: "/mcp", status, code },
  { name: "GET plugins", method: "GET", path: "/plugins", status, code },
  { name: "GET export", method: "GET", path: "/export", status, code },
  { name: "PATCH opencode", method: "PATCH", path: "/config", body: { opencode: { theme: "x" } }, status, code },
  { name: "PATCH openwork only", method: "PATCH", path: "/config", body: { openwork: { a: 1 } }, status, code },
  { name: "POST plugins", method: "POST", path: "/plugins", body: { spec: "fresh-plugin" }, status, code },
  { name: "DELETE plugins", method: "DELETE", path: "/plugins/good-plugin", status, code },
  { name: "POST mcp", method: "POST", path: "/mcp", body: VALID["/mcp"], status, code },
  { name: "DELETE mcp", method: "DELETE", path: "/mcp/good", status, code },
  { name: "import opencode", method: "POST", path: "/import", body: { opencode: { theme: "x" } }, status, code },
  { name: "import/preview opencode", method: "POST", path: "/import/preview", body: { opencode: { theme: "x" } }, status, code },
];

describe("hostile files on disk", () => {
  scenario(
    "opencode.json with a top-level __proto__ key",
    async (w) => {
      await putFile(join(w.root, "opencode.json"), '{ "__proto__": { "polluted": true }, "plugin": ["good-plugin"] }\n');
    },
    CONFIG_READERS("invalid_file"),
  );

  scenario(
    "opencode.json with a nested constructor key",
    async (w) => {
      await putFile(
        join(w.root, "opencode.json"),
        '{ "mcp": { "good": { "type": "remote", "url": "https://e.com", "constructor": { "prototype": { "polluted": 1 } } } } }\n',
      );
    },
    CONFIG_READERS("invalid_file"),
  );

  scenario(
    "opencode.jsonc that is not JSON",
    async (w) => {
      await putFile(join(w.root, "opencode.jsonc"), "{ this is: not json ]\n");
    },
    CONFIG_READERS("invalid_file"),
  );

  scenario(
    ".opencode/openwork.json with __proto__",
    async (w) => {
      await putFile(join(w.root, ".opencode", "openwork.json"), '{ "__proto__": { "polluted": true } }\n');
    },
    [
      { name: "GET config", method: "GET", path: "/config", status: 422, code: "invalid_file" },
      { name: "GET export", method: "GET", path: "/export", status: 422, code: "invalid_file" },
      { name: "PATCH openwork", method: "PATCH", path: "/config", body: { openwork: { a: 1 } }, status: 422, code: "invalid_file" },
      { name: "import openwork", method: "POST", path: "/import", body: { openwork: { a: 1 } }, status: 422, code: "invalid_file" },
    ],
  );

  const notInListing = (name: string) => (body: any) =>
    assert.ok(!body.items.some((i: { name: string }) => i.name === name), `${name} is skipped`);

  scenario(
    "SKILL.md files that must not be evaluated or expanded",
    async (w) => {
      const skills = join(w.root, ".opencode", "skills");
      await putFile(
        join(skills, "js-fm", "SKILL.md"),
        "---js\nmodule.exports = (() => { globalThis.polluted = 1; return { name: 'js-fm', description: 'x' } })()\n---\nBody\n",
      );
      await putFile(join(skills, "not-yaml", "SKILL.md"), "---\nname: not-yaml\ndescription: [unclosed\n\t: :\n---\nBody\n");
      await putFile(join(skills, "bomb", "SKILL.md"), bombSkill("bomb"));
      await putFile(join(skills, "proto", "SKILL.md"), "---\nname: proto\ndescription: d\n__proto__:\n  polluted: true\n---\nBody\n");
      await putFile(join(skills, "ok", "SKILL.md"), SKILL("ok"));
    },
    [
      {
        name: "listing skips them all",
        method: "GET",
        path: "/skills",
        status: 200,
        maxMs: 3000,
        check: (b) => {
          assert.deepEqual(
            b.items.map((i: { name: string }) => i.name),
            ["ok"],
          );
        },
      },
      { name: "---js", method: "GET", path: "/skills/js-fm", status: 422, code: "invalid_file" },
      { name: "not YAML", method: "GET", path: "/skills/not-yaml", status: 422, code: "invalid_file" },
      { name: "alias bomb", method: "GET", path: "/skills/bomb", status: 422, code: "invalid_file", maxMs: 3000 },
      { name: "__proto__ key", method: "GET", path: "/skills/proto", status: 422, code: "invalid_file" },
      {
        name: "export skips them",
        method: "GET",
        path: "/export",
        status: 200,
        maxMs: 3000,
        check: (b) => {
          assert.deepEqual(
            b.skills.map((s: { name: string }) => s.name),
            ["ok"],
          );
        },
      },
    ],
  );

  scenario(
    "command files with an alias bomb and non-YAML frontmatter",
    async (w) => {
      const commands = join(w.root, ".opencode", "commands");
      await putFile(join(commands, "bomb.md"), BOMB_COMMAND);
      await putFile(join(commands, "js.md"), "---js\nglobalThis.polluted = 1\n---\nTemplate\n");
      await putFile(join(commands, "proto.md"), "---\nconstructor: x\n---\nTemplate\n");
      await putFile(join(commands, "ok.md"), "Fine\n");
    },
    [
      {
        name: "listing skips them",
        method: "GET",
        path: "/commands",
        status: 200,
        maxMs: 3000,
        check: (b) => {
          for (const n of ["bomb", "js", "proto"]) notInListing(n)(b);
          assert.ok(b.items.some((i: { name: string }) => i.name === "ok"));
        },
      },
      {
        name: "export skips them",
        method: "GET",
        path: "/export",
        status: 200,
        maxMs: 3000,
        check: (b) => {
          assert.deepEqual(
            b.commands.map((c: { name: string }) => c.name),
            ["ok"],
          );
        },
      },
      {
        name: "import merge over a bomb still validates the import",
        method: "POST",
        path: "/import/preview",
        body: { commands: [{ name: "bomb", content: BOMB_COMMAND }] },
        status: 400,
        code: "invalid_payload",
        maxMs: 3000,
      },
    ],
  );
});

// ---------------------------------------------------------------------------------------------
// 5. Symlinks leading out of the workspace. Every write that would go through one is refused
// with 400 path_escape before anything is written; reads of the config files through one are
// refused the same way (they would hand out a file from elsewhere on the host).

const ESCAPE = { status: 400, code: "path_escape" } as const;

describe("symlinks out of the workspace", () => {
  const skillWrites = (existing: string): Row[] => [
    { name: "POST new skill", method: "POST", path: "/skills", body: { name: "fresh", content: SKILL("fresh") }, ...ESCAPE },
    { name: "POST over the outside skill", method: "POST", path: "/skills", body: { name: existing, content: SKILL(existing) }, ...ESCAPE },
    { name: "GET the outside skill", method: "GET", path: `/skills/${existing}`, ...ESCAPE },
    { name: "DELETE the outside skill", method: "DELETE", path: `/skills/${existing}`, ...ESCAPE },
    { name: "import skill", method: "POST", path: "/import", body: { skills: [{ name: "fresh", content: SKILL("fresh") }] }, ...ESCAPE },
    {
      name: "import/preview skill",
      method: "POST",
      path: "/import/preview",
      body: { skills: [{ name: "fresh", content: SKILL("fresh") }] },
      ...ESCAPE,
    },
    { name: "import replace skills", method: "POST", path: "/import", body: { skills: [], mode: { skills: "replace" } }, ...ESCAPE },
  ];
  const commandWrites: Row[] = [
    { name: "POST new command", method: "POST", path: "/commands", body: { name: "fresh", template: "x" }, ...ESCAPE },
    { name: "POST over the outside command", method: "POST", path: "/commands", body: { name: "outside-cmd", template: "x" }, ...ESCAPE },
    { name: "DELETE the outside command", method: "DELETE", path: "/commands/outside-cmd", ...ESCAPE },
    { name: "import command", method: "POST", path: "/import", body: { commands: [{ name: "fresh", template: "x" }] }, ...ESCAPE },
    {
      name: "import/preview command",
      method: "POST",
      path: "/import/preview",
      body: { commands: [{ name: "fresh", template: "x" }] },
      ...ESCAPE,
    },
    { name: "import replace commands", method: "POST", path: "/import", body: { commands: [], mode: { commands: "replace" } }, ...ESCAPE },
  ];

  // An export is a read, but it must not hand out files from elsewhere on the host either.
  const exportLeavesOut = (part: "skills" | "commands"): Row => ({
    name: `GET export leaves out ${part} reached through the symlink`,
    method: "GET",
    path: "/export",
    status: 200,
    check: (b) => assert.deepEqual(b[part], []),
  });

  scenario(
    ".opencode/skills -> outside/skills",
    async (w) => {
      await mkdir(join(w.root, ".opencode"), { recursive: true });
      await symlink(join(w.outside, "skills"), join(w.root, ".opencode", "skills"));
    },
    [...skillWrites("outside-skill"), exportLeavesOut("skills")],
  );

  scenario(
    ".opencode/skills -> ../../ws-evil/skills (sibling sharing the prefix)",
    async (w) => {
      await mkdir(join(w.root, ".opencode"), { recursive: true });
      await symlink(join("..", "..", "ws-evil", "skills"), join(w.root, ".opencode", "skills"));
    },
    skillWrites("evil-skill"),
  );

  scenario(
    ".opencode/skills/good -> outside skill folder",
    async (w) => {
      await mkdir(join(w.root, ".opencode", "skills"), { recursive: true });
      await symlink(join(w.outside, "skills", "good"), join(w.root, ".opencode", "skills", "good"));
    },
    skillWrites("good").filter((r) => !r.name.startsWith("import") && r.name !== "POST new skill"),
  );

  scenario(
    ".opencode/skills/good/SKILL.md -> outside file",
    async (w) => {
      await mkdir(join(w.root, ".opencode", "skills", "good"), { recursive: true });
      await symlink(join(w.outside, "skills", "good", "SKILL.md"), join(w.root, ".opencode", "skills", "good", "SKILL.md"));
    },
    [
      { name: "POST over it", method: "POST", path: "/skills", body: { name: "good", content: SKILL("good") }, ...ESCAPE },
      { name: "GET it", method: "GET", path: "/skills/good", ...ESCAPE },
      { name: "import over it", method: "POST", path: "/import", body: { skills: [{ name: "good", content: SKILL("good") }] }, ...ESCAPE },
    ],
  );

  scenario(
    ".opencode/skills/dangling -> a missing outside folder",
    async (w) => {
      await mkdir(join(w.root, ".opencode", "skills"), { recursive: true });
      await symlink(join(w.outside, "nothing-here"), join(w.root, ".opencode", "skills", "dangling"));
    },
    [
      { name: "POST through it", method: "POST", path: "/skills", body: { name: "dangling", content: SKILL("dangling") }, ...ESCAPE },
      { name: "DELETE it", method: "DELETE", path: "/skills/dangling", ...ESCAPE },
    ],
  );

  scenario(
    ".opencode/commands -> outside/commands",
    async (w) => {
      await mkdir(join(w.root, ".opencode"), { recursive: true });
      await symlink(join(w.outside, "commands"), join(w.root, ".opencode", "commands"));
    },
    [...commandWrites, exportLeavesOut("commands")],
  );

  scenario(
    ".opencode/command (singular) -> outside/commands",
    async (w) => {
      await mkdir(join(w.root, ".opencode"), { recursive: true });
      await symlink(join(w.outside, "commands"), join(w.root, ".opencode", "command"));
    },
    [
      { name: "DELETE a command found there", method: "DELETE", path: "/commands/outside-cmd", ...ESCAPE },
      {
        name: "POST a command (its twin check reads there)",
        method: "POST",
        path: "/import",
        body: { commands: [{ name: "outside-cmd", template: "x" }] },
        ...ESCAPE,
      },
      exportLeavesOut("commands"),
    ],
  );

  scenario(
    ".opencode/commands/good.md -> outside file",
    async (w) => {
      await mkdir(join(w.root, ".opencode", "commands"), { recursive: true });
      await symlink(join(w.outside, "commands", "good.md"), join(w.root, ".opencode", "commands", "good.md"));
    },
    [
      { name: "POST over it", method: "POST", path: "/commands", body: { name: "good", template: "x" }, ...ESCAPE },
      { name: "DELETE it", method: "DELETE", path: "/commands/good", ...ESCAPE },
      exportLeavesOut("commands"),
    ],
  );

  scenario(
    ".opencode -> outside",
    async (w) => {
      await symlink(w.outside, join(w.root, ".opencode"));
      await putFile(
        join(w.root, "opencode.json"),
        '{ "plugin": ["good-plugin"], "mcp": { "good": { "type": "remote", "url": "https://e.com" } } }\n',
      );
    },
    [
      { name: "POST skill", method: "POST", path: "/skills", body: { name: "fresh", content: SKILL("fresh") }, ...ESCAPE },
      { name: "DELETE skill", method: "DELETE", path: "/skills/outside-skill", ...ESCAPE },
      { name: "POST command", method: "POST", path: "/commands", body: { name: "fresh", template: "x" }, ...ESCAPE },
      { name: "DELETE command", method: "DELETE", path: "/commands/outside-cmd", ...ESCAPE },
      { name: "GET config (openwork.json is outside)", method: "GET", path: "/config", ...ESCAPE },
      { name: "PATCH openwork", method: "PATCH", path: "/config", body: { openwork: { a: 1 } }, ...ESCAPE },
      // opencode.json itself is inside, but the audit log (.opencode/openwork/audit.jsonl) is not.
      { name: "PATCH opencode only", method: "PATCH", path: "/config", body: { opencode: { theme: "x" } }, ...ESCAPE },
      { name: "POST plugin (audit log is outside)", method: "POST", path: "/plugins", body: { spec: "fresh-plugin" }, ...ESCAPE },
      { name: "DELETE plugin (audit log is outside)", method: "DELETE", path: "/plugins/good-plugin", ...ESCAPE },
      { name: "POST mcp (audit log is outside)", method: "POST", path: "/mcp", body: VALID["/mcp"], ...ESCAPE },
      { name: "DELETE mcp (audit log is outside)", method: "DELETE", path: "/mcp/good", ...ESCAPE },
      { name: "import opencode (audit log is outside)", method: "POST", path: "/import", body: { opencode: { theme: "x" } }, ...ESCAPE },
      { name: "import openwork", method: "POST", path: "/import", body: { openwork: { a: 1 } }, ...ESCAPE },
      { name: "GET audit (the log is outside)", method: "GET", path: "/audit", ...ESCAPE },
    ],
  );

  scenario(
    ".opencode/openwork.json -> outside file",
    async (w) => {
      await mkdir(join(w.root, ".opencode"), { recursive: true });
      await symlink(join(w.outside, "openwork.json"), join(w.root, ".opencode", "openwork.json"));
    },
    [
      { name: "GET config", method: "GET", path: "/config", ...ESCAPE },
      { name: "GET export", method: "GET", path: "/export", ...ESCAPE },
      { name: "PATCH openwork", method: "PATCH", path: "/config", body: { openwork: { a: 1 } }, ...ESCAPE },
      { name: "PATCH opencode", method: "PATCH", path: "/config", body: { opencode: { theme: "x" } }, ...ESCAPE },
      { name: "import openwork", method: "POST", path: "/import", body: { openwork: { a: 1 } }, ...ESCAPE },
      { name: "import/preview openwork", method: "POST", path: "/import/preview", body: { openwork: { a: 1 } }, ...ESCAPE },
    ],
  );

  scenario(
    "opencode.json -> outside file",
    async (w) => {
      await symlink(join(w.outside, "opencode.json"), join(w.root, "opencode.json"));
    },
    CONFIG_READERS("path_escape", 400),
  );

  scenario(
    "opencode.jsonc -> outside file",
    async (w) => {
      await symlink(join(w.outside, "opencode.json"), join(w.root, "opencode.jsonc"));
    },
    CONFIG_READERS("path_escape", 400),
  );

  scenario(
    "opencode.json -> ../ws-evil/opencode.json (relative, sibling prefix)",
    async (w) => {
      await symlink(join("..", "ws-evil", "opencode.json"), join(w.root, "opencode.json"));
    },
    CONFIG_READERS("path_escape", 400),
  );

  scenario(
    "opencode.json -> a missing outside file (dangling)",
    async (w) => {
      await symlink(join(w.outside, "created-by-us.json"), join(w.root, "opencode.json"));
    },
    [
      { name: "PATCH opencode", method: "PATCH", path: "/config", body: { opencode: { theme: "x" } }, ...ESCAPE },
      { name: "POST plugins", method: "POST", path: "/plugins", body: { spec: "fresh-plugin" }, ...ESCAPE },
      { name: "POST mcp", method: "POST", path: "/mcp", body: VALID["/mcp"], ...ESCAPE },
      { name: "import opencode", method: "POST", path: "/import", body: { opencode: { theme: "x" } }, ...ESCAPE },
    ],
  );

  scenario(
    ".opencode/openwork (audit folder) -> outside/openwork",
    async (w) => {
      await mkdir(join(w.root, ".opencode"), { recursive: true });
      await symlink(join(w.outside, "openwork"), join(w.root, ".opencode", "openwork"));
    },
    [
      { name: "PATCH openwork (would audit outside)", method: "PATCH", path: "/config", body: { openwork: { a: 1 } }, ...ESCAPE },
      {
        name: "POST skill (would audit outside)",
        method: "POST",
        path: "/skills",
        body: { name: "fresh", content: SKILL("fresh") },
        ...ESCAPE,
      },
      { name: "POST command (would audit outside)", method: "POST", path: "/commands", body: { name: "fresh", template: "x" }, ...ESCAPE },
      { name: "GET audit", method: "GET", path: "/audit", ...ESCAPE },
    ],
  );

  scenario(
    ".opencode/openwork/audit.jsonl -> a missing outside file (dangling)",
    async (w) => {
      await mkdir(join(w.root, ".opencode", "openwork"), { recursive: true });
      await symlink(join(w.outside, "new-audit.jsonl"), join(w.root, ".opencode", "openwork", "audit.jsonl"));
    },
    [
      { name: "PATCH openwork (would create the outside file)", method: "PATCH", path: "/config", body: { openwork: { a: 1 } }, ...ESCAPE },
      { name: "POST plugins", method: "POST", path: "/plugins", body: { spec: "fresh-plugin" }, ...ESCAPE },
    ],
  );

  // Plugin files are only listed, never written: adding a plugin edits opencode.json in the
  // workspace, so it succeeds and nothing outside changes.
  scenario(
    ".opencode/plugins -> outside/plugins",
    async (w) => {
      await mkdir(join(w.root, ".opencode"), { recursive: true });
      await symlink(join(w.outside, "plugins"), join(w.root, ".opencode", "plugins"));
    },
    [
      {
        name: "listing leaves out the files reached through the link (issue 13.4)",
        method: "GET",
        path: "/plugins",
        status: 200,
        check: (b) => assert.ok(!b.items.some((i: { spec: string }) => i.spec === "evil.js")),
      },
      {
        name: "POST plugins writes only the workspace config",
        method: "POST",
        path: "/plugins",
        body: { spec: "fresh-plugin" },
        status: 200,
        writes: true,
      },
      {
        name: "DELETE plugins/evil.js (a file, not a config spec)",
        method: "DELETE",
        path: "/plugins/evil.js",
        status: 404,
        code: "not_found",
      },
    ],
  );
});

// ---------------------------------------------------------------------------------------------
// 6. Issue 13: what costs, what lies on disk, what links lead to, what names mean on Windows.
// Each class is a group of rows (in-process); the bounds on harm (the answer comes in time while
// /health stays fast; memory stays bounded) are measured against a real child server below.

const manyKeys = (n: number, prefix = "k"): Record<string, number> =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, i]));
const bigEnvironment = (n: number) => ({
  type: "local",
  command: ["x"],
  environment: Object.fromEntries(Array.from({ length: n }, (_, i) => [`K${i}`, "v"])),
});
const fatFrontmatter = (name: string, keys: number) =>
  `---\nname: ${name}\ndescription: fat\n${Array.from({ length: keys }, (_, i) => `k${i}: v`).join("\n")}\n---\nBody\n`;
const EVIL_PATTERN = "*a*a*a*a*a*a*a*ab";
const A64 = "a".repeat(64);
const onlyItems = (names: string[]) => (b: any) =>
  assert.deepEqual(
    b.items.map((i: { name: string }) => i.name),
    names,
  );
const exportHas = (part: "skills" | "commands", names: string[]) => (b: any) =>
  assert.deepEqual(
    b[part].map((i: { name: string }) => i.name),
    names,
  );
const fileRefused = (reason: string) => (b: any) => assert.equal(b.details?.reason, reason, JSON.stringify(b));
const posix = process.platform !== "win32";
const mkfifo = (path: string) => execFileSync("mkfifo", [path]);

describe("13.1 edits with many keys answer at once (one pass, and at most 1000 keys per part)", () => {
  scenario(
    "a workspace with a small config",
    async (w) => {
      await putFile(join(w.root, "opencode.json"), '{\n  // kept\n  "theme": "dark"\n}\n');
    },
    [
      ...["opencode", "openwork"].flatMap((part): Row[] => [
        {
          name: `PATCH ${part} with 16,000 top-level keys (an object over the body's 10,000 keys)`,
          method: "PATCH",
          path: "/config",
          body: { [part]: manyKeys(16_000) },
          status: 400,
          code: "invalid_payload",
          maxMs: 3000,
          check: (b) => assert.deepEqual([b.details.maxKeys, b.details.path], [10_000, part]),
        },
        {
          name: `PATCH ${part} with 1,001 top-level keys (over the edit's 1,000)`,
          method: "PATCH",
          path: "/config",
          body: { [part]: manyKeys(1001) },
          status: 400,
          code: "invalid_payload",
          maxMs: 3000,
          check: (b) => assert.equal(b.details.maxKeys, 1000),
        },
      ]),
      ...["/import", "/import/preview"].flatMap((path): Row[] => [
        {
          name: "an import part with 16,000 keys",
          method: "POST",
          path,
          body: { opencode: manyKeys(16_000), mode: { opencode: "replace" } },
          status: 400,
          code: "invalid_payload",
          maxMs: 3000,
        },
        {
          name: "an import part with 1,001 keys",
          method: "POST",
          path,
          body: { openwork: manyKeys(1001) },
          status: 400,
          code: "invalid_payload",
          maxMs: 3000,
          check: (b) => assert.deepEqual([b.details.maxKeys, b.details.part], [1000, "openwork"]),
        },
      ]),
      {
        name: "1,000 keys (the cap) are written in one pass; the comment stays",
        method: "PATCH",
        path: "/config",
        body: { opencode: manyKeys(1000) },
        status: 200,
        writes: true,
        maxMs: 5000,
        check: (b) => assert.equal(Object.keys(b.opencode).length, 1001),
      },
      {
        name: "import/preview replace against the 1,001-key file",
        method: "POST",
        path: "/import/preview",
        body: { opencode: { theme: "light" }, mode: { opencode: "replace" } },
        status: 200,
        maxMs: 5000,
        check: (b) => {
          assert.equal(b.opencode.removed.length, 1000);
          assert.deepEqual(b.opencode.changed, ["theme"]);
        },
      },
      {
        name: "null removes 1,000 keys in one pass",
        method: "PATCH",
        path: "/config",
        body: { opencode: Object.fromEntries(Object.keys(manyKeys(1000)).map((k) => [k, null])) },
        status: 200,
        writes: true,
        maxMs: 5000,
        check: (b) => assert.deepEqual(b.opencode, { theme: "dark" }),
      },
      {
        name: "one MCP entry with 10,000 keys (the body's cap) is one linear edit",
        method: "POST",
        path: "/mcp",
        body: { name: "wide", config: bigEnvironment(10_000) },
        status: 200,
        writes: true,
        maxMs: 5000,
      },
      {
        name: "one MCP entry with 50,000 keys",
        method: "POST",
        path: "/mcp",
        body: { name: "wider", config: bigEnvironment(50_000) },
        status: 400,
        code: "invalid_payload",
        maxMs: 3000,
        check: (b) => assert.equal(b.details.path, "config.environment"),
      },
      {
        name: "a 900 KB value: the config would pass the 1 MiB read cap",
        method: "POST",
        path: "/mcp",
        body: { name: "wider", config: { type: "remote", url: "https://e.com", note: "x".repeat(900_000) } },
        status: 413,
        code: "payload_too_large",
        maxMs: 5000,
        check: (b) => assert.equal(b.details.maxBytes, 1024 * 1024),
      },
      { name: "the wide entry goes again", method: "DELETE", path: "/mcp/wide", status: 200, writes: true, maxMs: 5000 },
    ],
  );

  test("the text edit keeps comments and formatting around changed, added and removed keys", async () => {
    const h = await createHarness();
    try {
      const text = '{\n  // the theme\n  "theme": "dark", // trailing\n  /* the model */\n  "model": "a/b",\n  "plugin": ["x"],\n}\n';
      await putFile(join(h.root, "opencode.jsonc"), text);
      await h.call("PATCH", h.ws("/config"), { opencode: { model: null, plugin: ["x"], share: "auto" } });
      assert.equal(
        await readFile(join(h.root, "opencode.jsonc"), "utf8"),
        '{\n  // the theme\n  "theme": "dark", // trailing\n  "plugin": ["x"],\n  "share": "auto"\n}\n',
      );
    } finally {
      await h.close();
    }
  });
});

describe("13.2 frontmatter is capped before YAML parses it, and duplicate keys are found in one pass", () => {
  scenario(
    "skills and commands on disk with large, deep or duplicated frontmatter",
    async (w) => {
      const skills = join(w.root, ".opencode", "skills");
      await putFile(join(skills, "fat", "SKILL.md"), fatFrontmatter("fat", 2000));
      await putFile(join(skills, "dupe", "SKILL.md"), "---\nname: dupe\ndescription: one\ndescription: two\n---\nBody\n");
      await putFile(join(skills, "deep", "SKILL.md"), `---\nname: deep\ndescription: d\nx: ${"[".repeat(70)}${"]".repeat(70)}\n---\n`);
      await putFile(join(skills, "ok", "SKILL.md"), SKILL("ok"));
      await putFile(join(w.root, ".opencode", "commands", "fat.md"), `---\n${"k: v\n".repeat(3000)}---\nT\n`);
      await putFile(join(w.root, ".opencode", "commands", "ok.md"), "Fine\n");
    },
    [
      { name: "listing skips them", method: "GET", path: "/skills", status: 200, maxMs: 3000, check: onlyItems(["ok"]) },
      { name: "over 8 KiB", method: "GET", path: "/skills/fat", status: 422, code: "invalid_file", maxMs: 3000 },
      {
        name: "duplicate key, with its line",
        method: "GET",
        path: "/skills/dupe",
        status: 422,
        code: "invalid_file",
        check: (b) => assert.equal(b.details.line, 4),
      },
      { name: "70 levels deep", method: "GET", path: "/skills/deep", status: 422, code: "invalid_file" },
      { name: "commands listing skips the fat one", method: "GET", path: "/commands", status: 200, check: onlyItems(["ok"]) },
      {
        name: "95,000-key frontmatter in a skill write",
        method: "POST",
        path: "/skills",
        body: { name: "huge", content: fatFrontmatter("huge", 80_000) },
        status: 400,
        code: "invalid_payload",
        maxMs: 3000,
      },
      ...["/import", "/import/preview"].map(
        (path): Row => ({
          name: "80,000-key frontmatter in an imported skill",
          method: "POST",
          path,
          body: { skills: [{ name: "huge", content: fatFrontmatter("huge", 80_000) }] },
          status: 400,
          code: "invalid_payload",
          maxMs: 3000,
        }),
      ),
      {
        name: "an imported command whose frontmatter repeats a key",
        method: "POST",
        path: "/import/preview",
        body: { commands: [{ name: "twice", content: "---\nagent: a\nagent: b\n---\nT\n" }] },
        status: 400,
        code: "invalid_payload",
      },
      {
        name: "a command description too long for the frontmatter cap",
        method: "POST",
        path: "/commands",
        body: { name: "wordy", template: "T", description: "d".repeat(9000) },
        status: 400,
        code: "invalid_payload",
      },
    ],
  );
});

describe("13.3 tools patterns are matched in linear time", () => {
  scenario(
    "a backtracking pattern and a 64-character server name",
    async (w) => {
      const config = {
        mcp: { [A64]: { type: "remote", url: "https://e.com" }, good: { type: "remote", url: "https://e.com" } },
        tools: { deny: [EVIL_PATTERN, `mcp.${"*a".repeat(100)}b`], [EVIL_PATTERN]: false, "good_*": false },
      };
      await putFile(join(w.root, "opencode.json"), JSON.stringify(config));
    },
    [
      {
        name: "GET mcp answers at once; the patterns still work",
        method: "GET",
        path: "/mcp",
        status: 200,
        maxMs: 2000,
        check: (b) => {
          assert.equal(b.items[0].disabledByTools, undefined);
          assert.equal(b.items[1].disabledByTools, true);
        },
      },
      {
        name: "POST mcp (answers with the listing)",
        method: "POST",
        path: "/mcp",
        body: { name: `${A64}b`, config: { type: "remote", url: "https://e.com" } },
        status: 200,
        writes: true,
        maxMs: 2000,
      },
    ],
  );

  scenario(
    "a tools block too costly to check against the servers",
    async (w) => {
      const mcp = Object.fromEntries(
        Array.from({ length: 300 }, (_, i) => [`${"a".repeat(120)}${i}`, { type: "remote", url: "https://e.com" }]),
      );
      const deny = Array.from({ length: 200 }, (_, i) => `${"*a".repeat(120)}${i}x`);
      await putFile(join(w.root, "opencode.json"), JSON.stringify({ mcp, tools: { deny } }));
    },
    [
      {
        name: "GET mcp is a 422 naming the tools key, answered at once",
        method: "GET",
        path: "/mcp",
        status: 422,
        code: "invalid_file",
        maxMs: 3000,
        check: (b) => assert.equal(b.details.key, "tools"),
      },
    ],
  );
});

describe("13.4 files reached through links are served only from inside their root", () => {
  scenario(
    ".opencode/commands -> outside/commands",
    async (w) => {
      await mkdir(join(w.root, ".opencode"), { recursive: true });
      await symlink(join(w.outside, "commands"), join(w.root, ".opencode", "commands"));
    },
    [{ name: "GET commands serves none of them", method: "GET", path: "/commands", status: 200, check: onlyItems([]) }],
  );

  if (posix && existsSync("/usr/share")) {
    scenario(
      ".opencode/commands -> /usr/share (a big tree)",
      async (w) => {
        await mkdir(join(w.root, ".opencode"), { recursive: true });
        await symlink("/usr/share", join(w.root, ".opencode", "commands"));
      },
      [
        {
          name: "GET commands does not crawl it",
          method: "GET",
          path: "/commands",
          status: 200,
          maxMs: 2000,
          check: onlyItems([]),
        },
        { name: "export does not either", method: "GET", path: "/export", status: 200, maxMs: 2000, check: exportHas("commands", []) },
      ],
    );
  }

  scenario(
    "links to outside files and folders, inside and outside hard links",
    async (w) => {
      const skills = join(w.root, ".opencode", "skills");
      const commands = join(w.root, ".opencode", "commands");
      await mkdir(skills, { recursive: true });
      await mkdir(commands, { recursive: true });
      await symlink(join(w.outside, "skills", "good"), join(skills, "good"));
      await mkdir(join(skills, "file-link"));
      await symlink(join(w.outside, "skills", "outside-skill", "SKILL.md"), join(skills, "file-link", "SKILL.md"));
      await putFile(join(w.outside, "hard", "SKILL.md"), SKILL("hard", "outside description"));
      await mkdir(join(skills, "hard"));
      await link(join(w.outside, "hard", "SKILL.md"), join(skills, "hard", "SKILL.md"));
      await link(join(w.outside, "commands", "outside-cmd.md"), join(commands, "hard.md"));
      await symlink(join(w.outside, "commands", "good.md"), join(commands, "good.md"));
      await putFile(join(skills, "ok", "SKILL.md"), SKILL("ok"));
      await putFile(join(commands, "ok.md"), "Fine\n");
      // Links that stay inside the workspace are read as before.
      await putFile(join(w.root, "shared", "inner", "SKILL.md"), SKILL("inner"));
      await symlink(join(w.root, "shared", "inner"), join(skills, "inner"));
    },
    [
      {
        name: "GET skills lists only what lies inside",
        method: "GET",
        path: "/skills",
        status: 200,
        check: (b) => {
          onlyItems(["inner", "ok"])(b);
          assert.ok(!JSON.stringify(b).includes("outside description"));
        },
      },
      {
        name: "GET the hard-linked skill",
        method: "GET",
        path: "/skills/hard",
        status: 422,
        code: "invalid_file",
        check: fileRefused("hard_link"),
      },
      { name: "GET commands lists only what lies inside", method: "GET", path: "/commands", status: 200, check: onlyItems(["ok"]) },
      {
        name: "export leaves them all out",
        method: "GET",
        path: "/export",
        status: 200,
        check: (b) => {
          exportHas("skills", ["inner", "ok"])(b);
          exportHas("commands", ["ok"])(b);
          assert.ok(!JSON.stringify(b).includes("Outside template"));
        },
      },
    ],
  );

  scenario(
    "opencode.json hard-linked to an outside file",
    async (w) => {
      await link(join(w.outside, "opencode.json"), join(w.root, "opencode.json"));
    },
    CONFIG_READERS("invalid_file").map((r) => ({ ...r, check: fileRefused("hard_link") })),
  );

  describe("parent and global folders are held to their own root", () => {
    let far: string;
    let xdg: string;
    const saved = { HOME: process.env.HOME, XDG_CONFIG_HOME: process.env.XDG_CONFIG_HOME };
    before(async () => {
      far = await tempDir("ows-far-");
      xdg = await tempDir("ows-xdg-");
      process.env.HOME = xdg;
      process.env.XDG_CONFIG_HOME = xdg;
      await putFile(join(far, "far-skill", "SKILL.md"), SKILL("far-skill"));
      await putFile(join(far, "far-global", "SKILL.md"), SKILL("far-global"));
      await putFile(join(xdg, "opencode", "skills", "global-ok", "SKILL.md"), SKILL("global-ok"));
      await mkdir(join(xdg, "opencode", "skills"), { recursive: true });
      await symlink(join(far, "far-global"), join(xdg, "opencode", "skills", "far-global"));
    });
    after(async () => {
      Object.assign(process.env, saved);
      if (saved.HOME === undefined) delete process.env.HOME;
      if (saved.XDG_CONFIG_HOME === undefined) delete process.env.XDG_CONFIG_HOME;
      await rm(far, { recursive: true, force: true });
      await rm(xdg, { recursive: true, force: true });
    });
    scenario(
      "a parent folder's skill linked inside that folder, and one linked outside it",
      async (w) => {
        // The workspace's parent is the git root: its skills count, held to the parent folder.
        await mkdir(join(w.parent, ".git"));
        await putFile(join(w.parent, "shared", "near", "SKILL.md"), SKILL("near"));
        await mkdir(join(w.parent, ".opencode", "skills"), { recursive: true });
        await symlink(join(w.parent, "shared", "near"), join(w.parent, ".opencode", "skills", "near"));
        await symlink(join(far, "far-skill"), join(w.parent, ".opencode", "skills", "far-skill"));
      },
      [
        {
          name: "GET skills with the global folders",
          method: "GET",
          path: "/skills?includeGlobal=true",
          auth: "both",
          status: 200,
          check: onlyItems(["global-ok", "near"]),
        },
      ],
    );
  });

  test("the skipped-items log says why each entry was left out", async () => {
    const parent = await tempDir("ows-skiplog-");
    const root = join(parent, "ws");
    const lines: Array<{ msg: string; file: string; reason: string }> = [];
    const logger = pino({ level: "debug" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const services = createServices(testSettings(root), logger);
    const app = createApp(services);
    try {
      const skills = join(root, ".opencode", "skills");
      await putFile(join(parent, "out", "x", "SKILL.md"), SKILL("x"));
      await putFile(join(parent, "out", "cmds", "c.md"), "C\n");
      await mkdir(skills, { recursive: true });
      await symlink(join(parent, "out", "x"), join(skills, "x"));
      await putFile(join(parent, "hard.md"), SKILL("hard"));
      await mkdir(join(skills, "hard"));
      await link(join(parent, "hard.md"), join(skills, "hard", "SKILL.md"));
      await putFile(join(skills, "big", "SKILL.md"), "x".repeat(1024 * 1024 + 1));
      if (posix) {
        await mkdir(join(skills, "pipe"));
        mkfifo(join(skills, "pipe", "SKILL.md"));
      }
      await symlink(join(parent, "out", "cmds"), join(root, ".opencode", "commands"));
      const auth = { Authorization: `Bearer ${TOKEN}` };
      const id = workspaceId(root);
      assert.deepEqual((await (await app.request(`/workspace/${id}/skills`, { headers: auth })).json()).items, []);
      assert.deepEqual((await (await app.request(`/workspace/${id}/commands`, { headers: auth })).json()).items, []);
      const why = (file: string) => lines.find((l) => l.file?.endsWith(file))?.reason ?? "(not logged)";
      assert.match(why(join("x", "SKILL.md")), /outside the workspace through a symlink/);
      assert.match(why(join("hard", "SKILL.md")), /2 hard links/);
      assert.match(why(join("big", "SKILL.md")), /larger than 1048576 bytes/);
      if (posix) assert.match(why(join("pipe", "SKILL.md")), /FIFO/);
      assert.match(why(join(".opencode", "commands")), /folder resolves outside the workspace/);
    } finally {
      await services.close();
      await rm(parent, { recursive: true, force: true });
    }
  });
});

describe("13.5 only regular files are read, and never more than their cap", { skip: !posix && "needs mkfifo" }, () => {
  scenario(
    "opencode.json is a FIFO",
    async (w) => {
      mkfifo(join(w.root, "opencode.json"));
    },
    CONFIG_READERS("invalid_file").map((r) => ({ ...r, maxMs: 3000, check: fileRefused("special_file") })),
  );

  scenario(
    "the audit log is a FIFO",
    async (w) => {
      await mkdir(join(w.root, ".opencode", "openwork"), { recursive: true });
      mkfifo(join(w.root, ".opencode", "openwork", "audit.jsonl"));
    },
    [
      { name: "GET audit", method: "GET", path: "/audit", status: 422, code: "invalid_file", maxMs: 3000 },
      { name: "GET config (its updatedAt reads the log)", method: "GET", path: "/config", status: 422, code: "invalid_file", maxMs: 3000 },
      {
        name: "a write (its audit entry could not be appended)",
        method: "POST",
        path: "/plugins",
        body: { spec: "p" },
        status: 422,
        code: "invalid_file",
        maxMs: 3000,
      },
    ],
  );

  scenario(
    "SKILL.md and command files that are FIFOs, huge, or /dev/zero",
    async (w) => {
      const skills = join(w.root, ".opencode", "skills");
      await mkdir(join(skills, "pipe"), { recursive: true });
      mkfifo(join(skills, "pipe", "SKILL.md"));
      await putFile(join(skills, "sparse", "SKILL.md"), `${SKILL("sparse")}${"x".repeat(1024 * 1024)}`);
      await mkdir(join(skills, "zero"));
      await symlink("/dev/zero", join(skills, "zero", "SKILL.md"));
      await putFile(join(skills, "ok", "SKILL.md"), SKILL("ok"));
      await mkdir(join(w.root, ".opencode", "commands"), { recursive: true });
      mkfifo(join(w.root, ".opencode", "commands", "pipe.md"));
      await putFile(join(w.root, ".opencode", "commands", "long.md"), "x".repeat(256 * 1024 + 1));
      await putFile(join(w.root, ".opencode", "commands", "ok.md"), "Fine\n");
    },
    [
      { name: "GET skills", method: "GET", path: "/skills", status: 200, maxMs: 3000, check: onlyItems(["ok"]) },
      {
        name: "GET the FIFO skill",
        method: "GET",
        path: "/skills/pipe",
        status: 422,
        code: "invalid_file",
        maxMs: 3000,
        check: fileRefused("special_file"),
      },
      {
        name: "GET the skill over 1 MiB",
        method: "GET",
        path: "/skills/sparse",
        status: 422,
        code: "invalid_file",
        maxMs: 3000,
        check: fileRefused("too_large"),
      },
      { name: "GET the /dev/zero skill", method: "GET", path: "/skills/zero", status: 400, code: "path_escape" },
      { name: "GET commands", method: "GET", path: "/commands", status: 200, maxMs: 3000, check: onlyItems(["ok"]) },
      {
        name: "export",
        method: "GET",
        path: "/export",
        status: 200,
        maxMs: 3000,
        check: (b) => {
          exportHas("skills", ["ok"])(b);
          exportHas("commands", ["ok"])(b);
        },
      },
      {
        name: "a command write over the 256 KiB cap",
        method: "POST",
        path: "/commands",
        body: { name: "longer", template: "x".repeat(256 * 1024 + 1) },
        status: 413,
        code: "payload_too_large",
      },
      // A write plan reads the file it replaces (synchronously, src/workspace/fs-list.ts
      // readPlannedFile): the same refusals, and nothing is written.
      {
        name: "a write over the FIFO skill",
        method: "POST",
        path: "/skills",
        body: { name: "pipe", content: SKILL("pipe") },
        status: 422,
        code: "invalid_file",
        maxMs: 3000,
        check: fileRefused("special_file"),
      },
      {
        name: "a write over the skill over 1 MiB",
        method: "POST",
        path: "/skills",
        body: { name: "sparse", content: SKILL("sparse") },
        status: 422,
        code: "invalid_file",
        maxMs: 3000,
        check: fileRefused("too_large"),
      },
      {
        name: "a write through the /dev/zero link",
        method: "POST",
        path: "/skills",
        body: { name: "zero", content: SKILL("zero") },
        status: 400,
        code: "path_escape",
      },
      {
        name: "a write over the FIFO command",
        method: "POST",
        path: "/commands",
        body: { name: "pipe", template: "Hi" },
        status: 422,
        code: "invalid_file",
        maxMs: 3000,
        check: fileRefused("special_file"),
      },
      { name: "a delete of the FIFO command", method: "DELETE", path: "/commands/pipe", status: 422, code: "invalid_file", maxMs: 3000 },
    ],
  );

  scenario(
    "opencode.json over the 1 MiB cap",
    async (w) => {
      await putFile(join(w.root, "opencode.json"), JSON.stringify({ theme: "x".repeat(1024 * 1024) }));
    },
    CONFIG_READERS("invalid_file").map((r) => ({ ...r, check: fileRefused("too_large") })),
  );
});

describe("13.5 symlink loops are refused like special files, never a 500", () => {
  scenario(
    "a looping commands folder, skill folder, SKILL.md and opencode.json",
    async (w) => {
      await mkdir(join(w.root, ".opencode", "skills", "loopy"), { recursive: true });
      await symlink("commands", join(w.root, ".opencode", "commands"));
      await symlink("loop", join(w.root, ".opencode", "skills", "loop"));
      await symlink("SKILL.md", join(w.root, ".opencode", "skills", "loopy", "SKILL.md"));
      await putFile(join(w.root, ".opencode", "skills", "ok", "SKILL.md"), SKILL("ok"));
      await symlink("opencode.json", join(w.root, "opencode.json"));
    },
    [
      { name: "GET commands", method: "GET", path: "/commands", status: 200, check: onlyItems([]) },
      { name: "GET skills", method: "GET", path: "/skills", status: 200, check: onlyItems(["ok"]) },
      {
        name: "GET the looping SKILL.md",
        method: "GET",
        path: "/skills/loopy",
        status: 422,
        code: "invalid_file",
        check: fileRefused("link_loop"),
      },
      { name: "GET config", method: "GET", path: "/config", status: 422, code: "invalid_file", check: fileRefused("link_loop") },
      { name: "GET export", method: "GET", path: "/export", status: 422, code: "invalid_file" },
    ],
  );
});

describe("13.6 a deep or duplicated file on disk is a 422 naming the place", () => {
  const DEEP_FILE = `{"a":${"[".repeat(100_000)}${"]".repeat(100_000)}}`;
  scenario(
    "opencode.json nested 100,000 deep",
    async (w) => {
      await putFile(join(w.root, "opencode.json"), DEEP_FILE);
    },
    CONFIG_READERS("invalid_file").map((r) => ({ ...r, maxMs: 3000, check: (b: any) => assert.match(b.details.error, /deeper than 64/) })),
  );

  scenario(
    ".opencode/openwork.json nested 100,000 deep",
    async (w) => {
      await putFile(join(w.root, ".opencode", "openwork.json"), DEEP_FILE);
    },
    [
      { name: "GET config", method: "GET", path: "/config", status: 422, code: "invalid_file" },
      { name: "GET export", method: "GET", path: "/export", status: 422, code: "invalid_file" },
    ],
  );

  scenario(
    "the audit log is a folder",
    async (w) => {
      await mkdir(join(w.root, ".opencode", "openwork", "audit.jsonl"), { recursive: true });
    },
    [
      { name: "GET config", method: "GET", path: "/config", status: 422, code: "invalid_file", check: fileRefused("folder") },
      { name: "GET audit", method: "GET", path: "/audit", status: 422, code: "invalid_file" },
      { name: "PATCH config", method: "PATCH", path: "/config", body: { opencode: { theme: "x" } }, status: 422, code: "invalid_file" },
    ],
  );

  scenario(
    "opencode.json with two mcp keys",
    async (w) => {
      const server = '{ "type": "remote", "url": "https://e.com" }';
      await putFile(join(w.root, "opencode.json"), `{\n  "mcp": { "good": ${server} },\n  "mcp": { "other": ${server} }\n}\n`);
    },
    [
      ...CONFIG_READERS("invalid_file"),
      {
        name: "DELETE mcp names the second key",
        method: "DELETE",
        path: "/mcp/good",
        status: 422,
        code: "invalid_file",
        check: (b) => {
          assert.equal(b.details.line, 3);
          assert.equal(b.details.column, 3);
          assert.match(b.details.error, /duplicate key "mcp" \(first at line 2\)/);
        },
      },
    ],
  );
});

describe("13.8 writes and deletes never go through a link the approval did not name", () => {
  scenario(
    ".opencode/skills -> the workspace root",
    async (w) => {
      await putFile(join(w.root, "src", "index.js"), "the user's code\n");
      await mkdir(join(w.root, ".opencode"), { recursive: true });
      await symlink("..", join(w.root, ".opencode", "skills"));
    },
    [
      {
        name: "DELETE skills/src (would delete the user's src/)",
        method: "DELETE",
        path: "/skills/src",
        status: 422,
        code: "symlink_in_path",
        check: (b) => assert.equal(b.details.path, ".opencode/skills"),
      },
      {
        name: "POST skill src",
        method: "POST",
        path: "/skills",
        body: { name: "src", content: SKILL("src") },
        status: 422,
        code: "symlink_in_path",
      },
      {
        name: "import skill src",
        method: "POST",
        path: "/import",
        body: { skills: [{ name: "src", content: SKILL("src") }] },
        status: 422,
        code: "symlink_in_path",
      },
    ],
  );

  scenario(
    "a skill folder, the commands folder and .opencode linked inside the workspace",
    async (w) => {
      await putFile(join(w.root, "docs", "alias", "SKILL.md"), SKILL("alias"));
      await mkdir(join(w.root, ".opencode", "skills"), { recursive: true });
      await symlink(join("..", "..", "docs", "alias"), join(w.root, ".opencode", "skills", "alias"));
      await putFile(join(w.root, "prompts", "x.md"), "Prompt x\n");
      await symlink(join("..", "prompts"), join(w.root, ".opencode", "commands"));
    },
    [
      { name: "DELETE the linked skill", method: "DELETE", path: "/skills/alias", status: 422, code: "symlink_in_path" },
      {
        name: "POST over the linked skill",
        method: "POST",
        path: "/skills",
        body: { name: "alias", content: SKILL("alias") },
        status: 422,
        code: "symlink_in_path",
      },
      { name: "DELETE a command in the linked folder", method: "DELETE", path: "/commands/x", status: 422, code: "symlink_in_path" },
      {
        name: "POST a command into it",
        method: "POST",
        path: "/commands",
        body: { name: "y", template: "t" },
        status: 422,
        code: "symlink_in_path",
      },
      {
        name: "import replace commands (would delete x through the link)",
        method: "POST",
        path: "/import",
        body: { commands: [], mode: { commands: "replace" } },
        status: 422,
        code: "symlink_in_path",
      },
      { name: "reads still follow inside links", method: "GET", path: "/skills/alias", status: 200 },
    ],
  );

  scenario(
    ".opencode linked to a folder inside the workspace",
    async (w) => {
      await mkdir(join(w.root, "config", "opencode"), { recursive: true });
      await symlink(join("config", "opencode"), join(w.root, ".opencode"));
    },
    [
      {
        name: "POST skill",
        method: "POST",
        path: "/skills",
        body: { name: "fresh", content: SKILL("fresh") },
        status: 422,
        code: "symlink_in_path",
      },
      {
        name: "POST command",
        method: "POST",
        path: "/commands",
        body: { name: "fresh", template: "t" },
        status: 422,
        code: "symlink_in_path",
      },
    ],
  );
});

describe("13.9 Windows device names are refused wherever a name becomes a file or key", () => {
  scenario("an empty workspace", async () => {}, [
    { name: "skill con", method: "POST", path: "/skills", body: { name: "con", content: SKILL("con") }, status: 400, code: "invalid_name" },
    { name: "command /NUL", method: "POST", path: "/commands", body: { name: "/NUL", template: "t" }, status: 400, code: "invalid_name" },
    { name: "command Com1", method: "POST", path: "/commands", body: { name: "Com1", template: "t" }, status: 400, code: "invalid_name" },
    {
      name: "mcp lpt1",
      method: "POST",
      path: "/mcp",
      body: { name: "lpt1", config: { type: "remote", url: "https://e.com" } },
      status: 400,
      code: "invalid_name",
    },
    {
      name: "import skill aux",
      method: "POST",
      path: "/import",
      body: { skills: [{ name: "aux", content: SKILL("aux") }] },
      status: 400,
      code: "invalid_name",
    },
    {
      name: "import command prn",
      method: "POST",
      path: "/import/preview",
      body: { commands: [{ name: "prn", template: "t" }] },
      status: 400,
      code: "invalid_name",
    },
    { name: "command con-1 is fine", method: "POST", path: "/commands", body: { name: "con-1", template: "t" }, status: 200, writes: true },
  ]);
});

// ---------------------------------------------------------------------------------------------
// 7. Issue 13, bounds on harm, against a real server in a child process: each hostile request
// answers within 2 s while /health, polled every 20 ms meanwhile, answers every time within
// 200 ms; an export over a SKILL.md linked to /dev/zero leaves the server's RSS bounded.

describe("13: hostile requests against a real port do not hold up the server", { skip: !posix && "needs mkfifo" }, () => {
  let parent: string;
  let server: ChildServer;
  const ws: Record<"plain" | "redos" | "fifo" | "zero", string> = { plain: "", redos: "", fifo: "", zero: "" };
  const url = (name: keyof typeof ws, suffix: string) => `${server.url}/workspace/${workspaceId(ws[name])}${suffix}`;

  before(async () => {
    parent = await tempDir("ows-hostile-port-");
    for (const name of Object.keys(ws) as Array<keyof typeof ws>) {
      ws[name] = join(parent, name);
      await mkdir(ws[name]);
    }
    await putFile(
      join(ws.redos, "opencode.json"),
      JSON.stringify({ mcp: { [A64]: { type: "remote", url: "https://e.com" } }, tools: { deny: [EVIL_PATTERN], [EVIL_PATTERN]: false } }),
    );
    mkfifo(join(ws.fifo, "opencode.json"));
    await mkdir(join(ws.fifo, ".opencode", "openwork"), { recursive: true });
    mkfifo(join(ws.fifo, ".opencode", "openwork", "audit.jsonl"));
    await mkdir(join(ws.zero, ".opencode", "skills", "zero"), { recursive: true });
    await symlink("/dev/zero", join(ws.zero, ".opencode", "skills", "zero", "SKILL.md"));
    await putFile(join(ws.zero, ".opencode", "skills", "ok", "SKILL.md"), SKILL("ok"));
    const workspaces = Object.values(ws).flatMap((path) => ["--workspace", path]);
    server = await startChildServer([...workspaces, "--approval", "auto", "--token", TOKEN, "--host-token", HOST_TOKEN], {
      env: { HOME: parent, XDG_CONFIG_HOME: join(parent, ".config") },
    });
  });
  after(async () => {
    await server?.stop();
    await rm(parent, { recursive: true, force: true });
  });

  const auth = { Authorization: `Bearer ${TOKEN}` };
  const send = (method: string, target: string, body?: unknown) =>
    fetch(target, {
      method,
      headers: body === undefined ? auth : { ...auth, "Content-Type": "application/json" },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
      signal: AbortSignal.timeout(20_000),
    });

  /** Runs `request` while /health is polled; returns its answers, its time and the slowest /health. */
  async function whilePolled(request: () => Promise<Response[]>) {
    let slowest = 0;
    let polls = 0;
    let done = false;
    const poller = (async () => {
      while (!done) {
        const started = performance.now();
        const res = await fetch(`${server.url}/health`, { signal: AbortSignal.timeout(20_000) });
        await res.arrayBuffer();
        slowest = Math.max(slowest, performance.now() - started);
        polls++;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const started = performance.now();
    try {
      const responses = await request();
      const answers = await Promise.all(responses.map(async (r) => ({ status: r.status, text: await r.text() })));
      return { answers, ms: performance.now() - started, slowest, polls };
    } finally {
      done = true;
      await poller;
    }
  }

  const bounded = (name: string, status: number, request: () => Promise<Response>, code?: string) =>
    test(`${name} -> ${status}${code ? ` ${code}` : ""} within 2 s, /health under 200 ms`, { timeout: 60_000 }, async () => {
      const { answers, ms, slowest, polls } = await whilePolled(async () => [await request()]);
      const [answer] = answers;
      assert.equal(answer!.status, status, answer!.text.slice(0, 300));
      if (code) assert.equal(JSON.parse(answer!.text).code, code);
      assert.ok(ms < 2000, `answered in ${Math.round(ms)} ms`);
      assert.ok(polls > 0 && slowest < 200, `slowest /health: ${Math.round(slowest)} ms over ${polls} polls`);
    });

  // Bodies are built before the clock starts.
  const patch16k = JSON.stringify({ opencode: manyKeys(16_000) });
  const import16k = JSON.stringify({ opencode: manyKeys(16_000), openwork: manyKeys(16_000) });
  const mcp50k = JSON.stringify({ name: "wider", config: bigEnvironment(50_000) });
  const skill80k = JSON.stringify({ skills: [{ name: "huge", content: fatFrontmatter("huge", 80_000) }] });

  bounded("13.1 PATCH config with 16,000 top-level keys", 400, () => send("PATCH", url("plain", "/config"), patch16k), "invalid_payload");
  bounded(
    "13.1 import preview with 16,000-key parts",
    400,
    () => send("POST", url("plain", "/import/preview"), import16k),
    "invalid_payload",
  );
  bounded("13.1 POST mcp with a 50,000-key entry", 400, () => send("POST", url("plain", "/mcp"), mcp50k), "invalid_payload");
  bounded(
    "13.2 import preview of a skill with 80,000 frontmatter keys",
    400,
    () => send("POST", url("plain", "/import/preview"), skill80k),
    "invalid_payload",
  );
  bounded("13.3 GET mcp with a backtracking tools pattern and a 64-character server", 200, () => send("GET", url("redos", "/mcp")));
  bounded("13.5 GET audit when the log is a FIFO", 422, () => send("GET", url("fifo", "/audit")), "invalid_file");

  test("13.5 FIFOs do not hang requests or fill the thread pool", { timeout: 60_000 }, async () => {
    const { answers, ms, slowest } = await whilePolled(async () => {
      // More than libuv's 4 threads: a blocking open of each would leave none for anyone else.
      const stuck = await Promise.all(Array.from({ length: 8 }, () => send("GET", url("fifo", "/config"))));
      const other = await send("GET", url("plain", "/config"));
      return [...stuck, other];
    });
    assert.deepEqual(
      answers.map((a) => a.status),
      [...Array(8).fill(422), 200],
    );
    assert.ok(ms < 2000, `answered in ${Math.round(ms)} ms`);
    assert.ok(slowest < 200, `slowest /health: ${Math.round(slowest)} ms`);
  });

  test("13.5 export over a SKILL.md linked to /dev/zero answers without it; RSS stays bounded", { timeout: 60_000 }, async () => {
    const rss = () => {
      const status = readFileSync(`/proc/${server.proc.pid}/status`, "utf8");
      return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]) * 1024;
    };
    const before = rss();
    const { answers, ms } = await whilePolled(async () => [await send("GET", url("zero", "/export"))]);
    assert.equal(answers[0]!.status, 200, answers[0]!.text.slice(0, 300));
    assert.deepEqual(
      JSON.parse(answers[0]!.text).skills.map((s: { name: string }) => s.name),
      ["ok"],
    );
    assert.ok(ms < 2000, `answered in ${Math.round(ms)} ms`);
    const grown = rss() - before;
    assert.ok(grown < 100 * 1024 * 1024, `RSS grew by ${Math.round(grown / 1024 / 1024)} MiB`);
    assert.equal(server.proc.exitCode, null, "the server is still running");
  });
});
