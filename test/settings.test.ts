// Settings: precedence (flag > env > file > default), relative paths, and clear startup errors.
import assert from "node:assert/strict";
import { mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ConfigError, DEFAULTS, loadSettings, readTlsFiles, type ServerSettings } from "../src/config.js";
import { tempDir } from "./helpers/harness.js";
import { FIXTURES, makeCertificate, writeStrayKey } from "./helpers/tls.js";

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
      flag: ["--token", "client-from-flag-0001"],
      env: { OPENWORK_TOKEN: "client-from-env-00001" },
      file: { token: "client-from-file-0001" },
      read: (s) => s.token,
      values: ["client-from-flag-0001", "client-from-env-00001", "client-from-file-0001"],
    },
    {
      key: "hostToken",
      flag: ["--host-token", "host-from-flag-000001"],
      env: { OPENWORK_HOST_TOKEN: "host-from-env-0000001" },
      file: { hostToken: "host-from-file-000001" },
      read: (s) => s.hostToken,
      values: ["host-from-flag-000001", "host-from-env-0000001", "host-from-file-000001"],
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

/** Asserts loadSettings refuses these settings with a ConfigError whose message matches. */
function refused(argv: string[], env: Record<string, string>, pattern: RegExp, cwd = wsA) {
  assert.throws(
    () => loadSettings({ argv, env, cwd, home }),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError, `expected ConfigError, got ${error}`);
      assert.match(error.message, pattern);
      return true;
    },
  );
}

describe("token settings", () => {
  const LONG = "a-client-token-0123";
  const HOST = "a-host-token-456789";

  test("a supplied token shorter than 16 characters is refused, from the flag, the variable or the file", async () => {
    refused(["--token", "short-token"], {}, /--token is 11 characters long; use at least 16/);
    refused(["--host-token", "x".repeat(15)], {}, /--host-token is 15 characters long/);
    refused([], { OPENWORK_TOKEN: "bench-token" }, /OPENWORK_TOKEN is 11 characters/);
    refused([], { OPENWORK_HOST_TOKEN: "tiny" }, /OPENWORK_HOST_TOKEN is 4 characters/);
    const file = await configFile({ hostToken: "abc" }, "short-token.json");
    refused(["--config", file], {}, new RegExp(`config file ${file} \\(hostToken\\) is 3 characters`));
    // Characters, not bytes: 16 multi-byte characters are enough, 15 are not.
    assert.equal(load(["--token", "\u00e9".repeat(16)]).token, "\u00e9".repeat(16));
    refused(["--token", "\u00e9".repeat(15)], {}, /15 characters/);
    assert.equal(load(["--token", "x".repeat(16)]).token, "x".repeat(16));
  });

  test("the refusal never shows the token itself", () => {
    const secret = "my-secret-0123";
    try {
      loadSettings({ argv: ["--token", secret], env: {}, cwd: wsA, home });
      assert.fail("should refuse");
    } catch (error) {
      assert.ok(!(error as Error).message.includes(secret));
    }
  });

  test("a token with spaces or control characters (a trailing newline) is refused", () => {
    refused([], { OPENWORK_TOKEN: `${LONG}\n` }, /OPENWORK_TOKEN contains spaces or control characters/);
    refused(["--host-token", `${HOST} x`], {}, /--host-token contains spaces/);
  });

  test("the client token may not equal the host token (a client could approve its own writes)", async () => {
    refused(["--token", LONG, "--host-token", LONG], {}, /client token \(--token\) and the host token \(--host-token\) are the same/);
    refused(["--token", LONG], { OPENWORK_HOST_TOKEN: LONG }, /approve its own writes/);
    const file = await configFile({ token: LONG, hostToken: LONG }, "same-tokens.json");
    refused(["--config", file], {}, /are the same/);
    const ok = load(["--token", LONG, "--host-token", HOST]);
    assert.deepEqual([ok.token, ok.hostToken], [LONG, HOST]);
  });
});

