// The listings (skills, commands, plugins, MCP) and the config read, kept per workspace and served
// as the exact response bytes, so a read of a workspace with thousands of skills costs no disk I/O
// and no serialisation (DESIGN "Caching", "incremental listing index").
//
// - Skills and commands are indexed entry by entry. The watcher (a change on disk) and our own
//   writes (the write pipeline's observer) mark the entry that changed; the next request re-reads
//   only the marked entries and patches the response bytes around them (listing-body.ts). A whole
//   folder is re-read only when the folder itself changed, a full scan only when the watcher
//   starts, restarts or may have lost events (a large one runs in a worker: listing-scan.ts).
// - Plugins, MCP and the config read come from the config files and are small: a change marks the
//   whole listing and the next request loads it again.
// - A request never gets an answer older than what the watcher had reported when it arrived:
//   entries marked before it arrived are always read first. Without a working watcher nothing is
//   kept: each request reads the disk (sharing a read that started less than `freshnessMs`, the
//   watcher's debounce, ago).
// - While the watcher starts (and its first scan runs) requests wait for it; `/health` does not.
import { lstat } from "node:fs/promises";
import { isAbsolute, join, relative } from "node:path";
import type { Logger } from "../logger.js";
import { COMMAND_DIRS, COMMAND_MAX_DEPTH, type CommandItem, collectMarkdown, readCommandEntry } from "../workspace/commands.js";
import { mapLimit, READ_CONCURRENCY } from "../workspace/fs-list.js";
import { PROJECT_CONFIG_FILES } from "../workspace/layout.js";
import { PROJECT_SKILL_DIRS, projectSkillDirs, readSkillEntry, type SkillItem } from "../workspace/skills.js";
import type { Workspace } from "../workspaces.js";
import { settleHeapLater } from "./heap.js";
import { ItemsBody } from "./listing-body.js";
import { scanSkillFoldersAuto } from "./listing-scan.js";

export type ListingKind = "skills" | "commands" | "plugins" | "mcp" | "config" | "agents";
/** Listings loaded whole (small, or from the config files), by a loader the route gives. */
export type WholeKind = "plugins" | "mcp" | "config" | "agents";

/** What changed, as precisely as the caller knows it. */
export type IndexChange =
  /** A skill folder `<root>/<name>` (or, without `name`, the whole skills folder `root`). */
  | { kind: "skills"; root: string; name?: string }
  /** `<root>/<path>` in a commands folder: a file or a sub-folder (or, without `path`, all of it). */
  | { kind: "commands"; root: string; path?: string }
  /** The list of skills folders itself may have changed (a `.git` came or went). */
  | { kind: "skill-dirs" }
  | { kind: WholeKind }
  | { kind: "all" };

/** `starting`: the watcher is being set up (requests wait); `watching`: changes are reported; `unwatched`: read the disk each time. */
export type IndexMode = "starting" | "watching" | "unwatched";

export interface CachedResponse {
  body: Uint8Array<ArrayBuffer>;
  etag?: string;
}

export interface IndexStats {
  /** Full scans of the skills and the commands listings. */
  fullScans: number;
  /** Single entries (a skill folder, a command file) re-read. */
  entryReads: number;
  /** Whole folders re-read (a skills folder or commands sub-folder that itself changed). */
  folderReads: number;
}

export interface ListingIndexOptions {
  /** How old a shared load may be when there is no watcher (the watcher's debounce; 0 = never share). */
  freshnessMs: number;
  /** Workspaces start in `starting` (a watcher will set them up) rather than `unwatched`. */
  watched: boolean;
  logger?: Logger;
  /** How long a request waits for a starting watcher before it reads the disk itself. */
  startTimeoutMs?: number;
}

