// Watches every folder a listing reads, in each workspace, and turns changes made by someone else
// (an editor, OpenCode's own tools) into reload events and listing-index marks (SPEC section 6).
//
// What is watched, one plain `fs.watch` (one inotify watch, about 1.4 KiB) per folder, never
// recursively and never through a link that leads out of the workspace (or out of the parent
// folder it belongs to):
// - the workspace folder itself (config files; `.opencode`, `.claude`, `.agents` and `.git`
//   coming or going) and `.opencode/` (its config files and the folders below);
// - every skills folder (`.opencode/skills`, `.opencode/skill`, `.claude/skills`,
//   `.agents/skills`) and each skill's own folder (where its SKILL.md is saved), in the workspace
//   and in each parent up to the git root (with each parent and its `.opencode`, `.claude` and
//   `.agents`, so a skills folder created there later is seen);
// - `.opencode/{commands,command,agents,agent,modes,mode}` with their sub-folders (as deep as a
//   listing reads), `.opencode/{plugins,plugin}` and `.opencode/openwork` (the audit log, for the
//   config read's `updatedAt`).
// A folder created later is watched as soon as its parent reports it, and what it already holds
// counts as changed. Cost: one watch per skill; no folder is read at start but the ones whose
// sub-folders are watched (a skill's own folder is not).
//
// - The reason of an event comes from the path (skills/, commands/, plugins/, agents/, config).
// - Events are debounced per workspace and reason: a burst of saves is one event.
// - Our own writes are reported by the write pipeline already: while a write runs and for a short
//   window after it, changes to the paths it named are not reported again.
// - The listing index is told at once (not after the debounce) which entry changed.
// - Nothing is silently missed: a watch that fails (ENOSPC: too many watches, EMFILE, an error
//   event) stops the workspace's watcher, listings then read the disk on each request, and the
//   watcher retries with backoff; a burst of events large enough that the kernel may have
//   dropped some (inotify overflows are not reported through Node) restarts it. Every (re)start
//   ends with a full rescan of the listings.
import { type Dirent, watch as fsWatch } from "node:fs";
import { lstat, readdir, realpath, stat } from "node:fs/promises";
import { basename, join, relative, sep } from "node:path";
import type { Logger } from "../logger.js";
import { TEMP_MARKER } from "../workspace/atomic-file.js";
import { COMMAND_MAX_DEPTH } from "../workspace/commands.js";
import { isInside } from "../workspace/paths.js";
import { projectAncestors, projectSkillDirs } from "../workspace/skills.js";
import type { Workspace } from "../workspaces.js";
import type { ReloadEventLog, ReloadReason } from "./events.js";
import { settleHeapLater } from "./heap.js";
import { changesForPath, type ListingIndex, type WorkspaceIndex } from "./listing-index.js";
import type { WritePipeline } from "./write-pipeline.js";

/** What `fs.watch` returns, as far as the watcher uses it. */
export interface FolderHandle {
  close(): void;
  on(event: "error", listener: (error: Error) => void): unknown;
}
/** Watches one folder (not recursively); `fs.watch` unless a test replaces it. */
export type WatchFolder = (path: string, listener: (event: string, name: string | null) => void) => FolderHandle;

export interface WatcherOptions {
  /** Quiet time before a burst of changes becomes one event (default 250 ms). */
  debounceMs?: number;
  /** A steady stream of changes still reports at least this often (default 2000 ms). */
  maxWaitMs?: number;
  /** How long after one of our writes its paths stay ours (default 1500 ms). */
  suppressMs?: number;
  /**
   * More raw changes than this within one debounce window may have overflowed the kernel's
   * queue (which Node does not report): the watcher restarts once the burst is over (default 8192,
   * half of Linux's default `max_queued_events`).
   */
  overflowEvents?: number;
  /** First delay before a failed watcher tries again; doubles up to 5 minutes (default 1000 ms). */
  retryMs?: number;
  /** Replaces `fs.watch` (tests inject faults with it). */
  watch?: WatchFolder;
}

