// A write, planned: the exact bytes each file will have (or that it goes), before anything is
// touched. Workspace modules make these plans; the write pipeline hashes them (the approval binds
// to the hash), shows them to the approver (diffs, with secrets masked and sizes capped), plans
// again under the workspace lock and applies them only when the bytes are still the ones shown.
import { createHash } from "node:crypto";
import { lstat, readdir, readFile, rm, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { createTwoFilesPatch } from "diff";
import { ApiError } from "../errors.js";
import { isNotFound, replaceFile } from "./atomic-file.js";
import { resolveWriteTarget } from "./paths.js";

/** One file that gets new bytes (`after`) or goes away (`after: null`). */
export interface FileChange {
  kind: "file";
  /** Workspace-relative, `/`-separated. */
  path: string;
  /** The bytes now; null when the file does not exist yet. */
  before: string | null;
  after: string | null;
}

/** What a plan to write one file (a skill, a command, an agent) knows about it. */
export interface FileWritePlan {
  root: string;
  name: string;
  /** Absolute path of the file written. */
  file: string;
  /** Workspace-relative path, for approvals and audit. */
  relativePath: string;
  /** The exact bytes that will be written. */
  text: string;
  /** The file's bytes now (null when there is none). */
  before: string | null;
}

/** The change a one-file write plan makes. */
export function fileWrite(plan: FileWritePlan): FileChange {
  return { kind: "file", path: plan.relativePath, before: plan.before, after: plan.text };
}

/** A folder that goes away with everything in it (a skill). */
export interface FolderRemoval {
  kind: "folder";
  /** Workspace-relative, `/`-separated, without a trailing slash. */
  path: string;
  /** What is in it now (relative to the folder), for the approver and the hash. */
  entries: FolderEntry[];
}

export interface FolderEntry {
  path: string;
  type: "file" | "folder" | "link" | "other";
  size: number;
  /** SHA-256 of a file's bytes. */
  sha256?: string;
  /** The text of a small text file, for the approver. */
  text?: string;
}

export type PlannedChange = FileChange | FolderRemoval;

export type ChangeOp = "create" | "update" | "delete";

/** What an approver sees of one change. */
export interface ChangeView {
  path: string;
  op: ChangeOp;
  diff: string;
  before?: string;
  after?: string;
  truncated?: boolean;
}

/** Whole texts shown to the approver are cut at this size (SPEC 8). */
export const TEXT_CAP = 256 * 1024;
/** Everything one request shows (all its changes together) is cut at this size. */
export const REQUEST_VIEW_CAP = 1024 * 1024;
/** The SKILL.md of a removed skill is shown when it is at most this large. */
const FOLDER_TEXT_CAP = 64 * 1024;
/** A folder with more entries than this is not removed through the API. */
export const MAX_FOLDER_ENTRIES = 5000;
/** One write changes at most this many files and folders ... */
export const MAX_PLAN_CHANGES = 1000;
/** ... holding at most this many bytes of text (before and after), so no request can exhaust memory while it waits. */
export const MAX_PLAN_BYTES = 4 * 1024 * 1024;

/** 422 `change_too_large` for a plan beyond MAX_PLAN_CHANGES or MAX_PLAN_BYTES. */
export function assertPlanSize(changes: PlannedChange[]): void {
  let bytes = 0;
  for (const change of changes) {
    if (change.kind === "file") bytes += (change.before?.length ?? 0) + (change.after?.length ?? 0);
    else for (const entry of change.entries) bytes += entry.text?.length ?? 0;
  }
  if (changes.length > MAX_PLAN_CHANGES || bytes > MAX_PLAN_BYTES) {
    throw new ApiError(
      422,
      "change_too_large",
      `This write would change ${changes.length} files (${bytes} bytes of text); one write may change at most ${MAX_PLAN_CHANGES} files and ${MAX_PLAN_BYTES} bytes. Split it.`,
      { changes: changes.length, bytes, maxChanges: MAX_PLAN_CHANGES, maxBytes: MAX_PLAN_BYTES },
    );
  }
}

export function opOf(change: PlannedChange): ChangeOp {
  if (change.kind === "folder" || change.after === null) return "delete";
  return change.before === null ? "create" : "update";
}

/** Changes that really change something (a file rewritten with its own bytes is no change). */
export function effective(changes: PlannedChange[]): PlannedChange[] {
  return changes.filter((c) => c.kind === "folder" || c.before !== c.after);
}

const sha = (text: string | null) => (text === null ? "-" : createHash("sha256").update(text, "utf8").digest("hex"));

/** The hash an approval binds to: every path with the bytes it had and will have. */
export function changeHash(changes: PlannedChange[]): string {
  const hash = createHash("sha256");
  for (const change of changes) {
    hash.update(`${change.kind}\0${change.path}\0`);
    if (change.kind === "file") hash.update(`${sha(change.before)}\0${sha(change.after)}\n`);
    else for (const e of change.entries) hash.update(`${e.path}\0${e.type}\0${e.size}\0${e.sha256 ?? ""}\n`);
  }
  return `sha256:${hash.digest("hex")}`;
}

/** How a change's path is shown: a removed folder ends with `/`. */
export const shownPath = (change: PlannedChange) => (change.kind === "folder" ? `${change.path}/` : change.path);

/** The paths whose planned bytes differ between two plans (for a 409's details). */
export function differingPaths(a: PlannedChange[], b: PlannedChange[]): string[] {
  const key = (c: PlannedChange) => changeHash([c]);
  const left = new Map(a.map((c) => [shownPath(c), key(c)]));
  const right = new Map(b.map((c) => [shownPath(c), key(c)]));
  const paths = new Set([...left.keys(), ...right.keys()]);
  return [...paths].filter((p) => left.get(p) !== right.get(p)).sort();
}

/** Lists a folder that a plan removes (without following links), for the approver and the hash. */
export async function folderRemoval(root: string, relativePath: string): Promise<FolderRemoval> {
  const absolute = resolveWriteTarget(root, relativePath);
  const entries: FolderEntry[] = [];
  const walk = async (dir: string, prefix: string) => {
    for (const entry of (await readdir(dir, { withFileTypes: true })).sort((x, y) => (x.name < y.name ? -1 : 1))) {
      if (entries.length >= MAX_FOLDER_ENTRIES) {
        throw new ApiError(422, "unprocessable", `${relativePath} holds more than ${MAX_FOLDER_ENTRIES} entries; remove it by hand`, {
          path: relativePath,
          max: MAX_FOLDER_ENTRIES,
        });
      }
      const full = join(dir, entry.name);
      const rel = `${prefix}${entry.name}`;
      const info = await lstat(full);
      if (info.isDirectory()) {
        entries.push({ path: `${rel}/`, type: "folder", size: 0 });
        await walk(full, `${rel}/`);
      } else if (info.isFile()) {
        // Content is hashed (so an edit made while approval waits is noticed) and small texts shown.
        const bytes = info.size <= 16 * 1024 * 1024 ? await readFile(full) : null;
        const item: FolderEntry = { path: rel, type: "file", size: info.size };
        if (bytes) {
          item.sha256 = createHash("sha256").update(bytes).digest("hex");
          const text = rel === "SKILL.md" && bytes.length <= FOLDER_TEXT_CAP ? decodeText(bytes) : null;
          if (text !== null) item.text = text;
        } else item.sha256 = `large:${info.mtimeMs}`;
        entries.push(item);
      } else {
        entries.push({ path: rel, type: info.isSymbolicLink() ? "link" : "other", size: info.size });
      }
    }
  };
  await walk(absolute, "");
  return { kind: "folder", path: relativePath, entries };
}

function decodeText(bytes: Uint8Array): string | null {
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return text.includes("\0") ? null : text;
  } catch {
    return null;
  }
}

