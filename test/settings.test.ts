// Settings: precedence (flag > env > file > default), relative paths, and clear startup errors.
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ConfigError, DEFAULTS, loadSettings, type ServerSettings } from "../src/config.js";
import { tempDir } from "./helpers/harness.js";

let dir: string;
let wsA: string;
let wsB: string;
let home: string;

before(async () => {
  dir = await tempDir("ows-settings-");
  wsA = join(dir, "a");
  wsB = join(dir, "b");
  home = join(dir, "home");
  await Promise.all([mkdir(wsA), mkdir(wsB), mkdir(home)]);
});

function load(argv: string[], env: Record<string, string> = {}, cwd = wsA): ServerSettings {
  const result = loadSettings({ argv, env, cwd, home });
  assert.equal(result.kind, "run");
  return (result as { settings: ServerSettings }).settings;
}

async function configFile(content: unknown, name = "server.json"): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, typeof content === "string" ? content : JSON.stringify(content));
  return file;
}

describe("defaults", () => {
  test("with nothing configured the current directory is served on 127.0.0.1:8787 in manual mode", () => {
    const s = load([]);
    assert.equal(s.host, "127.0.0.1");
    assert.equal(s.port, 8787);
    assert.deepEqual(s.approval, { mode: "manual", timeoutMs: 30_000 });
    assert.equal(s.corsOrigins, "*");
    assert.equal(s.readOnly, false);
    assert.deepEqual(
      s.workspaces.map((w) => w.path),
      [wsA],
    );
    assert.deepEqual(s.authorizedRoots, [wsA]);
    assert.equal(s.configFile, null);
    assert.equal(s.bodyLimitBytes, DEFAULTS.bodyLimitBytes);
  });

  test("tokens that are not supplied are generated, at least 128 bits, and flagged as generated", () => {
    const s = load([]);
    assert.ok(Buffer.from(s.token, "base64url").length >= 16);
    assert.ok(Buffer.from(s.hostToken, "base64url").length >= 16);
    assert.notEqual(s.token, s.hostToken);
    assert.deepEqual(s.generated, { token: true, hostToken: true });
    const other = load([]);
    assert.notEqual(other.token, s.token);
  });
});

describe("precedence: flag > env > file > default", () => {
  const table: Array<{
    key: string;
    flag: string[];
    env: Record<string, string>;
    file: object;
    read: (s: ServerSettings) => unknown;
    values: [unknown, unknown, unknown];
  }> = [
    {
      key: "host",
      flag: ["--host", "10.0.0.1"],
      env: { OPENWORK_HOST: "10.0.0.2" },
      file: { host: "10.0.0.3" },
      read: (s) => s.host,
      values: ["10.0.0.1", "10.0.0.2", "10.0.0.3"],
    },
    {
      key: "port",
      flag: ["--port", "1001"],
      env: { OPENWORK_PORT: "1002" },
      file: { port: 1003 },
      read: (s) => s.port,
      values: [1001, 1002, 1003],
    },
    {
      key: "token",
      flag: ["--token", "f"],
      env: { OPENWORK_TOKEN: "e" },
      file: { token: "c" },
      read: (s) => s.token,
      values: ["f", "e", "c"],
    },
    {
      key: "hostToken",
      flag: ["--host-token", "f"],
      env: { OPENWORK_HOST_TOKEN: "e" },
      file: { hostToken: "c" },
      read: (s) => s.hostToken,
      values: ["f", "e", "c"],
    },
    {
      key: "approval.mode",
      flag: ["--approval", "auto"],
      env: { OPENWORK_APPROVAL_MODE: "manual" },
      file: { approval: { mode: "auto" } },
      read: (s) => s.approval.mode,
      values: ["auto", "manual", "auto"],
    },
    {
      key: "approval.timeoutMs",
      flag: ["--approval-timeout", "11"],
      env: { OPENWORK_APPROVAL_TIMEOUT_MS: "22" },
      file: { approval: { timeoutMs: 33 } },
      read: (s) => s.approval.timeoutMs,
      values: [11, 22, 33],
    },
    {
      key: "corsOrigins",
      flag: ["--cors", "http://f"],
      env: { OPENWORK_CORS_ORIGINS: "http://e,http://e2" },
      file: { corsOrigins: ["http://c"] },
      read: (s) => s.corsOrigins,
      values: [["http://f"], ["http://e", "http://e2"], ["http://c"]],
    },
    {
      key: "readOnly",
      flag: ["--read-only"],
      env: { OPENWORK_READ_ONLY: "false" },
      file: { readOnly: true },
      read: (s) => s.readOnly,
      values: [true, false, true],
    },
  ];
  for (const row of table) {
    test(row.key, async () => {
      const file = await configFile(row.file, `precedence-${row.key}.json`);
      const withFile = ["--config", file];
      assert.deepEqual(row.read(load([...withFile, ...row.flag], row.env)), row.values[0], "flag wins");
      assert.deepEqual(row.read(load(withFile, row.env)), row.values[1], "env beats file");
      assert.deepEqual(row.read(load(withFile)), row.values[2], "file beats default");
    });
  }

  test("workspaces: --workspace replaces OPENWORK_WORKSPACES, which replaces the file's list", async () => {
    const file = await configFile({ workspaces: ["a"] }, "ws.json");
    assert.deepEqual(
      load(["--config", file, "--workspace", wsB], { OPENWORK_WORKSPACES: wsA }).workspaces.map((w) => w.path),
      [wsB],
    );
    assert.deepEqual(
      load(["--config", file], { OPENWORK_WORKSPACES: `${wsB},${wsA}` }).workspaces.map((w) => w.path),
      [wsB, wsA],
    );
    assert.deepEqual(
      load(["--config", file], { OPENWORK_WORKSPACES: JSON.stringify([wsB, { path: wsA, name: "A" }]) }).workspaces.map(
        (w) => w.name ?? w.path,
      ),
      [wsB, "A"],
    );
    // Relative paths in the file resolve against the file's folder, not the cwd.
    assert.deepEqual(
      load(["--config", file], {}, home).workspaces.map((w) => w.path),
      [wsA],
    );
  });

  test("the config file comes from --config, else OPENWORK_SERVER_CONFIG, else ~/.config/openwork/server.json", async () => {
    const viaFlag = await configFile({ port: 1 }, "flag.json");
    const viaEnv = await configFile({ port: 2 }, "env.json");
    await mkdir(join(home, ".config", "openwork"), { recursive: true });
    await writeFile(join(home, ".config", "openwork", "server.json"), JSON.stringify({ port: 3 }));
    assert.equal(load(["--config", viaFlag], { OPENWORK_SERVER_CONFIG: viaEnv }).port, 1);
    assert.equal(load([], { OPENWORK_SERVER_CONFIG: viaEnv }).port, 2);
    const fromHome = load([]);
    assert.equal(fromHome.port, 3);
    assert.equal(fromHome.configFile, join(home, ".config", "openwork", "server.json"));
  });

  test("engine flags set the first workspace's engine; a password alone implies user 'opencode'", () => {
    const s = load(
      ["--workspace", wsA, "--workspace", wsB, "--opencode-base-url", "http://127.0.0.1:4096", "--opencode-directory", "/srv/x"],
      {
        OPENWORK_OPENCODE_PASSWORD: "pw",
      },
    );
    assert.equal(s.workspaces[0]?.baseUrl, "http://127.0.0.1:4096");
    assert.equal(s.workspaces[0]?.directory, "/srv/x");
    assert.equal(s.workspaces[1]?.baseUrl, undefined);
    assert.deepEqual(s.opencodeAuth, { username: "opencode", password: "pw" });
    const named = load(["--opencode-username", "me", "--opencode-password", "p2"], { OPENWORK_OPENCODE_USERNAME: "env-user" });
    assert.deepEqual(named.opencodeAuth, { username: "me", password: "p2" });
    assert.equal(load([]).opencodeAuth, undefined);
  });

  test("--cors '*' anywhere in a list means any origin", () => {
    assert.equal(load(["--cors", "http://a,*"]).corsOrigins, "*");
  });
});

