// The audit log: one JSON object per line in `.opencode/openwork/audit.jsonl` of each workspace.
// Appends happen under the workspace's write lock; reads go backwards from the end of the file
// so a long history costs only what is asked for, and a torn last line is skipped.
import { randomUUID } from "node:crypto";
import { mkdir, open, stat } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { ApiError } from "../errors.js";
import { isNotFound } from "../workspace/atomic-file.js";
import { AUDIT_LOG } from "../workspace/layout.js";
import { resolveInside } from "../workspace/paths.js";
import { FILE_LIMITS, openRegularFile } from "../workspace/safe-fs.js";

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

export class AuditLog {
  /** The log file of a workspace; 400 path_escape when it resolves outside it (a symlink). */
  file(root: string): string {
    return resolveInside(root, AUDIT_LOG);
  }

  /**
   * Proves an entry could be appended, before a write is approved and made: the log stays inside
   * the workspace, and no file sits where one of its folders must be (422 invalid_file). A write
   * whose audit entry would fail is refused up front, never made and left unaudited.
   */
  async assertAppendable(root: string): Promise<void> {
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
    const file = this.file(root);
    await mkdir(dirname(file), { recursive: true });
    const handle = await open(file, "a", 0o600);
    try {
      // One write call per entry: O_APPEND keeps whole lines even if another process appends too.
      await handle.write(`${JSON.stringify(full)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
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
