// Watches what OpenCode reads in each workspace (`opencode.json(c)` and the `.opencode/` tree) and
// records a reload event when someone else (an editor, OpenCode's own tools) changes it.
// - The reason comes from the path (skills/, commands/, plugins/, agents/, config files).
// - Events are debounced per workspace and reason: a burst of saves is one event.
// - Our own writes are reported by the write pipeline already: while a write runs and for a short
//   window after it, changes to the paths it named are not reported again.
// - The workspace folder itself is watched (its other entries ignored, never descended into), so a
//   `.opencode/` created later is picked up like any other change.
import { isAbsolute, relative, sep } from "node:path";
import { type FSWatcher, watch } from "chokidar";
import type { Logger } from "../logger.js";
import { TEMP_MARKER } from "../workspace/atomic-file.js";
import type { Workspace } from "../workspaces.js";
import type { ReloadEventLog, ReloadReason } from "./events.js";
import type { WritePipeline } from "./write-pipeline.js";

export interface WatcherOptions {
  /** Quiet time before a burst of changes becomes one event (default 250 ms). */
  debounceMs?: number;
  /** A steady stream of changes still reports at least this often (default 2000 ms). */
  maxWaitMs?: number;
  /** How long after one of our writes its paths stay ours (default 1500 ms). */
  suppressMs?: number;
}

export const WATCHER_DEFAULTS = { debounceMs: 250, maxWaitMs: 2000, suppressMs: 1500 };

const CONFIG_FILES = new Set(["opencode.json", "opencode.jsonc"]);
const PACKAGE_FILES = new Set([
  "package.json",
  "package-lock.json",
  "npm-shrinkwrap.json",
  "bun.lock",
  "bun.lockb",
  "yarn.lock",
  "pnpm-lock.yaml",
  "pnpm-workspace.yaml",
]);
const DATABASE_FILE = /\.(db|sqlite3?|db3)(-wal|-shm|-journal)?$/i;
const FOLDER_REASONS: Record<string, ReloadReason> = {
  skills: "skills",
  skill: "skills",
  commands: "commands",
  command: "commands",
  plugins: "plugins",
  plugin: "plugins",
  agents: "agents",
  agent: "agents",
  modes: "agents",
  mode: "agents",
};

/** Normalises a workspace-relative path to forward slashes, without `./` or a trailing slash. */
export function normalizeRelative(path: string): string {
  return path
    .split(sep)
    .join("/")
    .replace(/\\/g, "/")
    .replace(/^(\.\/)+/, "")
    .replace(/\/+$/, "");
}

/** True for paths the watcher never looks at (relative to the workspace, `/`-separated). */
export function isIgnoredPath(rel: string): boolean {
  if (rel === "" || rel === ".") return false;
  const parts = rel.split("/");
  if (parts.length === 1) return !(CONFIG_FILES.has(rel) || rel === ".opencode");
  if (parts[0] !== ".opencode") return true;
  const name = parts[parts.length - 1]!;
  if (parts.includes("node_modules") || parts.includes(".git")) return true;
  if (rel === ".opencode/openwork.json" || parts[1] === "openwork") return true;
  if (name.includes(TEMP_MARKER)) return true;
  if (PACKAGE_FILES.has(name) || DATABASE_FILE.test(name)) return true;
  return false;
}

/** The reload reason of a changed path, or null when OpenCode does not read it. */
export function reasonForPath(rel: string): ReloadReason | null {
  if (isIgnoredPath(rel)) return null;
  const parts = rel.split("/");
  if (parts.length === 1) return CONFIG_FILES.has(rel) ? "config" : null;
  if (parts.length === 2 && CONFIG_FILES.has(parts[1]!)) return "config";
  return FOLDER_REASONS[parts[1]!] ?? null;
}

/** `a` and `b` name the same path or one contains the other. */
function overlaps(a: string, b: string): boolean {
  return a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);
}

interface PendingReport {
  timer: NodeJS.Timeout;
  firstAt: number;
  path: string;
}

class WorkspaceWatch {
  private watcher: FSWatcher | null = null;
  /** Paths of our writes in progress (with a count, writes may overlap). */
  private readonly writing = new Map<string, number>();
  /** Paths of our finished writes -> until when their changes are still ours. */
  private readonly recent = new Map<string, number>();
  private readonly pending = new Map<ReloadReason, PendingReport>();
  readonly ready: Promise<void>;
  /** Set when the watcher reported an error: changes may be missed until it recovers. */
  failed = false;