/**
 * Carries out a plan, in order. Each target is resolved again right before it is touched, and
 * refused when a symbolic link lies on its way inside the workspace: a write or delete never goes
 * anywhere but the path the approver saw. Returns the folders whose entries changed: the caller
 * makes the changes durable with syncFolders before it answers.
 */
export async function applyChanges(root: string, changes: PlannedChange[]): Promise<string[]> {
  const folders: string[] = [];
  for (const change of changes) {
    const target = resolveWriteTarget(root, change.path);
    if (change.kind === "folder") {
      await rm(target, { recursive: true, force: true });
      folders.push(dirname(target));
    } else if (change.after === null) {
      await unlink(target).catch((error) => {
        if (!isNotFound(error)) throw error;
      });
      folders.push(dirname(target));
    } else if (change.after !== change.before) {
      folders.push(...(await replaceFile(target, change.after)));
    }
  }
  return folders;
}

// ---- what the approver sees

/** How a secret value is shown. */
export const MASK = "••••••";

/** Masks what a file's text holds in secret places (a config's secrets); other files are shown as they are. */
export type TextMask = (path: string, text: string) => string;

function cap(text: string, limit: number): { text: string; truncated: boolean } {
  if (text.length <= limit) return { text, truncated: false };
  return { text: `${text.slice(0, limit)}\n… (${text.length - limit} more characters not shown)`, truncated: true };
}

