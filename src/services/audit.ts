// The audit log: one JSON object per line in `.opencode/openwork/audit.jsonl` of each workspace.
// Appends happen under the workspace's write lock; reads go backwards from the end of the file
// so a long history costs only what is asked for, and a torn last line is skipped.
//
// Each workspace's log stays open for appending between writes (one write and one fsync per
// entry, no open and close). Before each append the path is checked to still lead to the open
// file (same device and inode): a log deleted, moved or replaced underneath is opened again, with
// the containment and file-type checks an open always makes.

import { randomUUID } from "node:crypto";
import { constants } from "node:fs";
import { type FileHandle, mkdir, open, stat } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { ApiError } from "../errors.js";
import { isNotFound } from "../workspace/atomic-file.js";
import { AUDIT_LOG } from "../workspace/layout.js";
import { resolveInside } from "../workspace/paths.js";

export type ActorType = "remote" | "host";

export interface Actor {
  type: ActorType;
  clientId?: string;
  tokenHash?: string;
}

export interface AuditEntry {
  id: string;
  workspaceId: string;
  actor: Actor;
  action: string;
  target: string;
  summary: string;
  timestamp: number;
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

/** Append-only, create if missing; a FIFO standing there cannot block the open. */
const APPEND_FLAGS = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | (constants.O_NONBLOCK ?? 0);

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
    const info = await stat(log.file).catch(() => null);
    if (info && info.dev === log.dev && info.ino === log.ino) return log;
    this.open.delete(root);
    await log.handle.close().catch(() => {});
    return null;
  }

  private async openLog(root: string): Promise<OpenLog> {
    const file = this.file(root);
    await mkdir(dirname(file), { recursive: true });
    const handle = await open(file, APPEND_FLAGS, 0o600);
    try {
      const info = await handle.stat();
      if (!info.isFile()) {
        throw new ApiError(422, "invalid_file", `${AUDIT_LOG} must be a regular file for the audit log`, { file: AUDIT_LOG });
      }
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
    const file = this.file(root);
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
    }
  }

  async append(root: string, entry: NewAuditEntry): Promise<AuditEntry> {
    const full: AuditEntry = { id: `audit_${randomUUID()}`, ...entry, timestamp: Date.now() };
    const log = (await this.current(root)) ?? (await this.openLog(root));
    // One write call per entry: O_APPEND keeps whole lines even if another process appends too.
    await log.handle.write(`${JSON.stringify(full)}\n`);
    await log.handle.sync();
    return full;
  }

  /** The newest `limit` entries, newest first. */
  async tail(root: string, limit: number): Promise<AuditEntry[]> {
    let handle: import("node:fs/promises").FileHandle;
    try {
      handle = await open(this.file(root), "r");
    } catch (error) {
      if (isNotFound(error)) return [];
      throw error;
    }
    try {
      const { size } = await handle.stat();
      const items: AuditEntry[] = [];
      const take = (line: Buffer) => {
        const entry = parseEntry(line.toString("utf8").trim());
        if (entry) items.push(entry); // blank, torn or damaged lines are skipped
      };
      let position = size;
      let carry = Buffer.alloc(0);
      while (position > 0 && items.length < limit) {
        const length = Math.min(CHUNK, position);
        position -= length;
        const chunk = Buffer.alloc(length);
        await handle.read(chunk, 0, length, position);
        const buffer = Buffer.concat([chunk, carry]);
        let end = buffer.length;
        for (let i = buffer.length - 1; i >= 0 && items.length < limit; i--) {
          if (buffer[i] !== 10) continue;
          take(buffer.subarray(i + 1, end));
          end = i;
        }
        // What precedes the first newline may be the tail of a line in the previous chunk.
        carry = Buffer.from(buffer.subarray(0, end));
        if (position === 0 && items.length < limit) take(carry);
      }
      return items;
    } finally {
      await handle.close();
    }
  }

  async lastTimestamp(root: string): Promise<number | null> {
    const [last] = await this.tail(root, 1);
    return last?.timestamp ?? null;
  }
}

function parseEntry(text: string): AuditEntry | null {
  if (text === "") return null;
  try {
    const value = JSON.parse(text) as AuditEntry;
    return value && typeof value === "object" && typeof value.action === "string" ? value : null;
  } catch {
    return null;
  }
}