const encoder = new TextEncoder();
const CONFIG_NAMES = new Set<string>([...PROJECT_CONFIG_FILES]);
/** Past this many marked entries in one folder, re-reading the folder is simpler than each entry. */
const FOLDER_READ_THRESHOLD = 512;

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Normalises a path relative to a folder to `/`-separated form without `./` or a trailing slash. */
export function toRelative(base: string, path: string): string {
  const rel = isAbsolute(path) ? relative(base, path) : path;
  return rel
    .replace(/\\/g, "/")
    .replace(/^(\.\/)+/, "")
    .replace(/\/+$/, "");
}

/**
 * Which listings a change of `rel` (relative to `base`, `/`-separated) can affect. `base` is the
 * workspace (`workspace` true) or one of its parents, whose skills folders it also lists.
 */
export function changesForPath(base: string, rel: string, workspace: boolean): IndexChange[] {
  if (rel === "" || rel === ".") return workspace ? [{ kind: "all" }] : [{ kind: "skill-dirs" }];
  const parts = rel.split("/");
  if (parts.length === 1 && parts[0] === ".git") return [{ kind: "skill-dirs" }];
  const out: IndexChange[] = [];
  for (const dir of PROJECT_SKILL_DIRS) {
    const dirParts = dir.split("/");
    const root = join(base, dir);
    if (dirParts.every((p, i) => i >= parts.length || parts[i] === p)) {
      // rel is the skills folder, a folder above it, or something inside it.
      if (parts.length <= dirParts.length) out.push({ kind: "skills", root });
      else out.push({ kind: "skills", root, name: parts[dirParts.length]! });
    }
  }
  if (!workspace) return out;
  const [top, second] = parts;
  // The config holds plugin specs, MCP servers and the `agent` map.
  if (parts.length === 1 && CONFIG_NAMES.has(top!)) return [{ kind: "config" }, { kind: "plugins" }, { kind: "mcp" }, { kind: "agents" }];
  if (top !== ".opencode") return out;
  if (parts.length === 1) return [{ kind: "all" }];
  if (parts.length === 2 && (CONFIG_NAMES.has(second!) || second === "openwork.json")) {
    return [{ kind: "config" }, { kind: "plugins" }, { kind: "mcp" }, { kind: "agents" }];
  }
  if (second === "openwork") return [{ kind: "config" }]; // the audit log: the config read's updatedAt
  if ((COMMAND_DIRS as readonly string[]).includes(second!)) {
    const path = parts.slice(2).join("/");
    out.push(
      path
        ? { kind: "commands", root: join(base, ".opencode", second!), path }
        : { kind: "commands", root: join(base, ".opencode", second!) },
    );
  }
  if (second === "plugins" || second === "plugin") out.push({ kind: "plugins" });
  if (second === "agents" || second === "agent" || second === "modes" || second === "mode") out.push({ kind: "agents" });
  return out;
}

/**
 * One listing indexed by entry: which names each folder holds (in first-wins order), the response
 * bytes with the winning item of each name, and aside only the JSON of items another folder's item
 * of the same name hides. A change re-reads the marked entries and patches the bytes.
 */
abstract class EntryListing<T> {
  private roots: string[] = [];
  /** Per folder (same order as `roots`): the names with an item there. */
  private present: Set<string>[] = [];
  /** `<folder index>\0<name>` -> JSON of an item hidden by one of an earlier folder. */
  private readonly hidden = new Map<string, string>();
  private body = ItemsBody.empty();
  /** Marked entries per folder; null = the whole folder. */
  private dirty = new Map<string, Set<string> | null>();
  private full = true;
  /** Every mark bumps `marked`; a refresh that started at `marked = n` makes `done = n`. */
  private marked = 1;
  private done = 0;
  private running: Promise<void> | null = null;

  constructor(protected readonly stats: IndexStats) {}