export const WATCHER_DEFAULTS = { debounceMs: 250, maxWaitMs: 2000, suppressMs: 1500, overflowEvents: 8192, retryMs: 1000 };
const MAX_RETRY_MS = 5 * 60_000;
/** Watches added (or entries looked at) between two yields to the event loop while starting. */
const YIELD_EVERY = 256;

export type WatcherState = "starting" | "on" | "error" | "off";

const CONFIG_FILES = new Set(["opencode.json", "opencode.jsonc"]);
const CONTAINERS = new Set([".opencode", ".claude", ".agents"]);
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
const TREE_FOLDERS = new Set(["commands", "command", "agents", "agent", "modes", "mode"]);
const FLAT_FOLDERS = new Set(["plugins", "plugin", "openwork"]);

/** Normalises a workspace-relative path to forward slashes, without `./` or a trailing slash. */
export function normalizeRelative(path: string): string {
  return path
    .split(sep)
    .join("/")
    .replace(/\\/g, "/")
    .replace(/^(\.\/)+/, "")
    .replace(/\/+$/, "");
}

/** True for paths the watcher never reports (relative to the workspace, `/`-separated). */
export function isIgnoredPath(rel: string): boolean {
  if (rel === "" || rel === ".") return false;
  const parts = rel.split("/");
  if (parts.length === 1) return !(CONFIG_FILES.has(rel) || CONTAINERS.has(rel));
  const name = parts[parts.length - 1]!;
  if (parts.includes("node_modules") || parts.includes(".git")) return true;
  if (name.includes(TEMP_MARKER)) return true;
  if (parts[0] === ".claude" || parts[0] === ".agents") return parts[1] !== "skills";
  if (parts[0] !== ".opencode") return true;
  if (rel === ".opencode/openwork.json" || parts[1] === "openwork") return true;
  if (PACKAGE_FILES.has(name) || DATABASE_FILE.test(name)) return true;
  return false;
}

/** The reload reason of a changed path, or null when OpenCode does not read it. */
export function reasonForPath(rel: string): ReloadReason | null {
  if (isIgnoredPath(rel)) return null;
  const parts = rel.split("/");
  if (parts.length === 1) return CONFIG_FILES.has(rel) ? "config" : null;
  if (parts[0] !== ".opencode") return "skills"; // .claude/skills/..., .agents/skills/...
  if (parts.length === 2 && CONFIG_FILES.has(parts[1]!)) return "config";
  return FOLDER_REASONS[parts[1]!] ?? null;
}

/** `a` and `b` name the same path or one contains the other. */
function overlaps(a: string, b: string): boolean {
  return a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);
}

const isNotFound = (error: unknown) => ["ENOENT", "ENOTDIR"].includes((error as { code?: string }).code ?? "");
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The workspace, or a parent of it whose skills folders the listings read. */
interface Base {
  path: string;
  /** Its real path: nothing outside it is watched. */
  real: string;
  workspace: boolean;
}

/**
 * A watched folder's role says which of its entries are watched in turn:
 * `base` (the workspace or a parent) -> `container` (.opencode, .claude, .agents) -> `skills`
 * (a skills folder) -> `skill` (one skill); `tree` (commands, agents) -> `tree`; `flat` nothing.
 */
type Role = "base" | "container" | "skills" | "skill" | "tree" | "flat";

interface Folder {
  path: string;
  real: string;
  role: Role;
  /** For `tree`: how deep below its top folder (0 = `.opencode/commands` itself). */
  depth: number;
  base: Base;
  handle: FolderHandle | null;
  /** Whether a sub-folder of it was watched too (they are found by path when it goes). */
  hasChildren: boolean;
}

interface PendingReport {
  timer: NodeJS.Timeout;
  firstAt: number;
  path: string;
}

