// Small helpers for listings that read many small files: bounded parallel reads and
// "missing folder means empty" directory reads.
import type { Dirent } from "node:fs";
import { readdir } from "node:fs/promises";
import { isNotFound, readTextIfExists } from "./atomic-file.js";

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

/** Like readTextIfExists, but a folder in the file's place also counts as no file. */
export async function readFileIfExists(file: string): Promise<string | null> {
  try {
    return await readTextIfExists(file);
  } catch (error) {
    if ((error as { code?: string }).code === "EISDIR") return null;
    throw error;
  }
}