  protected abstract listRoots(): Promise<string[]>;
  /** Every item in each of `roots`, as name -> JSON (a full scan, or one folder read again). */
  protected abstract readRoots(roots: string[]): Promise<Map<string, string>[]>;
  /**
   * Re-reads what `key` names in `root` (where `present` holds the names it had): each name it
   * may have changed, with its item's JSON, or null when `root` no longer has one.
   */
  protected abstract readKey(root: string, key: string, present: ReadonlySet<string>): Promise<Array<[string, string | null]>>;

  mark(root: string, key?: string): void {
    this.marked++;
    if (this.full) return; // the full scan to come reads it anyway
    const current = this.dirty.get(root);
    if (key === undefined) this.dirty.set(root, null);
    else if (current === undefined) this.dirty.set(root, new Set([key]));
    else if (current !== null) {
      current.add(key);
      if (current.size > FOLDER_READ_THRESHOLD) this.dirty.set(root, null);
    }
  }

  markAll(): void {
    this.full = true;
    this.dirty.clear();
    this.marked++;
  }

  /** Drops everything (the watcher stopped); the next use starts with a full scan. */
  reset(): void {
    this.markAll();
    this.present = [];
    this.hidden.clear();
    this.body = ItemsBody.empty();
  }

  /** Resolves once every mark made before the call has been read. */
  async fresh(): Promise<void> {
    const target = this.marked;
    while (this.done < target) {
      this.running ??= this.refresh().finally(() => {
        this.running = null;
      });
      await this.running;
    }
  }

  async response(): Promise<CachedResponse> {
    await this.fresh();
    return { body: this.body.bytes };
  }

  async items(): Promise<T[]> {
    await this.fresh();
    return this.body.items<T>();
  }

  private async refresh(): Promise<void> {
    const upTo = this.marked;
    try {
      if (this.full) {
        this.full = false;
        this.dirty.clear();
        await this.scan();
      } else {
        const batch = this.dirty;
        this.dirty = new Map();
        await this.update(batch);
      }
      this.done = Math.max(this.done, upTo);
    } catch (error) {
      this.full = true; // whatever was half read is read again by the next request
      this.marked++;
      throw error;
    }
  }

  private async scan(): Promise<void> {
    this.stats.fullScans++;
    const roots = await this.listRoots();
    const lists = await this.readRoots(roots);
    this.roots = roots;
    this.present = lists.map((items) => new Set(items.keys()));
    this.hidden.clear();
    const winners = new Map<string, string>();
    lists.forEach((items, r) => {
      for (const [name, json] of items) {
        if (!winners.has(name)) winners.set(name, json);
        else this.hidden.set(`${r}\0${name}`, json);
      }
    });
    this.body = ItemsBody.build([...winners.keys()].sort(byName), (name) => winners.get(name)!);
    settleHeapLater();
  }

  /** The listing read from disk now, kept nowhere (when no watcher can say what changed). */
  async readAll(): Promise<ItemsBody> {
    const lists = await this.readRoots(await this.listRoots());
    const winners = new Map<string, string>();
    for (const items of lists) for (const [name, json] of items) if (!winners.has(name)) winners.set(name, json);
    return ItemsBody.build([...winners.keys()].sort(byName), (name) => winners.get(name)!);
  }

  /** The first folder holding an item named `name`, or -1. */
  private winner(name: string): number {
    return this.present.findIndex((names) => names.has(name));
  }

