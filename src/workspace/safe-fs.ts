// Reading files we serve without being tricked by what lies on disk. Every reader of workspace
// files (config, skills, commands, plugins' global config, the audit tail, export) goes through
// openRegularFile / readRegularFile, which:
// - resolve the real path and refuse it when it lies outside the file's root (a symlink out):
//   400 path_escape;
// - read only regular files: the real path is opened with O_NOFOLLOW | O_NONBLOCK | O_NOCTTY and
//   fstat'ed before a byte is read. A FIFO, a device or a socket is never read (a FIFO would hang
//   the request and a thread of the pool, /dev/zero would fill the heap): 422 invalid_file;
// - refuse a symlink loop and a file we may not read (422 invalid_file), never a 500;
// - refuse a regular file with more than one hard link (its other name may be anywhere on the
//   host): 422 invalid_file;
// - read at most a size cap (checked on the size and again while reading): 422 invalid_file.
// A missing file is null; a folder in the file's place is reported as such so callers choose.
// readRegularFileSync makes the same checks with synchronous calls, for the one file a write plan
// reads (a trip through the thread pool per call costs more than the call).
import { closeSync, constants, fstatSync, openSync, readSync, realpathSync, type Stats } from "node:fs";
import { type FileHandle, open, realpath } from "node:fs/promises";
import { ApiError, badRequest } from "../errors.js";
import { isNotFound } from "./atomic-file.js";
import { displayPath, isInside } from "./paths.js";

const KiB = 1024;
const MiB = 1024 * KiB;

/** Largest file each reader accepts; a bigger one is a 422 invalid_file (or a skipped listing entry). */
export const FILE_LIMITS = {
  /**
   * opencode.json(c), .opencode/openwork.json, the global OpenCode config. A real one is a few
   * KiB; parsing 1 MiB takes ~50 ms of the event loop (every config route parses it).
   */
  config: 1 * MiB,
  /** A SKILL.md (the request body cap is 1 MiB, so a skill this size can still be imported). */
  skill: 1 * MiB,
  /** A command file (`.opencode/commands/*.md`). */
  command: 256 * KiB,
  /** An agent file (`.opencode/agents/*.md`), for the agents module to come. */
  agent: 256 * KiB,
  /** One line of the audit log; a longer one is skipped as damaged. */
  auditLine: 64 * KiB,
} as const;

// Windows has neither flag; there are no FIFOs to hang on there in the same way.
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0);

export interface ContainedFileOptions {
  /**
   * The folder the file must lie in after symlinks are resolved: the workspace for its own
   * files, a parent folder for that folder's skills, a global folder for global ones.
   */
  root: string;
  /** Names the file in errors; defaults to its path relative to `root`. */
  label?: string;
  /** Names the root in errors ("the workspace" unless told). */
  rootLabel?: string;
  /** `root`'s real path when the caller already has it (a listing reads many files of one root). */
  realRoot?: string;
}

export interface ReadOptions extends ContainedFileOptions {
  maxBytes: number;
}

/**
 * 413 payload_too_large when `text` would make a file over `maxBytes`: the server never writes a
 * file it would then refuse to read.
 */
export function assertFileSize(text: string, maxBytes: number, label: string): void {
  if (text.length > maxBytes / 3 && Buffer.byteLength(text) > maxBytes) {
    throw new ApiError(413, "payload_too_large", `${label} would be larger than ${maxBytes} bytes`, { file: label, maxBytes });
  }
}

/** Why a file was refused, in `details.reason` of the error. */
export type RefusalReason = "outside_root" | "special_file" | "hard_link" | "too_large" | "folder" | "link_loop" | "unreadable";

function refused(label: string, reason: RefusalReason, message: string, extra: Record<string, unknown> = {}): ApiError {
  if (reason === "outside_root") return badRequest("path_escape", `${label} ${message}`, { file: label, reason, ...extra });
  return new ApiError(422, "invalid_file", `${label} ${message}`, { file: label, reason, ...extra });
}

function kindOf(info: Stats): string {
  if (info.isFIFO()) return "a FIFO";
  if (info.isCharacterDevice()) return "a character device";
  if (info.isBlockDevice()) return "a block device";
  if (info.isSocket()) return "a socket";
  if (info.isSymbolicLink()) return "a symlink";
  return "not a regular file";
}

