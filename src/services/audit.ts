// The audit log: one JSON object per line in `.opencode/openwork/audit.jsonl` of each workspace.
// Appends happen under the workspace's write lock; reads go backwards from the end of the file
// so a long history costs only what is asked for, and a torn last line is skipped.
//
// Each workspace's log stays open for appending between writes (one write and one fsync per
// entry, no open and close). Before each append the path is checked to still lead to the open
// file (same device and inode): a log deleted, moved or replaced underneath is opened again, with
// the containment and file-type checks an open always makes.

import { randomUUID } from "node:crypto";
import { constants, statSync, writeSync } from "node:fs";
import { type FileHandle, mkdir, open, stat } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { ApiError } from "../errors.js";
import type { Actor } from "../http/auth.js";
import { isNotFound } from "../workspace/atomic-file.js";
import { AUDIT_LOG } from "../workspace/layout.js";
import { resolveInside, resolveWriteTarget } from "../workspace/paths.js";
import { FILE_LIMITS, openRegularFile } from "../workspace/safe-fs.js";
import type { DecidedBy } from "./approvals.js";

export type { Actor };

/** How a write request ended (SPEC 8): every request is audited, not only the applied ones. */
export const OUTCOMES = ["applied", "denied", "timeout", "withdrawn", "shutdown", "failed", "changed_since_approval"] as const;
export type Outcome = (typeof OUTCOMES)[number];

export interface AuditEntry {
  id: string;
  workspaceId: string;
  actor: Actor;
  action: string;
  target: string;
  summary: string;
  timestamp: number;
  outcome: Outcome;
  /** `auto`, `host`, the owner token (`{ tokenId, label }`) or the grant (`{ grantId }`) that decided. */
  decidedBy?: DecidedBy;
  decidedAt?: number;
  /** The approval request, when one was made. */
  requestId?: string;
  /** Workspace-relative paths the write touched (or would have). */
  paths?: string[];
  /** The hash of the planned bytes the decision was about. */
  changeHash?: string;
  /** Why a write failed (an error code). */
  error?: string;
}

export type NewAuditEntry = Omit<AuditEntry, "id" | "timestamp">;

const CHUNK = 64 * 1024;

interface OpenLog {
  /** The path the log was opened by (already proven to lie inside the workspace). */
  file: string;
  handle: FileHandle;
  dev: number;
  ino: number;
}

/**
 * Append-only, create if missing; a FIFO standing there cannot block the open, and a symlink in
 * the log's own place is not followed.
 */
const APPEND_FLAGS =
  constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | (constants.O_NONBLOCK ?? 0) | (constants.O_NOFOLLOW ?? 0);

/** The file's stat, or null when nothing is there (or it cannot be statted). Synchronous: once per write. */
function statIfThere(path: string): import("node:fs").Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

/** A log with other hard links would add our lines to a file elsewhere (a shell profile, say). */
function refuseHardLink(info: { nlink: number }): void {
  if (info.nlink <= 1) return;
  throw new ApiError(422, "invalid_file", `${AUDIT_LOG} has other hard links; the audit log must be a file of its own`, {
    file: AUDIT_LOG,
    reason: "hard_link",
  });
}

export class AuditLog {
  private readonly open = new Map<string, OpenLog>();

  /** The log file of a workspace; 400 path_escape when it resolves outside it (a symlink). */
  file(root: string): string {
    return resolveInside(root, AUDIT_LOG);
  }

  /** The open log of `root`, if the path still leads to it. */
  private async current(root: string): Promise<OpenLog | null> {
    const log = this.open.get(root);
    if (!log) return null;
    const info = statIfThere(log.file);
    if (info && info.dev === log.dev && info.ino === log.ino) return log;
    this.open.delete(root);
    await log.handle.close().catch(() => {});
    return null;
  }

  private async openLog(root: string): Promise<OpenLog> {
    // Written like every other file: never through a link (a linked `.opencode` or log), and only
    // a file of its own (a hard link would add our lines to a file elsewhere).
    const file = resolveWriteTarget(root, AUDIT_LOG);
    await mkdir(dirname(file), { recursive: true });
    const handle = await open(file, APPEND_FLAGS, 0o600).catch((error) => {
      if ((error as { code?: string }).code === "ELOOP") {
        throw new ApiError(422, "symlink_in_path", `${AUDIT_LOG} is a symlink; the audit log is never written through one`, {
          path: AUDIT_LOG,
        });
      }
      throw error;
    });
    try {
      const info = await handle.stat();
      if (!info.isFile()) {
        throw new ApiError(422, "invalid_file", `${AUDIT_LOG} must be a regular file for the audit log`, { file: AUDIT_LOG });
      }
      refuseHardLink(info);
      const log: OpenLog = { file, handle, dev: info.dev, ino: info.ino };
      this.open.set(root, log);
      return log;
    } catch (error) {
      await handle.close().catch(() => {});
      throw error;
    }
  }

  /** Closes the open logs (server shutdown). */
  async close(): Promise<void> {
    const logs = [...this.open.values()];
    this.open.clear();
    await Promise.all(logs.map((log) => log.handle.close().catch(() => {})));
  }