  constructor(
    readonly workspace: Workspace,
    private readonly events: ReloadEventLog,
    private readonly options: Required<WatcherOptions>,
    private readonly logger: Logger,
  ) {
    const root = workspace.path;
    this.watcher = watch(root, {
      ignoreInitial: true,
      persistent: true,
      depth: 12,
      ignored: (path: string) => isIgnoredPath(normalizeRelative(relative(root, path))),
    });
    this.watcher.on("all", (event, path) => this.onChange(event, path));
    this.watcher.on("error", (error) => {
      this.failed = true;
      this.logger.warn({ err: error, workspace: workspace.id }, "workspace watcher error");
    });
    this.ready = new Promise((resolve) => this.watcher?.once("ready", () => resolve()));
  }

  willWrite(paths: string[]): void {
    for (const p of this.normalizeOwn(paths)) this.writing.set(p, (this.writing.get(p) ?? 0) + 1);
  }

  didWrite(paths: string[]): void {
    const now = Date.now();
    // Expired windows go here too, not only when a change comes in: a write that changed nothing
    // on disk must not leave its paths behind for good.
    for (const [p, until] of this.recent) if (until < now) this.recent.delete(p);
    const until = now + this.options.suppressMs;
    for (const p of this.normalizeOwn(paths)) {
      const left = (this.writing.get(p) ?? 1) - 1;
      if (left > 0) this.writing.set(p, left);
      else this.writing.delete(p);
      this.recent.set(p, until);
    }
  }

  private normalizeOwn(paths: string[]): string[] {
    return paths.map((p) => normalizeRelative(isAbsolute(p) ? relative(this.workspace.path, p) : p)).filter(Boolean);
  }

  private isOurs(rel: string): boolean {
    const now = Date.now();
    for (const p of this.writing.keys()) if (overlaps(rel, p)) return true;
    for (const [p, until] of this.recent) {
      if (until < now) this.recent.delete(p);
      else if (overlaps(rel, p)) return true;
    }
    return false;
  }

  private onChange(event: string, path: string): void {
    // An empty folder changes nothing OpenCode reads; files added inside it are reported.
    if (event === "addDir") return;
    const rel = normalizeRelative(relative(this.workspace.path, path));
    const reason = reasonForPath(rel);
    if (!reason || this.isOurs(rel)) return;
    this.schedule(reason, rel);
  }

  private schedule(reason: ReloadReason, rel: string): void {
    const now = Date.now();
    const current = this.pending.get(reason);
    if (current) clearTimeout(current.timer);
    const firstAt = current?.firstAt ?? now;
    const delay = Math.max(0, Math.min(this.options.debounceMs, firstAt + this.options.maxWaitMs - now));
    const timer = setTimeout(() => this.flush(reason), delay);
    timer.unref?.();
    this.pending.set(reason, { timer, firstAt, path: rel });
  }

  private flush(reason: ReloadReason): void {
    const report = this.pending.get(reason);
    if (!report) return;
    this.pending.delete(reason);
    this.events.record(this.workspace.id, reason, { source: "watcher", path: report.path });
  }

  async close(): Promise<void> {
    for (const report of this.pending.values()) clearTimeout(report.timer);
    this.pending.clear();
    const watcher = this.watcher;
    this.watcher = null;
    await watcher?.close();
  }
}

/** One watcher per served workspace; stops with `close()`. */
export class WorkspaceWatcher {
  private readonly watches = new Map<string, WorkspaceWatch>();
  private readonly unobserve: () => void;
  /** Resolves once every workspace's initial scan is done (changes before it are not reported). */
  readonly ready: Promise<void>;

  constructor(deps: {
    workspaces: Workspace[];
    events: ReloadEventLog;
    pipeline: WritePipeline;
    logger: Logger;
    options?: WatcherOptions;
  }) {
    const options = { ...WATCHER_DEFAULTS, ...Object.fromEntries(Object.entries(deps.options ?? {}).filter(([, v]) => v !== undefined)) };
    for (const workspace of deps.workspaces) {
      if (!workspace.authorized || this.watches.has(workspace.id)) continue;
      this.watches.set(workspace.id, new WorkspaceWatch(workspace, deps.events, options, deps.logger));
    }
    this.unobserve = deps.pipeline.observe({
      willWrite: (workspace, paths) => this.watches.get(workspace.id)?.willWrite(paths),
      didWrite: (workspace, paths) => this.watches.get(workspace.id)?.didWrite(paths),
    });
    this.ready = Promise.all([...this.watches.values()].map((w) => w.ready)).then(() => {});
  }

  /** For `/status`: whether changes made by others in this workspace are being seen. */
  state(workspaceId: string): "on" | "off" | "error" {
    const watch = this.watches.get(workspaceId);
    if (!watch) return "off";
    return watch.failed ? "error" : "on";
  }

  async close(): Promise<void> {
    this.unobserve();
    await Promise.all([...this.watches.values()].map((w) => w.close()));
    this.watches.clear();
  }
}
