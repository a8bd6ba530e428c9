// Everything the routes need, built once from the settings.
import type { ServerSettings } from "../config.js";
import { type Logger, silentLogger } from "../logger.js";
import { VERSION } from "../version.js";
import { WorkspaceRegistry } from "../workspaces.js";
import { ApprovalService } from "./approvals.js";
import { AuditLog } from "./audit.js";
import { EngineClient, type EngineOptions } from "./engine.js";
import { ReloadEventLog } from "./events.js";
import { Gateway, type GatewayOptions } from "./gateway.js";
import { kindsForReason, ListingCache } from "./listing-cache.js";
import { type WatcherOptions, WorkspaceWatcher } from "./watcher.js";
import { WritePipeline } from "./write-pipeline.js";

export interface Services {
  settings: ServerSettings;
  version: string;
  startedAt: number;
  logger: Logger;
  registry: WorkspaceRegistry;
  approvals: ApprovalService;
  audit: AuditLog;
  events: ReloadEventLog;
  pipeline: WritePipeline;
  /** Listing responses per workspace; every recorded reload event invalidates what it touches. */
  listings: ListingCache;
  /** The URLs the server listens on (set by startServer once the port is known; empty in-process). */
  publicUrls: string[];
  /** The OpenCode engine client (reload). */
  engine: EngineClient;
  /** The OpenCode gateway (`/opencode/*`, `/w/:id/opencode/*`). */
  gateway: Gateway;
  /** The file watcher, when started (`watch` option). */
  watcher: WorkspaceWatcher | null;
  /** How often an idle event stream sends a heartbeat comment. */
  eventsHeartbeatMs: number;
  /** Stops timers and watchers; pending approvals are denied. */
  close(): Promise<void>;
}

export interface ServicesOptions {
  /** Watch each workspace's OpenCode files for changes made by others (default off; on for startServer). */
  watch?: boolean;
  watcher?: WatcherOptions;
  engine?: EngineOptions;
  gateway?: GatewayOptions;
  /** Heartbeat interval of `GET /workspace/:id/events` streams (default 15 s). */
  eventsHeartbeatMs?: number;
}

export function createServices(settings: ServerSettings, logger: Logger = silentLogger, options: ServicesOptions = {}): Services {
  const approvals = new ApprovalService(settings.approval.mode, settings.approval.timeoutMs);
  const audit = new AuditLog();
  // Listings are cached only where a watcher will invalidate them.
  const listings = new ListingCache(options.watch ? undefined : 0);
  const events = new ReloadEventLog(1000, (event) => listings.invalidate(event.workspaceId, kindsForReason(event.reason)));
  const pipeline = new WritePipeline({
    approvals,
    audit,
    events,
    readOnly: settings.readOnly,
    onCommit: (workspace) => listings.invalidate(workspace.id, ["config"]),
  });
  const registry = new WorkspaceRegistry(settings.workspaces, settings.authorizedRoots);
  const closers: Array<() => Promise<void> | void> = [() => approvals.close()];
  let watcher: WorkspaceWatcher | null = null;
  if (options.watch) {
    const started = new WorkspaceWatcher({ workspaces: registry.list(), events, pipeline, logger, options: options.watcher });
    watcher = started;
    closers.push(() => started.close());
  }
  return {
    settings,
    version: VERSION,
    startedAt: Date.now(),
    logger,
    registry,
    approvals,
    audit,
    events,
    pipeline,
    listings,
    publicUrls: [],
    engine: new EngineClient(settings.opencodeAuth, options.engine),
    gateway: new Gateway(settings.opencodeAuth, options.gateway),
    watcher,
    eventsHeartbeatMs: options.eventsHeartbeatMs ?? 15_000,
    async close() {
      for (const close of closers.splice(0)) await close();
    },
  };
}