describe("startup errors name what is wrong", () => {
  const cases: Array<[string, string[], Record<string, string>, RegExp]> = [
    ["non-numeric port flag", ["--port", "abc"], {}, /--port.*"abc"/],
    ["port out of range in env", [], { OPENWORK_PORT: "70000" }, /OPENWORK_PORT/],
    ["unknown approval mode", ["--approval", "maybe"], {}, /--approval.*"maybe"/],
    ["unknown approval mode in env", [], { OPENWORK_APPROVAL_MODE: "sometimes" }, /OPENWORK_APPROVAL_MODE/],
    ["bad timeout", ["--approval-timeout", "-5"], {}, /--approval-timeout/],
    ["unknown flag", ["--frobnicate"], {}, /frobnicate/],
    ["positional argument", ["serve"], {}, /serve/],
    ["workspace that does not exist", ["--workspace", "/nonexistent/ows"], {}, /\/nonexistent\/ows.*does not exist/],
    ["bad OPENWORK_WORKSPACES JSON", [], { OPENWORK_WORKSPACES: "[nope" }, /OPENWORK_WORKSPACES/],
    ["bad OPENWORK_READ_ONLY", [], { OPENWORK_READ_ONLY: "perhaps" }, /OPENWORK_READ_ONLY/],
    ["bad engine URL", ["--opencode-base-url", "not a url"], {}, /opencode-base-url/],
    ["--config that does not exist", ["--config", "/nonexistent/ows.json"], {}, /\/nonexistent\/ows\.json/],
  ];
  for (const [name, argv, env, pattern] of cases) {
    test(name, () => {
      assert.throws(
        () => loadSettings({ argv, env, cwd: wsA, home }),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError, `expected ConfigError, got ${error}`);
          assert.match(error.message, pattern);
          return true;
        },
      );
    });
  }

  test("a config file that is not JSON names the file", async () => {
    const file = await configFile("{ port: 1,", "broken.json");
    assert.throws(
      () => load(["--config", file]),
      (e: Error) => e instanceof ConfigError && e.message.includes(file) && /not valid JSON/.test(e.message),
    );
  });

  test("a config value of the wrong type names the file and the key", async () => {
    const file = await configFile({ approval: { mode: "manual", timeoutMs: "soon" } }, "wrongtype.json");
    assert.throws(
      () => load(["--config", file]),
      (e: Error) => e instanceof ConfigError && e.message.includes(file) && e.message.includes("approval.timeoutMs"),
    );
    const file2 = await configFile({ workspaces: [{ name: "x" }] }, "wrongtype2.json");
    assert.throws(
      () => load(["--config", file2]),
      (e: Error) => e instanceof ConfigError && e.message.includes("workspaces.0"),
    );
  });

  test("--help and --version are recognised", () => {
    assert.deepEqual(loadSettings({ argv: ["--help"], env: {}, cwd: wsA, home }), { kind: "help" });
    assert.deepEqual(loadSettings({ argv: ["--version"], env: {}, cwd: wsA, home }), { kind: "version" });
  });
});

after(async () => {
  const { rm } = await import("node:fs/promises");
  await rm(dir, { recursive: true, force: true });
});