  /**
   * Proves an entry could be appended, before a write is approved and made: the log stays inside
   * the workspace, and no file sits where one of its folders must be (422 invalid_file). A write
   * whose audit entry would fail is refused up front, never made and left unaudited.
   */
  async assertAppendable(root: string): Promise<void> {
    if (await this.current(root)) return; // open, and the path still leads to it
    const file = resolveWriteTarget(root, AUDIT_LOG);
    const expect: Array<[string, "folder" | "file"]> = [
      [join(root, ".opencode"), "folder"],
      [dirname(file), "folder"],
      [file, "file"],
    ];
    for (const [path, kind] of expect) {
      let info: import("node:fs").Stats;
      try {
        info = await stat(path);
      } catch (error) {
        if (isNotFound(error)) return; // created on the first append
        throw error;
      }
      if (kind === "folder" ? !info.isDirectory() : !info.isFile()) {
        const name = relative(root, path).split(sep).join("/");
        throw new ApiError(422, "invalid_file", `${name} must be a ${kind} for the audit log`, { file: name });
      }
      if (kind === "file") refuseHardLink(info);
    }
  }

  async append(root: string, entry: NewAuditEntry): Promise<AuditEntry> {
    const full: AuditEntry = { id: `audit_${randomUUID()}`, ...entry, timestamp: Date.now() };
    const log = (await this.current(root)) ?? (await this.openLog(root));
    // One write call per entry: O_APPEND keeps whole lines even if another process appends too.
    writeSync(log.handle.fd, `${JSON.stringify(full)}\n`);
    await log.handle.sync();
    return full;
  }

  /**
   * The newest `limit` entries, newest first. The log is opened only as a regular file inside the
   * workspace (a folder, FIFO or device there is a 422 invalid_file, never a hang); a line longer
   * than FILE_LIMITS.auditLine is skipped as damaged, and at most `limit + 1` such lengths are
   * scanned, so a log of blank or giant lines cannot make a read walk the whole file.
   */
  async tail(root: string, limit: number): Promise<AuditEntry[]> {
    const opened = await openRegularFile(this.file(root), { root, label: AUDIT_LOG });
    if (!opened) return [];
    const { handle, info } = opened;
    try {
      const size = info.size;
      const maxLine = FILE_LIMITS.auditLine;
      const budget = (limit + 1) * maxLine;
      const items: AuditEntry[] = [];
      const take = (line: Buffer) => {
        const entry = parseEntry(line.toString("utf8").trim());
        if (entry) items.push(entry); // blank, torn or damaged lines are skipped
      };
      let position = size;
      let carry = Buffer.alloc(0);
      let overlong = false; // the line being read is already over the cap: drop it
      while (position > 0 && items.length < limit && size - position < budget) {
        const length = Math.min(CHUNK, position);
        position -= length;
        const chunk = Buffer.alloc(length);
        await handle.read(chunk, 0, length, position);
        const buffer = overlong ? chunk : Buffer.concat([chunk, carry]);
        let end = buffer.length;
        for (let i = buffer.length - 1; i >= 0 && items.length < limit; i--) {
          if (buffer[i] !== 10) continue;
          if (!overlong) take(buffer.subarray(i + 1, end));
          overlong = false;
          end = i;
        }
        // What precedes the first newline may be the tail of a line in the previous chunk.
        carry = overlong ? Buffer.alloc(0) : Buffer.from(buffer.subarray(0, end));
        if (carry.length > maxLine) {
          overlong = true;
          carry = Buffer.alloc(0);
        }
        if (position === 0 && items.length < limit && !overlong) take(carry);
      }
      return items;
    } finally {
      await handle.close();
    }
  }

  /** When the last applied write happened (denied and failed requests change nothing). */
  async lastTimestamp(root: string): Promise<number | null> {
    for (let limit = 8; ; limit *= 8) {
      const entries = await this.tail(root, limit);
      const applied = entries.find((e) => e.outcome === "applied");
      if (applied || entries.length < limit || limit >= 4096) return applied?.timestamp ?? null;
    }
  }
}

function parseEntry(text: string): AuditEntry | null {
  if (text === "") return null;
  try {
    const value = JSON.parse(text) as AuditEntry;
    if (!value || typeof value !== "object" || typeof value.action !== "string") return null;
    value.actor = currentActor(value.actor);
    value.outcome ??= "applied"; // entries from before outcomes were recorded were successes
    return value;
  } catch {
    return null;
  }
}

/**
 * Entries written before scoped tokens had `{ type: "remote" | "host", tokenHash? }`: read them as
 * today's actors, and never hand out the old fingerprint (no part of a token's hash is shown).
 */
function currentActor(raw: unknown): Actor {
  const old = (raw && typeof raw === "object" ? raw : {}) as Record<string, unknown>;
  const type = old.type === "host" || old.type === "token" || old.type === "legacy" ? old.type : "legacy";
  const scope =
    old.scope === "viewer" || old.scope === "collaborator" || old.scope === "owner"
      ? old.scope
      : type === "host"
        ? "owner"
        : "collaborator";
  const actor: Actor = { type, scope };
  for (const key of ["tokenId", "label", "clientId"] as const) if (typeof old[key] === "string") actor[key] = old[key] as string;
  return actor;
}