describe("token store path", () => {
  test("defaults to tokens.json beside the default config file, even when that file does not exist", async () => {
    const other = join(dir, "store-home");
    await mkdir(other);
    const s = loadSettings({ argv: [], env: {}, cwd: wsA, home: other });
    assert.equal(s.kind, "run");
    const settings = (s as { settings: ServerSettings }).settings;
    assert.equal(settings.configFile, null);
    assert.equal(settings.tokenStorePath, join(other, ".config", "openwork", "tokens.json"));
  });

  test("defaults to tokens.json beside the config file that was named", async () => {
    await mkdir(join(dir, "cfgdir"), { recursive: true });
    const file = await configFile({}, "cfgdir/server.json");
    assert.equal(load(["--config", file]).tokenStorePath, join(dir, "cfgdir", "tokens.json"));
    assert.equal(load([], { OPENWORK_SERVER_CONFIG: file }).tokenStorePath, join(dir, "cfgdir", "tokens.json"));
  });

  test("--token-store > OPENWORK_TOKEN_STORE > tokenStore (relative to the config file) > default", async () => {
    await mkdir(join(dir, "storecfg"), { recursive: true });
    const file = await configFile({ tokenStore: "keys/devices.json" }, "storecfg/server.json");
    assert.equal(load(["--config", file]).tokenStorePath, join(dir, "storecfg", "keys", "devices.json"));
    assert.equal(load(["--config", file], { OPENWORK_TOKEN_STORE: "env.json" }).tokenStorePath, join(wsA, "env.json"));
    assert.equal(
      load(["--config", file, "--token-store", "flag.json"], { OPENWORK_TOKEN_STORE: "env.json" }).tokenStorePath,
      join(wsA, "flag.json"),
    );
  });

  test("a folder, a special file or a path below a file is refused", async () => {
    refused(["--token-store", wsB], {}, /Token store .* \(from --token-store\) is a folder, not a file/);
    refused(["--token-store", "/dev/null"], {}, /is a special file/);
    const plain = await configFile({}, "plain-file.json");
    refused(["--token-store", join(plain, "tokens.json")], {}, /is not a folder/);
  });

  test("a symlink to a regular file is accepted (dotfile managers link config files)", async () => {
    const target = await configFile("{}", "real-tokens.json");
    await symlink(target, join(dir, "linked-tokens.json"));
    assert.equal(load(["--token-store", join(dir, "linked-tokens.json")]).tokenStorePath, join(dir, "linked-tokens.json"));
  });
});

describe("TLS settings", () => {
  let certDir: string;
  let cert: { certFile: string; keyFile: string };
  before(async () => {
    certDir = join(dir, "tls");
    await mkdir(certDir);
    const made = await makeCertificate(certDir);
    cert = { certFile: made.certFile, keyFile: made.keyFile };
  });

  test("--tls-cert / --tls-key, env or the file (relative to the config file) name the pair", async () => {
    assert.deepEqual(load(["--tls-cert", cert.certFile, "--tls-key", cert.keyFile]).tls, cert);
    assert.deepEqual(load([], { OPENWORK_TLS_CERT: cert.certFile, OPENWORK_TLS_KEY: cert.keyFile }).tls, cert);
    const file = await configFile({ tls: { cert: "cert.pem", key: "key.pem" } }, "tls/server.json");
    assert.deepEqual(load(["--config", file]).tls, cert);
    assert.equal(load([]).tls, undefined);
  });

  test("a certificate without a key (or the reverse) is refused", () => {
    refused(["--tls-cert", cert.certFile], {}, /TLS needs both a certificate and a key: --tls-cert is set but --tls-key/);
    refused([], { OPENWORK_TLS_KEY: cert.keyFile }, /OPENWORK_TLS_KEY is set but --tls-cert/);
  });

  test("missing, unreadable, wrong or mismatched files are refused, naming the file and where it came from", async () => {
    refused(
      ["--tls-cert", join(certDir, "nope.pem"), "--tls-key", cert.keyFile],
      {},
      /TLS certificate .*nope\.pem \(from --tls-cert\) does not exist/,
    );
    refused(["--tls-cert", cert.certFile, "--tls-key", certDir], {}, /TLS key .*tls \(from --tls-key\) is a folder/);
    const garbage = join(certDir, "garbage.pem");
    await writeFile(garbage, "not a certificate\n");
    refused(["--tls-cert", garbage, "--tls-key", cert.keyFile], {}, /garbage\.pem \(from --tls-cert\) is not a PEM certificate/);
    refused(
      ["--tls-cert", cert.certFile, "--tls-key", garbage],
      {},
      /TLS key .*garbage\.pem \(from --tls-key\) is not a usable PEM private key/,
    );
    // The key and the certificate swapped: the certificate file is no key.
    refused(["--tls-cert", cert.certFile, "--tls-key", cert.certFile], {}, /is not a usable PEM private key/);
    const stray = join(certDir, "stray-key.pem");
    await writeStrayKey(stray);
    refused(["--tls-cert", cert.certFile, "--tls-key", stray], {}, /stray-key\.pem \(from --tls-key\) does not belong to the certificate/);
  });

  test("the committed fallback pair (used without openssl) still loads", () => {
    const loaded = readTlsFiles({ certFile: join(FIXTURES, "localhost-cert.pem"), keyFile: join(FIXTURES, "localhost-key.pem") });
    assert.ok(Date.parse(loaded.certificate.validTo) > Date.now() + 365 * 24 * 3600 * 1000, "valid for years yet");
  });
});