  private async update(batch: Map<string, Set<string> | null>): Promise<void> {
    // What was read: name -> folder index -> JSON (null: none there any more).
    const read = new Map<string, Map<number, string | null>>();
    const note = (name: string, r: number, json: string | null) => {
      const byRoot = read.get(name) ?? new Map<number, string | null>();
      read.set(name, byRoot);
      byRoot.set(r, json);
    };
    for (const [root, keys] of batch) {
      const r = this.roots.indexOf(root);
      if (r < 0) continue; // not (or no longer) a folder this listing reads
      if (keys === null) {
        this.stats.folderReads++;
        const items = (await this.readRoots([root]))[0]!;
        for (const name of this.present[r]!) if (!items.has(name)) note(name, r, null);
        for (const [name, json] of items) note(name, r, json);
      } else {
        this.stats.entryReads += keys.size;
        const results = await mapLimit([...keys], READ_CONCURRENCY, (key) => this.readKey(root, key, this.present[r]!));
        for (const list of results) for (const [name, json] of list) note(name, r, json);
      }
    }
    const edits = new Map<string, string | null>();
    for (const [name, byRoot] of read) {
      const before = this.winner(name);
      for (const [r, json] of byRoot) {
        if (json === null) this.present[r]!.delete(name);
        else this.present[r]!.add(name);
      }
      const after = this.winner(name);
      // An item that stops being the winner, but stays, is kept aside.
      if (before >= 0 && before !== after && this.present[before]!.has(name)) {
        this.hidden.set(`${before}\0${name}`, byRoot.get(before) ?? this.body.jsonOf(name)!);
      }
      for (const [r, json] of byRoot) {
        if (r === after) continue;
        if (json === null) this.hidden.delete(`${r}\0${name}`);
        else this.hidden.set(`${r}\0${name}`, json);
      }
      if (after < 0) {
        if (before >= 0) edits.set(name, null);
        continue;
      }
      const json = byRoot.get(after) ?? (after === before ? undefined : this.hidden.get(`${after}\0${name}`));
      this.hidden.delete(`${after}\0${name}`);
      if (json !== undefined && json !== null) edits.set(name, json);
    }
    if (edits.size > 0) this.body = this.body.patch(edits);
  }
}

class SkillsListing extends EntryListing<SkillItem> {
  constructor(
    stats: IndexStats,
    private readonly root: string,
    private readonly onSkip?: (file: string, reason: string) => void,
  ) {
    super(stats);
  }

  protected listRoots(): Promise<string[]> {
    return projectSkillDirs(this.root);
  }

  protected async readRoots(dirs: string[]): Promise<Map<string, string>[]> {
    const folders = await scanSkillFoldersAuto(dirs, this.root);
    for (const folder of folders) for (const [file, reason] of folder.skipped) this.onSkip?.(file, reason);
    return folders.map((folder) => folder.items);
  }

  protected async readKey(dir: string, name: string): Promise<Array<[string, string | null]>> {
    const item = await readSkillEntry(dir, name, "project", { onSkip: this.onSkip, workspace: this.root });
    return [[name, item ? JSON.stringify(item) : null]];
  }
}

class CommandsListing extends EntryListing<CommandItem> {
  constructor(
    stats: IndexStats,
    private readonly root: string,
    private readonly onSkip?: (file: string, reason: string) => void,
  ) {
    super(stats);
  }

  protected async listRoots(): Promise<string[]> {
    return COMMAND_DIRS.map((d) => join(this.root, ".opencode", d));
  }

  protected readRoots(dirs: string[]): Promise<Map<string, string>[]> {
    return Promise.all(
      dirs.map(async (dir) => {
        const files = await collectMarkdown(dir, this.root, this.onSkip);
        const items = await mapLimit(files, READ_CONCURRENCY, ([name, file]) =>
          readCommandEntry(file, name, "workspace", this.root, this.onSkip),
        );
        return new Map(items.filter((i): i is CommandItem => i !== null).map((item) => [item.name, JSON.stringify(item)]));
      }),
    );
  }

