// Everything the routes need, built once from the settings.
import { randomUUID } from "node:crypto";
import type { ServerSettings } from "../config.js";
import { Authenticator } from "../http/auth.js";
import { AuthFailureLimiter, type AuthLimiterOptions } from "../http/auth-limiter.js";
import { type Logger, silentLogger } from "../logger.js";
import { VERSION } from "../version.js";
import { WorkspaceRegistry } from "../workspaces.js";
import { type ApprovalLimits, ApprovalService } from "./approvals.js";
import { AuditLog } from "./audit.js";
import { EngineClient, type EngineOptions } from "./engine.js";
import { EngineProbe, type EngineProbeOptions } from "./engine-probe.js";
import { ReloadEventLog } from "./events.js";
import { Gateway, type GatewayOptions } from "./gateway.js";
import { GrantStore } from "./grants.js";
import { ListingIndex } from "./listing-index.js";
import { TokenStore } from "./tokens.js";
import { WATCHER_DEFAULTS, type WatcherOptions, WorkspaceWatcher } from "./watcher.js";
import { WritePipeline } from "./write-pipeline.js";

export interface Services {
  settings: ServerSettings;
  version: string;
  startedAt: number;
  /** A new id at every start, so a client can tell a restarted server from the one it knew. */
  instanceId: string;
  logger: Logger;
  registry: WorkspaceRegistry;
  approvals: ApprovalService;
  /** Time-boxed permissions for one credential's writes to go through without asking. */
  grants: GrantStore;
  audit: AuditLog;
  events: ReloadEventLog;
  pipeline: WritePipeline;
  /** Listing responses per workspace, told of changes by the watcher and by our own writes. */
  listings: ListingIndex;
  /** The URLs the server listens on (set by startServer once the port is known; empty in-process). */
  publicUrls: string[];
  /** The OpenCode engine client (reload). */
  engine: EngineClient;
  /** Cached, time-bounded engine health checks for `/status`. */
  engineProbe: EngineProbe;
  /** Scoped device tokens. */
  tokens: TokenStore;
  /** Resolves every credential to an actor with a scope. */
  auth: Authenticator;
  /** The OpenCode gateway (`/opencode/*`, `/w/:id/opencode/*`). */
  gateway: Gateway;
  /** The file watcher, when started (`watch` option). */
  watcher: WorkspaceWatcher | null;
  /** How often an idle event stream sends a heartbeat comment. */
  eventsHeartbeatMs: number;
  /** How far an event stream's client may fall behind before it is dropped. */
  eventsMaxBufferedBytes: number | undefined;
  /** Stops timers and watchers; pending approvals are denied. */
  close(): Promise<void>;
}

export interface ServicesOptions {
  /** Watch each workspace's OpenCode files for changes made by others (default off; on for startServer). */
  watch?: boolean;
  watcher?: WatcherOptions;
  engine?: EngineOptions;
  engineProbe?: EngineProbeOptions;
  approvalLimits?: ApprovalLimits;
  authLimit?: AuthLimiterOptions;
  gateway?: GatewayOptions;
  /** Heartbeat interval of `GET /workspace/:id/events` streams (default 15 s). */
  eventsHeartbeatMs?: number;
  /** Bytes an event stream's client may leave untaken before it is dropped (default 256 KiB). */
  eventsMaxBufferedBytes?: number;
}

export function createServices(settings: ServerSettings, logger: Logger = silentLogger, options: ServicesOptions = {}): Services {
  const approvals = new ApprovalService(settings.approval.mode, settings.approval.timeoutMs, options.approvalLimits);
  const grants = new GrantStore();
  const audit = new AuditLog();
  // Listings are kept only where a watcher tells what changed; otherwise each request reads the disk.
  const listings = new ListingIndex({
    freshnessMs: options.watch ? (options.watcher?.debounceMs ?? WATCHER_DEFAULTS.debounceMs) : 0,
    watched: options.watch === true,
    logger,
  });
  const events = new ReloadEventLog(1000);
  const pipeline = new WritePipeline({
    approvals,
    grants,
    audit,
    events,
    readOnly: settings.readOnly,
    // The config read's `updatedAt` is the newest audit entry's time.
    onCommit: (workspace) => listings.of(workspace).invalidate(["config"]),
  });
  // Our own writes name their paths: the next listing re-reads just those entries.
  pipeline.observe({ didWrite: (workspace, paths) => listings.of(workspace).markPaths(paths) });
  const registry = new WorkspaceRegistry(settings.workspaces, settings.authorizedRoots);
  const tokens = new TokenStore(settings.tokenStorePath);
  const auth = new Authenticator({
    token: settings.token,
    hostToken: settings.hostToken,
    tokens,
    limiter: new AuthFailureLimiter(options.authLimit),
  });
  // A revoked or expired token's waiting writes are withdrawn and its grants end, at once.
  tokens.onEnd((tokenId) => {
    approvals.withdrawWhere((request) => request.actor.tokenId === tokenId);
    grants.revokeFor(tokenId);
  });
  const gateway = new Gateway(settings.opencodeAuth, options.gateway);
  const closers: Array<() => Promise<void> | void> = [
    // Every waiting client gets its answer (403, reason shutdown) before anything else stops.
    async () => {
      approvals.close();
      await pipeline.drain();
    },
    () => tokens.close(),
    () => audit.close(),
    () => gateway.close(),
  ];
  let watcher: WorkspaceWatcher | null = null;
  if (options.watch) {
    const started = new WorkspaceWatcher({
      workspaces: registry.list(),
      events,
      pipeline,
      logger,
      index: listings,
      options: options.watcher,
    });
    watcher = started;
    closers.push(() => started.close());
  }
  return {
    settings,
    version: VERSION,
    startedAt: Date.now(),
    instanceId: randomUUID(),
    logger,
    registry,
    approvals,
    grants,
    audit,
    events,
    pipeline,
    listings,
    publicUrls: [],
    engine: new EngineClient(settings.opencodeAuth, options.engine),
    engineProbe: new EngineProbe(settings.opencodeAuth, options.engineProbe),
    tokens,
    auth,
    gateway,
    watcher,
    eventsHeartbeatMs: options.eventsHeartbeatMs ?? 15_000,
    eventsMaxBufferedBytes: options.eventsMaxBufferedBytes,
    async close() {
      for (const close of closers.splice(0)) await close();
    },
  };
}