/** The refusal error's reason, when `error` is one (for listings' skipped-items log). */
export function refusalReason(error: unknown): RefusalReason | undefined {
  const details = (error as ApiError | undefined)?.details;
  return error instanceof ApiError ? (details?.reason as RefusalReason | undefined) : undefined;
}

/** True for the 422 a folder standing where the file should be gets. */
export function isFolderRefusal(error: unknown): boolean {
  return refusalReason(error) === "folder";
}

/**
 * Whether `path` lies inside `root` after symlinks are resolved (both must exist; a missing one
 * counts as inside, since nothing can be read through it).
 */
export async function resolvesInside(root: string, path: string): Promise<boolean> {
  let realRoot: string;
  let real: string;
  try {
    [realRoot, real] = await Promise.all([realpath(root), realpath(path)]);
  } catch (error) {
    if (isNotFound(error) || (error as { code?: string }).code === "ELOOP") return true;
    throw error;
  }
  return isInside(realRoot, real);
}

/**
 * Opens a regular file that lies inside `root`, for reading. Null when nothing is there. Throws
 * 400 path_escape (outside its root) or 422 invalid_file (a folder, FIFO, device or socket, a
 * hard-linked file, a symlink loop), with `details.reason`. The caller closes the handle.
 */
export async function openRegularFile(
  file: string,
  options: ContainedFileOptions,
): Promise<{ handle: FileHandle; info: Stats; label: string } | null> {
  const label = options.label ?? displayPath(options.root, file);
  let real: string;
  let realRoot: string;
  try {
    [real, realRoot] = await Promise.all([realpath(file), options.realRoot ?? realpath(options.root)]);
  } catch (error) {
    return realPathRefusal(error, label);
  }
  assertInsideRoot(realRoot, real, label, options);
  // The real path has no symlink in it; O_NOFOLLOW refuses one swapped in at its end since, and
  // O_NONBLOCK makes opening a FIFO return at once (a device would be outside any root: realpath).
  let handle: FileHandle;
  try {
    handle = await open(real, OPEN_FLAGS);
  } catch (error) {
    return openRefusal(error, label);
  }
  try {
    return { handle, info: assertRegular(await handle.stat(), label), label };
  } catch (error) {
    await handle.close().catch(() => {});
    throw error;
  }
}

/**
 * readRegularFile for one small file, without a trip through the thread pool per call: for a write
 * planning the one file it replaces. (A listing reads many files: it uses readRegularFile, which
 * lets other requests run between them.) The same checks, errors and null.
 */
export function readRegularFileSync(file: string, options: ReadOptions): string | null {
  const label = options.label ?? displayPath(options.root, file);
  let real: string;
  let realRoot: string;
  try {
    real = realpathSync.native(file);
    realRoot = options.realRoot ?? realpathSync.native(options.root);
  } catch (error) {
    return realPathRefusal(error, label);
  }
  assertInsideRoot(realRoot, real, label, options);
  let fd: number;
  try {
    fd = openSync(real, OPEN_FLAGS);
  } catch (error) {
    return openRefusal(error, label);
  }
  try {
    const info = assertRegular(fstatSync(fd), label);
    if (info.size > options.maxBytes) throw tooLarge(label, options.maxBytes);
    const reads = cappedReads(info.size, options.maxBytes, label);
    let step = reads.next();
    while (!step.done) {
      const { buffer, offset, length } = step.value;
      step = reads.next(readSync(fd, buffer, offset, length, offset));
    }
    return step.value.toString("utf8");
  } finally {
    closeSync(fd);
  }
}

/** A missing file (or a dangling link) is null; other failures to resolve a path are refusals. */
function realPathRefusal(error: unknown, label: string): null {
  if (isNotFound(error)) return null;
  const code = (error as { code?: string }).code;
  if (code === "ELOOP") throw refused(label, "link_loop", "is a symlink loop");
  if (code === "EACCES" || code === "EPERM") throw refused(label, "unreadable", "cannot be read (permission denied)");
  throw error;
}

