// HTTPS: the real command with --tls-cert/--tls-key (or the config file), a self-signed
// certificate made for the test, clear exits for unusable files, and the startup warnings.
import assert from "node:assert/strict";
import { copyFile, mkdir, writeFile } from "node:fs/promises";
import { request } from "node:https";
import { connect } from "node:net";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { checkServerIdentity as checkIdentity, type PeerCertificate } from "node:tls";
import { runCli, startChildServer } from "../helpers/child-server.js";
import { tempDir } from "../helpers/harness.js";
import { FIXTURES, makeCertificate, type TestCertificate, writeStrayKey } from "../helpers/tls.js";

const TOKEN = "tls-test-client-token";
const HOST_TOKEN = "tls-test-host-token-0";

/**
 * An HTTPS GET that trusts `ca` (the test's self-signed certificate). Node checks the
 * certificate against the Host header, so a request with a foreign Host checks the URL's
 * address by hand.
 */
function get(url: string, ca: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const address = new URL(url).hostname;
  return new Promise((resolve, reject) => {
    const checkServerIdentity = (_host: string, peer: PeerCertificate) => checkIdentity(address, peer);
    const req = request(url, { ca, headers, checkServerIdentity }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

let dir: string;
let ws: string;
let cert: TestCertificate;
before(async () => {
  dir = await tempDir("ows-tls-");
  ws = join(dir, "ws");
  await mkdir(ws);
  cert = await makeCertificate(dir);
});

const base = () => ["--workspace", ws, "--token", TOKEN, "--host-token", HOST_TOKEN];

describe("TLS", () => {
  test("--tls-cert/--tls-key serve HTTPS; the printed and paired URLs are https; plain HTTP gets nothing", async () => {
    const server = await startChildServer([...base(), "--tls-cert", cert.certFile, "--tls-key", cert.keyFile], { env: { HOME: dir } });
    try {
      assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      assert.match(server.stdout(), /Host page: https:\/\/127\.0\.0\.1:\d+\/ui/);
      const health = await get(`${server.url}/health`, cert.cert);
      assert.equal(health.status, 200);
      assert.equal(JSON.parse(health.body).ok, true);
      const pairing = await get(`${server.url}/host/pairing`, cert.cert, { "X-OpenWork-Host-Token": HOST_TOKEN });
      assert.deepEqual(JSON.parse(pairing.body).urls, [server.url]);
      // The Host check holds over TLS too.
      const foreign = await get(`${server.url}/health`, cert.cert, { Host: "rebind.attacker.example" });
      assert.equal(foreign.status, 421);
      assert.equal(JSON.parse(foreign.body).code, "misdirected_host");
      // Under the certificate's other name as well.
      const port = new URL(server.url).port;
      assert.equal((await get(`https://localhost:${port}/health`, cert.cert)).status, 200);
      // A client that does not trust the certificate is refused by TLS itself.
      await assert.rejects(get(`${server.url}/health`, ""), /self-signed|certificate/i);
      // Plain HTTP on the TLS port: no answer (tokens are never read in clear).
      await assert.rejects(fetch(`http://127.0.0.1:${port}/health`, { headers: { Authorization: `Bearer ${TOKEN}` } }));
      assert.equal(server.stderr(), "", "no warning on loopback");
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });

  test("the config file's tls.cert / tls.key resolve against the file's folder", async () => {
    const cfgDir = join(dir, "cfg");
    await mkdir(join(cfgDir, "certs"), { recursive: true });
    await copyFile(cert.certFile, join(cfgDir, "certs", "c.pem"));
    await copyFile(cert.keyFile, join(cfgDir, "certs", "k.pem"));
    await writeFile(join(cfgDir, "server.json"), JSON.stringify({ tls: { cert: "certs/c.pem", key: "certs/k.pem" } }));
    const server = await startChildServer([...base(), "--config", join(cfgDir, "server.json")], { env: { HOME: dir } });
    try {
      assert.match(server.url, /^https:/);
      assert.equal((await get(`${server.url}/health`, cert.cert)).status, 200);
    } finally {
      await server.stop();
    }
  });

  test("a connection that never finishes the TLS handshake is closed after the header timeout", async () => {
    const cfg = join(dir, "short.json");
    await writeFile(cfg, JSON.stringify({ connections: { headersTimeoutMs: 1000, requestTimeoutMs: 2000 } }));
    const server = await startChildServer([...base(), "--config", cfg, "--tls-cert", cert.certFile, "--tls-key", cert.keyFile], {
      env: { HOME: dir },
    });
    try {
      const started = Date.now();
      const ms = await new Promise<number>((resolve, reject) => {
        const socket = connect({ port: Number(new URL(server.url).port), host: "127.0.0.1", localAddress: "127.0.0.2" });
        socket.on("error", () => {});
        socket.resume();
        socket.on("connect", () => socket.write(Buffer.from([0x16, 0x03, 0x01]))); // the start of a ClientHello, then nothing
        socket.on("close", () => resolve(Date.now() - started));
        setTimeout(() => reject(new Error("still open after 6 s")), 6000);
      });
      assert.ok(ms >= 900 && ms < 3500, `closed after ${ms} ms`);
    } finally {
      await server.stop();
    }
  });

  test("unusable certificate settings exit 2 with a message naming the file and the setting", async () => {
    const garbage = join(dir, "garbage.pem");
    await writeFile(garbage, "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n");
    const stray = join(dir, "stray.pem");
    await writeStrayKey(stray);
    const cases: Array<[string[], Record<string, string>, RegExp]> = [
      [
        ["--tls-cert", join(dir, "missing.pem"), "--tls-key", cert.keyFile],
        {},
        /TLS certificate .*missing\.pem \(from --tls-cert\) does not exist/,
      ],
      [["--tls-cert", cert.certFile], {}, /TLS needs both a certificate and a key: --tls-cert is set/],
      [
        [],
        { OPENWORK_TLS_CERT: garbage, OPENWORK_TLS_KEY: cert.keyFile },
        /garbage\.pem \(from OPENWORK_TLS_CERT\) is not a PEM certificate/,
      ],
      [["--tls-cert", cert.certFile, "--tls-key", stray], {}, /stray\.pem \(from --tls-key\) does not belong to the certificate/],
    ];
    for (const [args, env, pattern] of cases) {
      const result = await runCli([...base(), ...args], { env: { HOME: dir, ...env } });
      assert.equal(result.code, 2, `${args.join(" ")} ${JSON.stringify(env)}: ${result.stderr}`);
      assert.match(result.stderr, pattern);
      assert.ok(!/\n\s+at /.test(result.stderr), "no stack trace");
    }
  });
});

describe("startup warnings", () => {
  test("listening beyond loopback without TLS warns once on stderr; with TLS it does not", async () => {
    const plain = await startChildServer([...base(), "--host", "0.0.0.0"], { env: { HOME: dir } });
    try {
      const lines = plain.stderr().trim().split("\n");
      assert.equal(lines.length, 1, plain.stderr());
      assert.match(
        lines[0]!,
        /^openwork-server: warning: listening on 0\.0\.0\.0 without TLS: tokens .* clear text; serve HTTPS with --tls-cert and --tls-key/,
      );
    } finally {
      await plain.stop();
    }
    const secure = await startChildServer([...base(), "--host", "0.0.0.0", "--tls-cert", cert.certFile, "--tls-key", cert.keyFile], {
      env: { HOME: dir },
    });
    try {
      assert.equal(secure.stderr(), "");
      assert.match(secure.url, /^https:/);
    } finally {
      await secure.stop();
    }
  });

  test("an expired certificate still serves, with a warning", async () => {
    const server = await startChildServer(
      [...base(), "--tls-cert", join(FIXTURES, "expired-cert.pem"), "--tls-key", join(FIXTURES, "expired-key.pem")],
      { env: { HOME: dir } },
    );
    try {
      assert.match(server.stderr(), /warning: TLS certificate .*expired-cert\.pem expired on Jan {2}1 00:00:00 2021 GMT/);
    } finally {
      await server.stop();
    }
  });
});
