// Certificates for the TLS tests: a fresh self-signed pair from `openssl` when it is on the PATH,
// else the committed test-only pair in test/fixtures/tls (so nothing needs installing).
import { execFileSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { copyFile, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const FIXTURES = fileURLToPath(new URL("../fixtures/tls/", import.meta.url));

export interface TestCertificate {
  certFile: string;
  keyFile: string;
  /** The PEM certificate, to trust it as a CA in a client. */
  cert: string;
}

function hasOpenssl(): boolean {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** A self-signed certificate for `localhost`, `127.0.0.1` and `::1`, written into `dir`. */
export async function makeCertificate(dir: string): Promise<TestCertificate> {
  const certFile = join(dir, "cert.pem");
  const keyFile = join(dir, "key.pem");
  if (hasOpenssl()) {
    execFileSync(
      "openssl",
      [
        ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
        ...["-keyout", keyFile, "-out", certFile, "-days", "2", "-subj", "/CN=localhost"],
        ...["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1"],
      ],
      { stdio: "ignore" },
    );
  } else {
    await copyFile(join(FIXTURES, "localhost-cert.pem"), certFile);
    await copyFile(join(FIXTURES, "localhost-key.pem"), keyFile);
  }
  return { certFile, keyFile, cert: await readFile(certFile, "utf8") };
}

/** A private key that belongs to no certificate of ours. */
export async function writeStrayKey(file: string): Promise<void> {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  await writeFile(file, privateKey.export({ type: "pkcs8", format: "pem" }));
}