  /** `path` is a file (`sub/x.md`) or a sub-folder (`sub`) of the commands folder `dir`. */
  protected async readKey(dir: string, path: string, present: ReadonlySet<string>): Promise<Array<[string, string | null]>> {
    const changed = new Map<string, string | null>();
    const segments = path.split("/").length;
    if (path.endsWith(".md") && path.length > 3 && segments - 1 <= COMMAND_MAX_DEPTH) {
      const name = path.slice(0, -3);
      const item = await readCommandEntry(join(dir, path), name, "workspace", this.root, this.onSkip);
      changed.set(name, item ? JSON.stringify(item) : null);
    }
    // A sub-folder that came, went or was replaced: everything below it.
    const prefix = `${path}/`;
    for (const name of present) if (name.startsWith(prefix)) changed.set(name, null);
    if (segments <= COMMAND_MAX_DEPTH) {
      const info = await lstat(join(dir, path)).catch(() => null);
      if (info?.isDirectory()) {
        for (const [name, file] of await collectMarkdown(join(dir, path), this.root, this.onSkip, prefix, segments)) {
          const item = await readCommandEntry(file, name, "workspace", this.root, this.onSkip);
          if (item) changed.set(name, JSON.stringify(item));
        }
      }
    }
    return [...changed];
  }
}

interface WholeEntry {
  generation: number;
  body: Promise<CachedResponse>;
}

/** The listings of one workspace. */
export class WorkspaceIndex {
  readonly stats: IndexStats = { fullScans: 0, entryReads: 0, folderReads: 0 };
  private mode: IndexMode;
  private gate: { promise: Promise<void>; open: () => void } | null = null;
  private readonly skills: SkillsListing;
  private readonly commands: CommandsListing;
  private readonly whole = new Map<string, WholeEntry>();
  private readonly generations: Record<WholeKind, number> = { plugins: 0, mcp: 0, config: 0, agents: 0 };
  /** Loads shared while there is no watcher: key -> when it started and its result. */
  private readonly shared = new Map<string, { startedAt: number; result: Promise<unknown> }>();

  constructor(
    readonly workspace: Workspace,
    private readonly options: ListingIndexOptions,
  ) {
    const onSkip = options.logger
      ? (file: string, reason: string) => options.logger!.debug({ file, reason }, "listing entry skipped")
      : undefined;
    this.skills = new SkillsListing(this.stats, workspace.path, onSkip);
    this.commands = new CommandsListing(this.stats, workspace.path, onSkip);
    this.mode = "unwatched";
    if (options.watched) this.setMode("starting");
  }

  get currentMode(): IndexMode {
    return this.mode;
  }

  /** Set by the watcher: `watching` starts (or restarts) from a full scan, begun at once. */
  setMode(mode: IndexMode): void {
    const before = this.mode;
    this.mode = mode;
    if (mode === "starting") {
      if (!this.gate) {
        let open!: () => void;
        const promise = new Promise<void>((resolve) => (open = resolve));
        this.gate = { promise, open };
      }
      return;
    }
    if (before === "watching" && mode === "watching") return;
    this.skills.reset();
    this.commands.reset();
    this.bump("plugins", "mcp", "config", "agents");
    this.whole.clear();
    const gate = this.gate;
    this.gate = null;
    gate?.open();
    if (mode === "watching") {
      // The first scan starts now, so the first request finds it under way or done.
      this.skills.fresh().catch(() => {});
      this.commands.fresh().catch(() => {});
    }
  }

  /** Records a change; ignored unless the watcher is running (otherwise nothing is kept). */
  mark(change: IndexChange): void {
    if (this.mode !== "watching") return;
    switch (change.kind) {
      case "skills":
        this.skills.mark(change.root, change.name);
        return;
      case "commands":
        this.commands.mark(change.root, change.path);
        return;
      case "skill-dirs":
        this.skills.markAll();
        return;
      case "all":
        this.skills.markAll();
        this.commands.markAll();
        this.bump("plugins", "mcp", "config", "agents");
        return;
      default:
        this.bump(change.kind);
    }
  }

  /** Marks what a write to these paths (workspace-relative or absolute) can have changed. */
  markPaths(paths: readonly string[]): void {
    for (const path of paths) {
      for (const change of changesForPath(this.workspace.path, toRelative(this.workspace.path, path), true)) this.mark(change);
    }
  }

