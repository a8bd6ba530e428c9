// The audit log: one JSON object per line in `.opencode/openwork/audit.jsonl` of each workspace.
// Appends happen under the workspace's write lock; reads go backwards from the end of the file
// so a long history costs only what is asked for, and a torn last line is skipped.
import { randomUUID } from "node:crypto";
import { mkdir, open, stat } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { ApiError } from "../errors.js";
import type { Actor } from "../http/auth.js";
import { isNotFound } from "../workspace/atomic-file.js";
import { AUDIT_LOG } from "../workspace/layout.js";
import { resolveInside } from "../workspace/paths.js";
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
