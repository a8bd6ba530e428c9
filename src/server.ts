// Starts the HTTP server on a real port (used by the CLI and by integration tests).
import type { AddressInfo } from "node:net";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import { createApp } from "./app.js";
import type { ServerSettings } from "./config.js";
import type { Logger } from "./logger.js";
import { settleHeapLater } from "./services/heap.js";
import { createServices, type Services, type ServicesOptions } from "./services/index.js";
import { sweepTempFiles } from "./workspace/atomic-file.js";

export interface RunningServer {
  services: Services;
  port: number;
  urls: string[];
  close(): Promise<void>;
}

/**
 * `options.watch` defaults to true here: a running server reports changes made by others. The
 * server listens at once; the watcher and the first scan of the listings run behind it (listing
 * requests wait for them, `/health` does not).
 */
export async function startServer(settings: ServerSettings, logger: Logger, options: ServicesOptions = {}): Promise<RunningServer> {
  const startedAt = Date.now();
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
  const server = serve({ fetch: app.fetch, hostname: settings.host, port: settings.port });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("listening", resolve);
      server.once("error", reject);
    });
  } catch (error) {
    await services.close(); // the watcher would keep the process alive
    throw error;
  }
  const port = (server.address() as AddressInfo).port;
  const urls = serverUrls(settings.host, port);
  services.publicUrls = urls;
  return {
    services,
    port,
    urls,
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

/** The URLs a client can use: the bound address, or every interface when bound to all. */
export function serverUrls(host: string, port: number): string[] {
  const wildcard = host === "0.0.0.0" || host === "::" || host === "";
  if (!wildcard) return [`http://${host.includes(":") ? `[${host}]` : host}:${port}`];
  const urls = [`http://127.0.0.1:${port}`];
  for (const list of Object.values(networkInterfaces())) {
    for (const net of list ?? []) {
      if (net.family === "IPv4" && !net.internal) urls.push(`http://${net.address}:${port}`);
    }
  }
  return urls;
}
