// Atomic file replacement: write a temp file beside the target, fsync it, rename it over the
// target, fsync the folder. A crash at any point leaves the old file or the new one, never a mix.
// Temp files carry a recognisable marker so a later start can sweep the ones a crash left behind.
// Reading is not done here: every reader goes through safe-fs.ts (regular files only, size caps,
// containment), so no plain readFile of a workspace file remains to be tricked by a FIFO or a link.
//
// The calls that wait on the disk (fsync, rename) run off the event loop; the quick ones (open,
// write to the page cache, close, mkdir) are synchronous: each await would cost a trip through the
// thread pool, several times the call itself, and a write makes a dozen of them.
import { randomBytes } from "node:crypto";
import { closeSync, fchmodSync, fsync, mkdirSync, openSync, rmSync, writeFileSync } from "node:fs";
import { readdir, rename, rm, stat, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { promisify } from "node:util";
import { ApiError } from "../errors.js";

export const TEMP_MARKER = ".owtmp-";

const fsyncFd = promisify(fsync);

/**
 * Writes `data` to `target` atomically and durably, creating missing parent folders. A file
 * standing where a folder should be (or a folder where the file should be) is a 422 invalid_file,
 * not a crash. `mode` applies to the new file (the token store is written 0600).
 */
export async function writeFileAtomic(target: string, data: string | Uint8Array, options: { mode?: number } = {}): Promise<void> {
  await syncFolders(await replaceFile(target, data, options));
}

/**
 * writeFileAtomic without the last step: the new bytes are durable under the temp name and renamed
 * over the target, and the folders whose entries changed are returned for syncFolders (a plan
 * touching several files syncs each folder once, at the end).
 */
export async function replaceFile(target: string, data: string | Uint8Array, options: { mode?: number } = {}): Promise<string[]> {
  const folder = dirname(target);
  const temp = join(folder, `.${basename(target)}${TEMP_MARKER}${process.pid}-${randomBytes(4).toString("hex")}`);
  let opened: { fd: number; created: string[] };
  try {
    opened = openTemp(temp, options.mode ?? 0o644);
  } catch (error) {
    throw inTheWay(error, target);
  }
  const { fd } = opened;
  try {
    if (options.mode !== undefined) fchmodSync(fd, options.mode); // exactly, whatever the umask
    writeFileSync(fd, data);
    await fsyncFd(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw error;
  }
  closeSync(fd);
  try {
    await rename(temp, target);
  } catch (error) {
    rmSync(temp, { force: true });
    throw inTheWay(error, target);
  }
  return [folder, ...opened.created];
}

/**
 * Makes the entries created, renamed or removed in `folders` durable (one fsync per folder). Some
 * platforms cannot open a folder, and a folder removed since has nothing to sync: neither is fatal.
 */
export async function syncFolders(folders: Iterable<string>): Promise<void> {
  await Promise.all(
    [...new Set(folders)].map(async (folder) => {
      let fd: number;
      try {
        fd = openSync(folder, "r");
      } catch {
        return;
      }
      try {
        await fsyncFd(fd).catch(() => {});
      } finally {
        closeSync(fd);
      }
    }),
  );
}

/**
 * Creates the temp file (never over an existing one) and, when they are missing, the folders above
 * it; `created` names the folders holding a new folder's entry, for syncFolders.
 */
function openTemp(temp: string, mode: number): { fd: number; created: string[] } {
  try {
    return { fd: openSync(temp, "wx", mode), created: [] };
  } catch (error) {
    if ((error as { code?: string }).code !== "ENOENT") throw error;
  }
  const folder = dirname(temp);
  const first = mkdirSync(folder, { recursive: true });
  const created: string[] = [];
  // Each new folder's entry lies in its parent: from the first one made down to the temp's own.
  for (let dir = folder; first !== undefined && dir !== dirname(first) && dir !== dirname(dir); dir = dirname(dir)) {
    created.push(dirname(dir));
  }
  return { fd: openSync(temp, "wx", mode), created };
}

/** A write blocked by a file where a folder should be (or the reverse) is a 422; other errors stay as they are. */
function inTheWay(error: unknown, target: string): unknown {
  const code = (error as { code?: string }).code;
  if (code !== "EEXIST" && code !== "ENOTDIR" && code !== "EISDIR") return error;
  const message = `Cannot write ${basename(target)}: a file stands where a folder should be, or a folder where the file goes`;
  return new ApiError(422, "invalid_file", message, { error: code });
}

export async function pathExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

export async function removeRecursive(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
}

/**
 * Deletes temp files left by a crash in `folder` and below (skipping node_modules). With
 * `olderThan` (a time in ms), only temp files last changed before it: a sweep that runs while
 * this process writes leaves its writes alone.
 */
export async function sweepTempFiles(folder: string, depth = 6, olderThan?: number): Promise<string[]> {
  const removed: string[] = [];
  let entries: import("node:fs").Dirent[];
  try {
    entries = await readdir(folder, { withFileTypes: true });
  } catch {
    return removed;
  }
  for (const entry of entries) {
    const full = join(folder, entry.name);
    if (entry.isDirectory()) {
      if (depth > 0 && entry.name !== "node_modules" && entry.name !== ".git") {
        removed.push(...(await sweepTempFiles(full, depth - 1, olderThan)));
      }
    } else if (entry.isFile() && entry.name.includes(TEMP_MARKER)) {
      if (olderThan !== undefined) {
        const changedAt = (await stat(full).catch(() => null))?.mtimeMs;
        if (changedAt === undefined || changedAt >= olderThan) continue;
      }
      await unlink(full).catch(() => {});
      removed.push(full);
    }
  }
  return removed;
}

/**
 * Removes what a crash mid-write left in a workspace: temp files beside the project config
 * (the workspace folder itself, not below it) and anywhere under `.opencode/`.
 */
export async function sweepWorkspaceTempFiles(root: string): Promise<string[]> {
  return [...(await sweepTempFiles(root, 0)), ...(await sweepTempFiles(join(root, ".opencode")))];
}

/** True for "nothing there": the path does not exist, or a file stands where a folder on it should be. */
export function isNotFound(error: unknown): boolean {
  const code = typeof error === "object" && error !== null ? (error as { code?: string }).code : undefined;
  return code === "ENOENT" || code === "ENOTDIR";
}