/** A unified diff, bounded in time: a diff too costly to compute is shown as the whole file replaced. */
function unifiedDiff(path: string, before: string, after: string): string {
  const lines = (t: string) => t.split("\n").length;
  const patch =
    lines(before) + lines(after) <= 40_000
      ? createTwoFilesPatch(`a/${path}`, `b/${path}`, before, after, undefined, undefined, {
          context: 3,
          maxEditLength: 5000,
          timeout: 250,
        })
      : undefined;
  if (patch !== undefined) return patch.replace(/^=+\n/, "");
  const body = (prefix: string, text: string) =>
    text === ""
      ? ""
      : text
          .replace(/\n$/, "")
          .split("\n")
          .map((l) => `${prefix}${l}`)
          .join("\n");
  return [`--- a/${path}`, `+++ b/${path}`, "@@ whole file @@", body("-", before), body("+", after)].filter(Boolean).join("\n");
}

function folderText(change: FolderRemoval): string {
  return change.entries
    .map((e) => (e.type === "file" ? `${e.path} (${e.size} bytes)` : e.type === "folder" ? e.path : `${e.path} (${e.type})`))
    .join("\n");
}

/** The approver's view of a plan: per change its op, diff and texts; secrets masked; sizes capped. */
export function viewChanges(changes: PlannedChange[], mask: TextMask): ChangeView[] {
  let budget = REQUEST_VIEW_CAP;
  const spend = (text: string | undefined) => {
    if (text === undefined) return { text: undefined, truncated: false };
    const limited = cap(text, Math.max(0, Math.min(TEXT_CAP, budget)));
    budget -= limited.text.length;
    return limited;
  };
  return changes.map((change) => {
    const op = opOf(change);
    let before: string | undefined;
    let after: string | undefined;
    let diff: string;
    if (change.kind === "folder") {
      const skill = change.entries.find((e) => e.path === "SKILL.md" && e.text !== undefined);
      before = skill?.text !== undefined ? mask(`${change.path}/SKILL.md`, skill.text) : undefined;
      diff = `Removes the folder ${change.path}/ and everything in it:\n${folderText(change)}`;
    } else {
      before = change.before === null ? undefined : mask(change.path, change.before);
      after = change.after === null ? undefined : mask(change.path, change.after);
      diff = unifiedDiff(change.path, before ?? "", after ?? "");
    }
    const shownDiff = spend(diff);
    const shownBefore = spend(before);
    const shownAfter = spend(after);
    const view: ChangeView = { path: shownPath(change), op, diff: shownDiff.text ?? "" };
    if (shownBefore.text !== undefined) view.before = shownBefore.text;
    if (shownAfter.text !== undefined) view.after = shownAfter.text;
    if (shownDiff.truncated || shownBefore.truncated || shownAfter.truncated) view.truncated = true;
    return view;
  });
}