class WorkspaceWatch {
  state: WatcherState = "off";
  private readonly folders = new Map<string, Folder>();
  /** Paths of our writes in progress (with a count, writes may overlap). */
  private readonly writing = new Map<string, number>();
  /** Paths of our finished writes -> until when their changes are still ours. */
  private readonly recent = new Map<string, number>();
  private readonly pending = new Map<ReloadReason, PendingReport>();
  /** Children being looked at (an entry changed); `true` = look again when done. */
  private readonly reconciling = new Map<string, boolean>();
  private skillRoots = new Set<string>();
  /** Bumped by every start and stop, so work of an earlier run ends quietly. */
  private run = 0;
  private sinceYield = 0;
  private retryMs: number;
  private retryTimer: NodeJS.Timeout | undefined;
  private windowStart = 0;
  private windowEvents = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private restartFirstAt = 0;
  private starting: Promise<void> | null = null;
  /** One error listener per run, shared by every watch of it. */
  private onWatchError: (error: Error) => void = () => {};

  constructor(
    readonly workspace: Workspace,
    private readonly events: ReloadEventLog,
    private readonly index: WorkspaceIndex | undefined,
    private readonly options: Required<Omit<WatcherOptions, "watch">> & { watch: WatchFolder },
    private readonly logger: Logger,
  ) {
    this.retryMs = options.retryMs;
  }

  /** Sets up every watch, then lets the index scan; resolves when done (or failed). */
  start(): Promise<void> {
    const run = ++this.run;
    this.onWatchError = (error) => {
      if (run === this.run) this.fail(error);
    };
    this.state = "starting";
    this.index?.setMode("starting");
    const started = this.install(run).then(
      () => {
        if (run !== this.run || this.state !== "starting") return;
        this.state = "on";
        this.retryMs = this.options.retryMs;
        this.index?.setMode("watching");
        settleHeapLater();
      },
      (error) => {
        if (run === this.run) this.fail(error);
      },
    );
    this.starting = started;
    return started;
  }

  private async install(run: number): Promise<void> {
    const root = this.workspace.path;
    const ancestors = await projectAncestors(root);
    this.skillRoots = new Set(await projectSkillDirs(root));
    for (const path of ancestors) {
      if (run !== this.run) return;
      const real = await realpath(path);
      await this.add(run, path, real, "base", 0, { path, real, workspace: path === ancestors[0] }, null, false);
    }
  }

  /** Stops watching (a restart follows, or the server stops). */
  private stop(): void {
    this.run++;
    for (const folder of this.folders.values()) this.closeHandle(folder);
    this.folders.clear();
    this.reconciling.clear();
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
  }

  /** Starts again from nothing: every watch set up anew, then a full rescan of the listings. */
  restart(): Promise<void> {
    clearTimeout(this.retryTimer);
    this.stop();
    return this.start();
  }

  private fail(error: unknown): void {
    if (this.state === "error" || this.state === "off") return;
    const code = (error as { code?: string }).code;
    const hint =
      code === "ENOSPC"
        ? "too many folders to watch: raise fs.inotify.max_user_watches (sysctl); listings read the disk until then"
        : "listings read the disk until the watcher is back";
    this.logger.warn({ err: error, workspace: this.workspace.id, retryInMs: this.retryMs }, `workspace watcher failed: ${hint}`);
    this.stop();
    this.state = "error";
    this.index?.setMode("unwatched");
    const delay = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
    this.retryTimer = setTimeout(() => void this.start(), delay);
    this.retryTimer.unref?.();
  }

  private closeHandle(folder: Folder): void {
    const handle = folder.handle;
    folder.handle = null;
    try {
      handle?.close();
    } catch {}
  }

  /** Which role a sub-folder `name` of `folder` has, or null when it is not watched. */
  private childRole(folder: Folder, name: string): Role | null {
    const path = join(folder.path, name);
    switch (folder.role) {
      case "base":
        return CONTAINERS.has(name) ? "container" : null;
      case "container":
        if (this.skillRoots.has(path)) return "skills";
        if (!folder.base.workspace || basename(folder.path) !== ".opencode") return null;
        if (TREE_FOLDERS.has(name)) return "tree";
        return FLAT_FOLDERS.has(name) ? "flat" : null;
      case "skills":
        return name.includes(TEMP_MARKER) ? null : "skill";
      case "tree":
        return folder.depth < COMMAND_MAX_DEPTH && name !== "node_modules" && name !== ".git" ? "tree" : null;
      default:
        return null;
    }
  }

  /** Whether a symlinked sub-folder is followed (when it stays inside); the listings do the same. */
  private static followsLinks(role: Role): boolean {
    return role === "base" || role === "container" || role === "skills";
  }

