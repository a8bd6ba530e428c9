// Starts the HTTP(S) server on a real port (used by the CLI and by integration tests). What only
// a real socket needs lives here: connection caps and timeouts, TLS, and the Host check.
import { createServer as createHttpServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import { createAdaptorServer, type HttpBindings } from "@hono/node-server";
import { createApp } from "./app.js";
import { DEFAULTS, readTlsFiles, type ServerSettings } from "./config.js";
import { type ConnectionLimiter, limitConnections } from "./http/connection-limits.js";
import { createHostCheck, isLoopbackHost, misdirectedHostResponse } from "./http/host-check.js";
import type { Logger } from "./logger.js";
import { settleHeapLater } from "./services/heap.js";
import { createServices, type Services, type ServicesOptions } from "./services/index.js";
import { sweepTempFiles } from "./workspace/atomic-file.js";

export interface RunningServer {
  services: Services;
  port: number;
  urls: string[];
  /** Open and refused connections (the caps of settings.connections). */
  connections: ConnectionLimiter;
  /** One line each, for the operator (plain HTTP beyond loopback, a certificate out of date). */
  warnings: string[];
  close(): Promise<void>;
}

/**
 * `options.watch` defaults to true here: a running server reports changes made by others. The
 * server listens at once; the watcher and the first scan of the listings run behind it (listing
 * requests wait for them, `/health` does not). Throws a ConfigError when the TLS files cannot be used.
 */
export async function startServer(settings: ServerSettings, logger: Logger, options: ServicesOptions = {}): Promise<RunningServer> {
  const startedAt = Date.now();
  const tls = settings.tls ? readTlsFiles(settings.tls) : null;
  const limits = settings.connections ?? DEFAULTS.connections;
  // A previous run killed mid-write may have left temp files; they are never valid data. Those
  // beside the config files go before anything is served; the ones deeper in `.opencode/` (one
  // folder read per skill) are swept in the background, sparing what this run writes meanwhile.
  const swept = (removed: string[]) => {
    if (removed.length > 0) logger.warn({ removed }, "removed temp files left by an interrupted write");
  };
  for (const workspace of settings.workspaces) {
    swept([...(await sweepTempFiles(workspace.path, 0)), ...(await sweepTempFiles(join(workspace.path, ".opencode"), 0))]);
  }
  const services = createServices(settings, logger, { watch: true, ...options });
  void (async () => {
    await services.watcher?.ready;
    for (const workspace of settings.workspaces) swept(await sweepTempFiles(join(workspace.path, ".opencode"), 6, startedAt));
    settleHeapLater(); // reading every skill's folder was a burst too
  })().catch((error) => logger.warn({ err: error }, "temp file sweep failed"));
  const app = createApp(services);

  const hostCheck = createHostCheck({
    bindHost: settings.host,
    allowed: settings.allowedHosts,
    certificateNames: tls ? certificateNames(tls.certificate.subjectAltName, tls.certificate.subject) : [],
  });
  const refusedHosts = new Set<string>();
  const fetch = (request: Request, env: unknown) => {
    if (hostCheck) {
      const { incoming } = env as HttpBindings;
      const host = incoming.headers.host;
      if (!hostCheck.allows(host)) {
        if (refusedHosts.size < 100 && !refusedHosts.has(String(host))) {
          refusedHosts.add(String(host));
          logger.warn({ host, remoteAddress: incoming.socket.remoteAddress }, "refused a request for another host name (421)");
        }
        return misdirectedHostResponse(host);
      }
    }
    return app.fetch(request, env as HttpBindings);
  };

  // Headers must arrive quickly and a whole request within requestTimeout. Neither bounds the
  // answer: Node stops timing a request once it has been received, so a write waiting for
  // approval and an event stream open for hours are unaffected. Idle keep-alive connections
  // close after Node's keepAliveTimeout (5 s).
  const timeouts = {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    // How often Node looks for expired requests (its default, 30 s, would let a slow-loris
    // connection live 40 s with a 10 s header timeout).
    connectionsCheckingInterval: Math.min(1000, Math.max(100, Math.floor(limits.headersTimeoutMs / 4))),
  };
  const server = tls
    ? createAdaptorServer({
        fetch,
        hostname: settings.host,
        createServer: createHttpsServer,
        // A client that never finishes the handshake holds a connection like a slow header.
        serverOptions: { ...timeouts, cert: tls.cert, key: tls.key, handshakeTimeout: limits.headersTimeoutMs },
      })
    : createAdaptorServer({ fetch, hostname: settings.host, createServer: createHttpServer, serverOptions: timeouts });
  const connections = limitConnections(server, limits, { plainHttp: !tls, logger });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("listening", resolve);
      server.once("error", reject);
      server.listen(settings.port, settings.host);
    });
  } catch (error) {
    await services.close(); // the watcher would keep the process alive
    throw error;
  }
  const port = (server.address() as AddressInfo).port;
  const urls = serverUrls(settings.host, port, tls ? "https" : "http");
  services.publicUrls = urls;

  const warnings: string[] = [];
  if (!tls && !isLoopbackHost(settings.host)) {
    warnings.push(
      `listening on ${settings.host || "every interface"} without TLS: tokens and workspace files cross the network ` +
        "in clear text; serve HTTPS with --tls-cert and --tls-key (README: Enabling TLS)",
    );
  }
  if (tls) {
    const now = Date.now();
    const file = settings.tls!.certFile;
    if (Date.parse(tls.certificate.validTo) < now) warnings.push(`TLS certificate ${file} expired on ${tls.certificate.validTo}`);
    if (Date.parse(tls.certificate.validFrom) > now)
      warnings.push(`TLS certificate ${file} is not valid before ${tls.certificate.validFrom}`);
  }

  return {
    services,
    port,
    urls,
    connections,
    warnings,
    async close() {
      await services.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Long-lived streams (SSE) would keep close() waiting forever.
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
    },
  };
}

/**
 * The names a certificate is valid for: its subjectAltName DNS names and IP addresses, else its
 * common name. IPv6 addresses come back in canonical short form.
 */
export function certificateNames(subjectAltName: string | undefined, subject: string): string[] {
  const names: string[] = [];
  for (const entry of (subjectAltName ?? "").split(/,\s*/)) {
    if (entry.startsWith("DNS:")) names.push(entry.slice(4));
    else if (entry.startsWith("IP Address:")) {
      const address = entry.slice(11);
      names.push(address.includes(":") ? new URL(`http://[${address}]`).hostname.slice(1, -1) : address);
    }
  }
  if (names.length === 0) {
    const cn = /(?:^|\n)CN=([^\n]+)/.exec(subject)?.[1];
    if (cn) names.push(cn);
  }
  return names;
}

/** The URLs a client can use: the bound address, or every interface when bound to all. */
export function serverUrls(host: string, port: number, scheme: "http" | "https" = "http"): string[] {
  const wildcard = host === "0.0.0.0" || host === "::" || host === "";
  if (!wildcard) return [`${scheme}://${host.includes(":") ? `[${host}]` : host}:${port}`];
  const urls = [`${scheme}://127.0.0.1:${port}`];
  for (const list of Object.values(networkInterfaces())) {
    for (const net of list ?? []) {
      if (net.family === "IPv4" && !net.internal) urls.push(`${scheme}://${net.address}:${port}`);
    }
  }
  return urls;
}
