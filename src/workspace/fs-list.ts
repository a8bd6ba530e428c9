// Small helpers for listings that read many small files: bounded parallel reads and
// "missing folder means empty" directory reads.
import type { Dirent } from "node:fs";
import { readdir, readFile } from "node:fs/promises";

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

const MISSING = new Set(["ENOENT", "ENOTDIR"]);

export function isMissing(error: unknown): boolean {
  return typeof error === "object" && error !== null && MISSING.has((error as { code?: string }).code ?? "");
}

/** The entries of a folder, or [] when it does not exist (or is not a folder). */
export async function readDirIfExists(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if (isMissing(error)) return [];
    throw error;
  }
}

/** A file's text, or null when it (or a folder on its path) does not exist, or it is a folder. */
export async function readFileIfExists(file: string): Promise<string | null> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    if (isMissing(error) || (error as { code?: string }).code === "EISDIR") return null;
    throw error;
  }
}