describe("allowed hosts and connection limits", () => {
  test("--allowed-hosts > OPENWORK_ALLOWED_HOSTS > allowedHosts > none; '*' anywhere turns the check off", async () => {
    const file = await configFile({ allowedHosts: ["Box.Example.COM.", "[fd00::5]", "*.lan"] }, "hosts.json");
    assert.deepEqual(load(["--config", file]).allowedHosts, ["box.example.com", "fd00::5", "*.lan"]);
    assert.deepEqual(load(["--config", file], { OPENWORK_ALLOWED_HOSTS: "a.test, b.test" }).allowedHosts, ["a.test", "b.test"]);
    assert.deepEqual(load(["--config", file, "--allowed-hosts", "c.test,*"]).allowedHosts, "*");
    assert.deepEqual(load([]).allowedHosts, []);
    assert.equal(load(["--config", await configFile({ allowedHosts: "*" }, "hosts-any.json")]).allowedHosts, "*");
  });

  test("an allowed host with a scheme, port or path is refused, not silently trimmed", () => {
    refused(["--allowed-hosts", "http://box.test"], {}, /--allowed-hosts: "http:\/\/box\.test" is not a host name/);
    refused([], { OPENWORK_ALLOWED_HOSTS: "box.test:8787" }, /OPENWORK_ALLOWED_HOSTS: "box\.test:8787"/);
    refused(["--allowed-hosts", "box.test/ui"], {}, /not a host name/);
  });

  test("connection limits default to DEFAULTS.connections; the file may change each", async () => {
    assert.deepEqual(load([]).connections, DEFAULTS.connections);
    const file = await configFile({ connections: { maxPerAddress: 8, headersTimeoutMs: 2000 } }, "conn.json");
    assert.deepEqual(load(["--config", file]).connections, { ...DEFAULTS.connections, maxPerAddress: 8, headersTimeoutMs: 2000 });
  });

  test("bad connection limits are refused naming the key", async () => {
    const zero = await configFile({ connections: { maxTotal: 0 } }, "conn-zero.json");
    refused(["--config", zero], {}, /connections\.maxTotal/);
    const unknown = await configFile({ connections: { maxPerIp: 3 } }, "conn-unknown.json");
    refused(["--config", unknown], {}, /connections/);
    const order = await configFile({ connections: { headersTimeoutMs: 90_000 } }, "conn-order.json");
    refused(["--config", order], {}, /headersTimeoutMs \(90000\) must not exceed connections\.requestTimeoutMs \(60000\)/);
  });
});

after(async () => {
  const { rm } = await import("node:fs/promises");
  await rm(dir, { recursive: true, force: true });
});