  private async yieldSometimes(): Promise<void> {
    if (++this.sinceYield >= YIELD_EVERY) {
      this.sinceYield = 0;
      await nextTurn();
    }
  }

  /** Starts watching one folder (checked to lie inside its base); null when it is gone already. */
  private watchOne(run: number, path: string, real: string, role: Role, depth: number, base: Base, parent: Folder | null): Folder | null {
    if (run !== this.run || this.folders.has(path)) return null;
    const folder: Folder = { path, real: real === path ? path : real, role, depth, base, handle: null, hasChildren: false };
    try {
      // The real path, checked to lie inside: nothing can lead the watch elsewhere.
      folder.handle = this.options.watch(real, (event, name) => this.onEvent(folder, event, name));
    } catch (error) {
      if (isNotFound(error)) return null; // gone already; its parent reports it
      throw error;
    }
    folder.handle.on("error", this.onWatchError);
    this.folders.set(path, folder);
    if (parent) parent.hasChildren = true;
    return folder;
  }

  /**
   * Watches `path` (a folder whose real path is `real`, already checked to be inside its base),
   * then the sub-folders its role asks for. `later`: the folder appeared after the start, so what
   * it holds is new and reported.
   */
  private async add(run: number, path: string, real: string, role: Role, depth: number, base: Base, parent: Folder | null, later: boolean) {
    const folder = this.watchOne(run, path, real, role, depth, base, parent);
    // A skill's own folder has nothing watched below it: at the start it is not even read.
    if (!folder || (role === "skill" && !later)) return;
    for (const entry of await this.entriesOf(folder)) {
      if (run !== this.run) return;
      const name = entry.name;
      if (name.includes(TEMP_MARKER)) continue;
      const child = join(path, name);
      if (later) {
        this.markIndex(folder, child);
        if (!entry.isDirectory()) this.report(folder, child);
      }
      const childRole = this.childRole(folder, name);
      if (!childRole) continue;
      if (entry.isDirectory()) {
        const childReal = join(real, name);
        const depthBelow = role === "tree" ? depth + 1 : 0;
        // Thousands of skills: one watch each, set up without a promise per skill.
        if (childRole === "skill" && !later) this.watchOne(run, child, childReal, childRole, depthBelow, base, folder);
        else await this.add(run, child, childReal, childRole, depthBelow, base, folder, later);
        await this.yieldSometimes();
      } else if (entry.isSymbolicLink() && WorkspaceWatch.followsLinks(role)) {
        await this.followLink(run, folder, name, childRole, later);
      }
    }
  }

  /**
   * The entries of a watched folder worth a look. A workspace or parent folder (which may be large,
   * like a home folder) is not read: only the three names that matter are looked up.
   */
  private async entriesOf(folder: Folder): Promise<Array<Pick<Dirent, "name" | "isDirectory" | "isSymbolicLink">>> {
    try {
      if (folder.role !== "base") return await readdir(folder.real, { withFileTypes: true });
      const found = await Promise.all(
        [...CONTAINERS].map(async (name) => {
          const info = await lstat(join(folder.real, name)).catch(() => null);
          return info ? { name, isDirectory: () => info.isDirectory(), isSymbolicLink: () => info.isSymbolicLink() } : null;
        }),
      );
      return found.filter((e) => e !== null);
    } catch (error) {
      if (isNotFound(error)) {
        this.remove(folder);
        return [];
      }
      throw error;
    }
  }

  /** Watches the folder a symlink points to, if it stays inside the base; true when it does. */
  private async followLink(run: number, folder: Folder, name: string, role: Role, later: boolean): Promise<boolean> {
    const path = join(folder.path, name);
    const real = await realpath(path).catch(() => null);
    if (!real || !isInside(folder.base.real, real)) return false; // never followed out
    const info = await stat(real).catch(() => null);
    if (!info?.isDirectory()) return false;
    await this.add(run, path, real, role, 0, folder.base, folder, later);
    return true;
  }