  invalidate(kinds: readonly ListingKind[]): void {
    for (const kind of kinds) {
      if (kind === "skills") this.skills.markAll();
      else if (kind === "commands") this.commands.markAll();
      else this.bump(kind);
    }
  }

  private bump(...kinds: WholeKind[]): void {
    for (const kind of kinds) this.generations[kind]++;
  }

  /** Waits while the watcher starts (bounded); true when the index may be used. */
  private async usable(): Promise<boolean> {
    if (this.gate) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.options.startTimeoutMs ?? 10_000);
        timer.unref?.();
      });
      await Promise.race([this.gate.promise, timeout]);
      clearTimeout(timer);
    }
    return this.mode === "watching";
  }

  /** Without a watcher: a load shared only with requests that come while it is young. */
  private sharedLoad<R>(key: string, load: () => Promise<R>): Promise<R> {
    const now = performance.now();
    const hit = this.shared.get(key);
    if (hit && now - hit.startedAt < this.options.freshnessMs) return hit.result as Promise<R>;
    const result = load();
    const entry = { startedAt: now, result };
    this.shared.set(key, entry);
    const forget = () => {
      if (this.shared.get(key) === entry) this.shared.delete(key);
    };
    result.then(() => setTimeout(forget, this.options.freshnessMs).unref?.(), forget);
    return result;
  }

  /** `{ items }` of the project's skills (workspace and parents up to the git root). */
  async skillsResponse(): Promise<CachedResponse> {
    if (await this.usable()) return this.skills.response();
    return { body: (await this.sharedLoad("skills", () => this.skills.readAll())).bytes };
  }

  async skillItems(): Promise<SkillItem[]> {
    if (await this.usable()) return this.skills.items();
    return (await this.sharedLoad("skills", () => this.skills.readAll())).items<SkillItem>();
  }

  /** `{ items }` of the workspace's commands. */
  async commandsResponse(): Promise<CachedResponse> {
    if (await this.usable()) return this.commands.response();
    return { body: (await this.sharedLoad("commands", () => this.commands.readAll())).bytes };
  }

  async commandItems(): Promise<CommandItem[]> {
    if (await this.usable()) return this.commands.items();
    return (await this.sharedLoad("commands", () => this.commands.readAll())).items<CommandItem>();
  }

  /**
   * A listing loaded whole by `load` (plugins, MCP, the config read), serialised once. Concurrent
   * misses share one load, and a load that a change overtook is not kept.
   */
  async get(kind: WholeKind, variant: string, load: () => Promise<{ json: unknown; etag?: string }>): Promise<CachedResponse> {
    const serialise = async (): Promise<CachedResponse> => {
      const { json, etag } = await load();
      const body = encoder.encode(JSON.stringify(json));
      return etag === undefined ? { body } : { body, etag };
    };
    if (!(await this.usable())) return this.sharedLoad(`${kind}\0${variant}`, serialise);
    const key = `${kind}\0${variant}`;
    const generation = this.generations[kind];
    const hit = this.whole.get(key);
    if (hit && hit.generation === generation) return hit.body;
    const entry: WholeEntry = { generation, body: serialise() };
    this.whole.set(key, entry);
    entry.body.catch(() => {
      if (this.whole.get(key) === entry) this.whole.delete(key); // errors are not kept
    });
    return entry.body;
  }
}

/** The listing index of every workspace. */
export class ListingIndex {
  private readonly byId = new Map<string, WorkspaceIndex>();

  constructor(private readonly options: ListingIndexOptions) {}

  of(workspace: Workspace): WorkspaceIndex {
    let index = this.byId.get(workspace.id);
    if (!index) {
      index = new WorkspaceIndex(workspace, this.options);
      this.byId.set(workspace.id, index);
    }
    return index;
  }

  /** The index of a workspace id, if one was made. */
  find(workspaceId: string): WorkspaceIndex | undefined {
    return this.byId.get(workspaceId);
  }
}
