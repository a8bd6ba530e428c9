// Full scans of skills folders for the listing index. A large scan (thousands of SKILL.md files,
// each parsed as YAML) runs in a worker thread: the main thread keeps answering requests, and the
// garbage of parsing stays in the worker's heap, which is freed whole when it ends (in the main
// heap it grew the process by tens of MiB for good: V8 does not give such memory back). What comes
// back is compact: per folder, the names and the items' JSON, each joined into one string.
// Small scans, and any scan when no worker can be started, run in-process with the same code.
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { mapLimit, READ_CONCURRENCY } from "../workspace/fs-list.js";
import { readSkillEntry, skillFolderNames } from "../workspace/skills.js";

/** Past this many sub-folders in all the skills folders together, a scan runs in a worker. */
export const WORKER_SCAN_THRESHOLD = 2000;

/** One skills folder scanned: its skills as name -> item JSON, and the entries left out. */
export interface ScannedFolder {
  dir: string;
  items: Map<string, string>;
  skipped: Array<[file: string, reason: string]>;
}

interface WireFolder {
  dir: string;
  /** Names joined with "\n" (a folder name has no line break; one that has is left out). */
  names: string;
  /** The items' JSON joined with "\n" (JSON text has no raw line break). */
  items: string;
  skipped: Array<[string, string]>;
}

const JOB = "openwork-listing-scan";

async function scanFolder(dir: string, workspace: string, names?: string[]): Promise<ScannedFolder> {
  const items = new Map<string, string>();
  const skipped: Array<[string, string]> = [];
  const options = { onSkip: (file: string, reason: string) => void skipped.push([file, reason]), workspace };
  await mapLimit(names ?? (await skillFolderNames(dir, "project", options)), READ_CONCURRENCY, async (name) => {
    const item = await readSkillEntry(dir, name, "project", options);
    // Each item becomes its JSON as soon as it is read: a scan holds no parsed files.
    if (item) items.set(name, JSON.stringify(item));
  });
  return { dir, items, skipped };
}

/** Scans `dirs` (the skills folders of `workspace` and its parents) in this thread. */
export function scanSkillFolders(dirs: readonly string[], workspace: string): Promise<ScannedFolder[]> {
  return Promise.all(dirs.map((dir) => scanFolder(dir, workspace)));
}

/**
 * Scans `dirs`, in a worker when they hold more than WORKER_SCAN_THRESHOLD sub-folders in all
 * (falling back to this thread when a worker cannot run).
 */
export async function scanSkillFoldersAuto(dirs: readonly string[], workspace: string): Promise<ScannedFolder[]> {
  const names = await Promise.all(dirs.map((dir) => skillFolderNames(dir, "project", { workspace })));
  const total = names.reduce((sum, list) => sum + list.length, 0);
  if (total <= WORKER_SCAN_THRESHOLD) return Promise.all(dirs.map((dir, i) => scanFolder(dir, workspace, names[i])));
  try {
    return await scanInWorker(dirs, workspace);
  } catch {
    return scanSkillFolders(dirs, workspace);
  }
}

function scanInWorker(dirs: readonly string[], workspace: string): Promise<ScannedFolder[]> {
  const entry = import.meta.url;
  // From the sources (tests, `npm run dev`) the worker needs tsx to load TypeScript.
  const tsx = entry.endsWith(".ts") ? import.meta.resolve("tsx/esm/api") : null;
  const code = `
    const { workerData } = require("node:worker_threads");
    (async () => {
      if (workerData.tsx) (await import(workerData.tsx)).register();
      await import(workerData.entry);
    })();`;
  return new Promise((resolve, reject) => {
    const worker = new Worker(code, { eval: true, workerData: { job: JOB, entry, tsx, dirs, workspace } });
    worker.unref();
    worker.once("message", (folders: WireFolder[]) => {
      resolve(
        folders.map((f) => {
          const names = f.names === "" ? [] : f.names.split("\n");
          const jsons = f.items === "" ? [] : f.items.split("\n");
          return { dir: f.dir, items: new Map(names.map((name, i) => [name, jsons[i]!])), skipped: f.skipped };
        }),
      );
      void worker.terminate();
    });
    worker.once("error", reject);
    worker.once("exit", (code) => reject(new Error(`listing scan worker exited with ${code}`)));
  });
}

// In a scan worker: do the job and hand back the result.
if (!isMainThread && (workerData as { job?: string } | null)?.job === JOB) {
  const { dirs, workspace } = workerData as { dirs: string[]; workspace: string };
  void scanSkillFolders(dirs, workspace).then((folders) => {
    const wire: WireFolder[] = folders.map(({ dir, items, skipped }) => {
      const kept = [...items].filter(([name]) => !name.includes("\n"));
      return { dir, names: kept.map(([name]) => name).join("\n"), items: kept.map(([, json]) => json).join("\n"), skipped };
    });
    parentPort!.postMessage(wire);
  });
}