  /** Stops watching `folder` and everything watched below it. */
  private remove(folder: Folder): void {
    if (folder.hasChildren) {
      const prefix = `${folder.path}${sep}`;
      for (const [path, below] of this.folders) {
        if (!path.startsWith(prefix)) continue;
        this.closeHandle(below);
        this.folders.delete(path);
      }
    }
    this.closeHandle(folder);
    if (this.folders.get(folder.path) === folder) this.folders.delete(folder.path);
  }

  private onEvent(folder: Folder, event: string, name: string | null): void {
    if (folder.handle === null) return; // closed meanwhile
    if (name === null || name === undefined) {
      // The kernel did not say what changed: start over.
      this.restartSoon();
      return;
    }
    if (name.includes(TEMP_MARKER)) return; // our own temp files, and anyone's with our marker
    // In the workspace or a parent folder (a home folder, /tmp) most entries are none of ours.
    if (folder.role === "base" && !CONTAINERS.has(name) && name !== ".git" && !(folder.base.workspace && CONFIG_FILES.has(name))) return;
    this.countEvent();
    const child = join(folder.path, name);
    this.markIndex(folder, child);
    // A file's content changed, or a skill's SKILL.md came or went: nothing to watch or unwatch.
    if ((event === "change" && !this.childRole(folder, name)) || (folder.role === "skill" && name === "SKILL.md")) {
      this.report(folder, child);
      return;
    }
    void this.reconcile(folder, name);
  }

  /** Something named `name` in `folder` came, went or changed: watch or unwatch it, report it. */
  private async reconcile(folder: Folder, name: string): Promise<void> {
    const key = join(folder.path, name);
    if (this.reconciling.has(key)) {
      this.reconciling.set(key, true);
      return;
    }
    const run = this.run;
    try {
      do {
        this.reconciling.set(key, false);
        await this.reconcileOnce(run, folder, name);
      } while (run === this.run && this.reconciling.get(key) === true);
    } catch (error) {
      if (run === this.run) this.fail(error);
    } finally {
      if (run === this.run) this.reconciling.delete(key);
    }
  }

  private async reconcileOnce(run: number, folder: Folder, name: string): Promise<void> {
    const path = join(folder.path, name);
    if (folder.role === "base" && name === ".git") {
      // The parents whose skills count may have changed: start over (rare).
      this.restartSoon();
      return;
    }
    const info = await lstat(path).catch(() => null);
    if (run !== this.run || folder.handle === null) return;
    const watched = this.folders.get(path);
    if (!info) {
      // Gone. (The kernel names a watched folder's own deletion by the folder's name: its parent
      // reports that one, if the folder itself is gone.)
      if (name === basename(folder.path) && !(await lstat(folder.path).catch(() => null))) {
        this.remove(folder);
        return;
      }
      if (watched) this.remove(watched);
      this.report(folder, path);
      return;
    }
    // Whatever stands at `path` now may be another folder than the one watched (removed and made
    // again, moved in): watch it anew.
    if (watched) this.remove(watched);
    const role = this.childRole(folder, name);
    const isFolder = info.isDirectory();
    if (!role || (!isFolder && !info.isSymbolicLink())) {
      if (!isFolder) this.report(folder, path);
      return;
    }
    if (isFolder) {
      await this.add(run, path, join(folder.real, name), role, folder.role === "tree" ? folder.depth + 1 : 0, folder.base, folder, true);
    } else if (!(WorkspaceWatch.followsLinks(folder.role) && (await this.followLink(run, folder, name, role, true)))) {
      this.report(folder, path); // a link to a file (or leading out, not followed)
    }
  }

  /** Tells the index which entry `path` (in `folder`'s base) may have changed. */
  private markIndex(folder: Folder, path: string): void {
    if (!this.index) return;
    const rel = normalizeRelative(relative(folder.base.path, path));
    for (const change of changesForPath(folder.base.path, rel, folder.base.workspace)) this.index.mark(change);
  }

  /** Counts raw changes; a burst that may have overflowed the kernel's queue restarts the watcher. */
  private countEvent(): void {
    const now = performance.now();
    if (now - this.windowStart > this.options.debounceMs) {
      this.windowStart = now;
      this.windowEvents = 0;
    }
    if (++this.windowEvents >= this.options.overflowEvents || this.restartTimer) this.restartSoon();
  }

