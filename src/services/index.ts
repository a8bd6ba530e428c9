// Everything the routes need, built once from the settings.
import type { ServerSettings } from "../config.js";
import { type Logger, silentLogger } from "../logger.js";
import { VERSION } from "../version.js";
import { WorkspaceRegistry } from "../workspaces.js";
import { ApprovalService } from "./approvals.js";
import { AuditLog } from "./audit.js";
import { ReloadEventLog } from "./events.js";
import { ListingCache, kindsForReason } from "./listing-cache.js";
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
  /** Stops timers and watchers; pending approvals are denied. */
  close(): Promise<void>;
}

export function createServices(settings: ServerSettings, logger: Logger = silentLogger): Services {
  const approvals = new ApprovalService(settings.approval.mode, settings.approval.timeoutMs);
  const audit = new AuditLog();
  // Listings are cached only where a watcher will invalidate them (TODO(engine): tie to `watch`).
  const listings = new ListingCache(0);
  const events = new ReloadEventLog(1000, (event) => listings.invalidate(event.workspaceId, kindsForReason(event.reason)));
  const pipeline = new WritePipeline({ approvals, audit, events, readOnly: settings.readOnly });
  const closers: Array<() => Promise<void> | void> = [() => approvals.close()];
  return {
    settings,
    version: VERSION,
    startedAt: Date.now(),
    logger,
    registry: new WorkspaceRegistry(settings.workspaces, settings.authorizedRoots),
    approvals,
    audit,
    events,
    pipeline,
    listings,
    publicUrls: [],
    async close() {
      for (const close of closers.splice(0)) await close();
    },
  };
}
