// Small helpers for listings that read many small files: bounded parallel reads,
// "missing folder means empty" directory reads, and file reads through the safe reader.
import type { Dirent } from "node:fs";
import { readdir } from "node:fs/promises";
import { isNotFound } from "./atomic-file.js";
import { isFolderRefusal, type ReadOptions, readRegularFile, readRegularFileSync, resolvesInside } from "./safe-fs.js";

/** Files read at once by a listing: fast on 500 files, far below any open-file limit. */
export const READ_CONCURRENCY = 32;

/** Like Promise.all over `items.map(fn)`, with at most `limit` calls in flight; keeps order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      out[index] = await fn(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** The entries of a folder, or [] when it does not exist (or is not a folder). */
export async function readDirIfExists(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if (isNotFound(error)) return [];
    throw error;
  }
}

/**
 * A regular file inside `options.root`, at most `options.maxBytes` (see readRegularFile); null when
 * it does not exist or a folder stands in its place. Throws for a file that is refused.
 */
export async function readFileIfExists(file: string, options: ReadOptions): Promise<string | null> {
  return readRegularFile(file, options).catch(folderIsNothing);
}

/** readFileIfExists without a trip through the thread pool (readRegularFileSync): a write plan's one file. */
export function readPlannedFile(file: string, options: ReadOptions): string | null {
  try {
    return readRegularFileSync(file, options);
  } catch (error) {
    return folderIsNothing(error);
  }
}

function folderIsNothing(error: unknown): null {
  if (isFolderRefusal(error)) return null;
  throw error;
}

/**
 * The entries of a folder a listing reads, or [] when it does not exist. A folder that resolves
 * outside `root` through a symlink is not read at all, nor one that is a symlink loop or cannot be
 * read (permissions): `onSkip` is told why. Subfolders found by the listing itself (real folders,
 * not links) pass `root` as null: they were proven inside with their parent.
 */
export async function readListedDir(
  dir: string,
  root: string | null,
  onSkip?: (path: string, reason: string) => void,
  rootLabel = "the workspace",
): Promise<Dirent[]> {
  try {
    if (root !== null && !(await resolvesInside(root, dir))) {
      onSkip?.(dir, `folder resolves outside ${rootLabel} through a symlink; not read`);
      return [];
    }
    return await readDirIfExists(dir);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code !== "ELOOP" && code !== "EACCES" && code !== "EPERM") throw error;
    onSkip?.(dir, code === "ELOOP" ? "folder is a symlink loop; not read" : "folder cannot be read (permission denied)");
    return [];
  }
}