  /** Restarts once the burst is over (no change for a debounce, or after maxWaitMs at most). */
  private restartSoon(): void {
    const now = performance.now();
    if (!this.restartTimer) this.restartFirstAt = now;
    clearTimeout(this.restartTimer);
    const delay = Math.max(0, Math.min(this.options.debounceMs, this.restartFirstAt + this.options.maxWaitMs - now));
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      this.logger.info({ workspace: this.workspace.id }, "workspace watcher restarts: changes may have been missed");
      void this.restart();
    }, delay);
    this.restartTimer.unref?.();
  }

  /** Records a reload event for a change at `path`, unless nobody reads it or it is ours. */
  private report(folder: Folder, path: string): void {
    let reason = reasonForPath(normalizeRelative(relative(folder.base.path, path)));
    if (!folder.base.workspace && reason !== "skills") reason = null; // a parent's own config is not ours
    if (!reason) return;
    const rel = normalizeRelative(relative(this.workspace.path, path));
    if (this.isOurs(rel)) return;
    this.schedule(reason, rel);
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
    return paths.map((p) => normalizeRelative(p.startsWith("/") ? relative(this.workspace.path, p) : p)).filter(Boolean);
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

  /** Real paths of every watched folder (for tests and diagnostics). */
  watchedRealPaths(): string[] {
    return [...this.folders.values()].map((f) => f.real);
  }

  async close(): Promise<void> {
    clearTimeout(this.retryTimer);
    for (const report of this.pending.values()) clearTimeout(report.timer);
    this.pending.clear();
    this.stop();
    this.state = "off";
    await this.starting?.catch(() => {});
  }
}

/** One watcher per served workspace; stops with `close()`. */
export class WorkspaceWatcher {
  private readonly watches = new Map<string, WorkspaceWatch>();
  private readonly unobserve: () => void;
  /** Resolves once every workspace's watches are set up (or failed): changes from then on are reported. */
  readonly ready: Promise<void>;

  constructor(deps: {
    workspaces: Workspace[];
    events: ReloadEventLog;
    pipeline: WritePipeline;
    logger: Logger;
    /** Told which listing entries changed, and when to trust its entries (or not). */
    index?: ListingIndex;
    options?: WatcherOptions;
  }) {
    const given = Object.fromEntries(Object.entries(deps.options ?? {}).filter(([, v]) => v !== undefined)) as WatcherOptions;
    const options = { ...WATCHER_DEFAULTS, watch: defaultWatch, ...given };
    for (const workspace of deps.workspaces) {
      if (!workspace.authorized || this.watches.has(workspace.id)) continue;
      this.watches.set(workspace.id, new WorkspaceWatch(workspace, deps.events, deps.index?.of(workspace), options, deps.logger));
    }
    this.unobserve = deps.pipeline.observe({
      willWrite: (workspace, paths) => this.watches.get(workspace.id)?.willWrite(paths),
      didWrite: (workspace, paths) => this.watches.get(workspace.id)?.didWrite(paths),
    });
    this.ready = Promise.all([...this.watches.values()].map((w) => w.start())).then(() => {});
  }

  /** `on`, `starting`, `error` (listings read the disk; retrying) or `off` (not watched). */
  state(workspaceId: string): WatcherState {
    return this.watches.get(workspaceId)?.state ?? "off";
  }

  /** Sets every watch up anew and rescans the listings (one workspace, or all). */
  async restart(workspaceId?: string): Promise<void> {
    const targets = workspaceId ? [this.watches.get(workspaceId)].filter((w) => w !== undefined) : [...this.watches.values()];
    await Promise.all(targets.map((w) => w.restart()));
  }

  watchedRealPaths(workspaceId: string): string[] {
    return this.watches.get(workspaceId)?.watchedRealPaths() ?? [];
  }

  async close(): Promise<void> {
    this.unobserve();
    await Promise.all([...this.watches.values()].map((w) => w.close()));
    this.watches.clear();
  }
}

const defaultWatch: WatchFolder = (path, listener) => fsWatch(path, { persistent: false }, listener);
