#!/usr/bin/env node
// openwork-server: parse settings, start, print where to connect (and generated tokens, once).
import { ConfigError, loadSettings, USAGE } from "./config.js";
import { createLogger } from "./logger.js";
import { startServer } from "./server.js";
import { VERSION } from "./version.js";

async function main(): Promise<number> {
  let loaded: ReturnType<typeof loadSettings>;
  try {
    loaded = loadSettings({ argv: process.argv.slice(2), env: process.env, cwd: process.cwd() });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`openwork-server: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  if (loaded.kind === "help") {
    process.stdout.write(USAGE);
    return 0;
  }
  if (loaded.kind === "version") {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const { settings } = loaded;
  const logger = createLogger();
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer(settings, logger);
  } catch (error) {
    // The TLS files are read again at start; they may have changed since the settings check.
    if (error instanceof ConfigError) {
      process.stderr.write(`openwork-server: ${error.message}\n`);
      return 2;
    }
    const code = (error as { code?: string }).code;
    process.stderr.write(`openwork-server: cannot listen on ${settings.host}:${settings.port}: ${code ?? (error as Error).message}\n`);
    return 1;
  }
  for (const warning of server.warnings) process.stderr.write(`openwork-server: warning: ${warning}\n`);

  const lines = [`openwork-server ${VERSION} listening on ${server.urls.join(", ")}`];
  lines.push(`Host page: ${server.urls[0]}/ui`);
  lines.push(`Approval mode: ${settings.approval.mode}${settings.readOnly ? " (read-only)" : ""}`);
  lines.push("Workspaces:");
  for (const w of server.services.registry.list()) {
    lines.push(`  ${w.id}  ${w.path}${w.authorized ? "" : "  (outside authorizedRoots: not served)"}`);
  }
  if (settings.generated.token) lines.push(`Client token: ${settings.token}`);
  if (settings.generated.hostToken) lines.push(`Host token: ${settings.hostToken}`);
  process.stdout.write(`${lines.join("\n")}\n`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    await server.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
  return -1; // keep running
}

main().then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error) => {
    process.stderr.write(`openwork-server: ${(error as Error).stack ?? error}\n`);
    process.exit(1);
  },
);