function assertInsideRoot(realRoot: string, real: string, label: string, options: ContainedFileOptions): void {
  if (!isInside(realRoot, real)) {
    throw refused(label, "outside_root", `resolves outside ${options.rootLabel ?? "the workspace"} through a symlink`);
  }
}

/** A file gone since its path was resolved is null; other failures to open it are refusals. */
function openRefusal(error: unknown, label: string): null {
  const code = (error as { code?: string }).code;
  if (isNotFound(error)) return null;
  if (code === "EISDIR") throw refused(label, "folder", "is a folder, not a file");
  if (code === "ELOOP") throw refused(label, "link_loop", "was replaced by a symlink while being read");
  if (code === "EACCES" || code === "EPERM") throw refused(label, "unreadable", "cannot be read (permission denied)");
  // ENXIO: a socket (or a FIFO opened for writing); nothing a reader can use.
  if (code === "ENXIO" || code === "EOPNOTSUPP") throw refused(label, "special_file", "is not a regular file");
  throw error;
}

/** The opened file's stat when it is a regular file with one name; a refusal otherwise. */
function assertRegular(info: Stats, label: string): Stats {
  if (info.isDirectory()) throw refused(label, "folder", "is a folder, not a file");
  if (!info.isFile()) throw refused(label, "special_file", `is ${kindOf(info)}, not a regular file`);
  if (info.nlink > 1) {
    throw refused(label, "hard_link", `has ${info.nlink} hard links: its other names may be outside the workspace`, {
      links: info.nlink,
    });
  }
  return info;
}

/** The real path of a root, once for a whole listing (openRegularFile's `realRoot`); the path itself when missing. */
export async function realRoot(root: string): Promise<string> {
  try {
    return await realpath(root);
  } catch (error) {
    if (isNotFound(error)) return root;
    throw error;
  }
}

/**
 * The reads that take at most `max` bytes of a file of `size` bytes: yields each read to make (its
 * buffer, offset and length; the offset is also the file position), is sent the bytes it read,
 * returns the bytes. Throws when there are more than `max` (the file grew). One loop for the
 * async reader and the sync one.
 */
function* cappedReads(
  size: number,
  max: number,
  label: string,
): Generator<{ buffer: Buffer; offset: number; length: number }, Buffer, number> {
  // One byte more than the size tells a file that grew from one that did not: a short read of a
  // regular file is its end, so the usual case is a single read.
  let buffer = Buffer.allocUnsafe(Math.min(size, max) + 1);
  let total = 0;
  for (;;) {
    if (total === buffer.length) {
      if (buffer.length > max) throw tooLarge(label, max);
      const bigger = Buffer.allocUnsafe(Math.min(buffer.length * 2, max + 1));
      buffer.copy(bigger, 0, 0, total);
      buffer = bigger;
    }
    const bytesRead = yield { buffer, offset: total, length: buffer.length - total };
    total += bytesRead;
    if (bytesRead === 0 || total < buffer.length) break;
  }
  if (total > max) throw tooLarge(label, max);
  return buffer.subarray(0, total);
}

/** At most `max` bytes from an open handle; throws when there are more (the file grew). */
async function readCapped(handle: FileHandle, size: number, max: number, label: string): Promise<Buffer> {
  const reads = cappedReads(size, max, label);
  let step = reads.next();
  while (!step.done) {
    const { buffer, offset, length } = step.value;
    step = reads.next((await handle.read(buffer, offset, length, offset)).bytesRead);
  }
  return step.value;
}

const tooLarge = (label: string, max: number) => refused(label, "too_large", `is larger than ${max} bytes`, { maxBytes: max });

/**
 * The UTF-8 text of a regular file inside `root`, at most `maxBytes`; null when it does not
 * exist. Throws like openRegularFile, and 422 invalid_file (`reason: "too_large"`) over the cap.
 */
export async function readRegularFile(file: string, options: ReadOptions): Promise<string | null> {
  const opened = await openRegularFile(file, options);
  if (!opened) return null;
  const { handle, info, label } = opened;
  try {
    if (info.size > options.maxBytes) throw tooLarge(label, options.maxBytes);
    return (await readCapped(handle, info.size, options.maxBytes, label)).toString("utf8");
  } finally {
    await handle.close().catch(() => {});
  }
}
