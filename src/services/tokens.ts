// Scoped device tokens (SPEC 7). The store file (`tokens.json`, mode 0600, written atomically)
// holds only SHA-256 hashes: the token itself (`owt_` + 192 random bits, base64url) is shown
// once, when it is created. Revocation and expiry take effect at once: listeners (open streams,
// pending approvals) hear `ended(tokenId, reason)` the moment it happens. `lastUsedAt` is kept
// in memory and written out in batches, so a request never waits for the disk.
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { chmodSync, readFileSync, statSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { z } from "zod";
import { SCOPES, type Scope } from "../contract/routes.js";
import { writeFileAtomic } from "../workspace/atomic-file.js";
import { KeyedMutex } from "../workspace/mutex.js";

export { SCOPES, type Scope };

const RANK: Record<Scope, number> = { viewer: 0, collaborator: 1, owner: 2 };

/** True when `have` is at least `need`. */
export function scopeCovers(have: Scope, need: Scope): boolean {
  return RANK[have] >= RANK[need];
}

export const TOKEN_PREFIX = "owt_";
/** What a scoped token looks like; anything else after the prefix is `malformed`. */
export const SCOPED_TOKEN_PATTERN = /^owt_[A-Za-z0-9_-]{22,128}$/;
export const LABEL_MAX = 64;
/** Longest life a token may be given (a year); none means it lasts until revoked. */
export const MAX_EXPIRES_IN_MS = 366 * 24 * 60 * 60 * 1000;
export const MIN_EXPIRES_IN_MS = 1000;
/** How long revoked and expired entries stay in the store, so their holders hear why. */
const TOMBSTONE_MS = 30 * 24 * 60 * 60 * 1000;
/** How often `lastUsedAt` is written out. */
const TOUCH_FLUSH_MS = 30_000;
/** setTimeout's longest delay. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Who added a token: the host, the client token, or another device (id and label from the store). */
const creatorSchema = z.object({
  type: z.enum(["token", "legacy", "host"]),
  tokenId: z.string().optional(),
  label: z.string().optional(),
});
export type TokenCreator = z.infer<typeof creatorSchema>;

const recordSchema = z.object({
  id: z.string().min(1),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  scope: z.enum(SCOPES),
  label: z.string(),
  createdAt: z.number(),
  expiresAt: z.number().optional(),
  lastUsedAt: z.number().optional(),
  workspaces: z.array(z.string()).optional(),
  revokedAt: z.number().optional(),
  createdBy: creatorSchema.optional(),
});
const storeSchema = z.object({ schemaVersion: z.literal(1), tokens: z.array(recordSchema) });

export type TokenRecord = z.infer<typeof recordSchema>;

/** A token as listed: never its hash. */
export interface TokenInfo {
  id: string;
  scope: Scope;
  label: string;
  createdAt: number;
  expiresAt?: number;
  lastUsedAt?: number;
  workspaces?: string[];
  createdBy?: TokenCreator;
}

export type TokenEndReason = "revoked" | "expired";
export type TokenState = "active" | TokenEndReason;

/** A token as listed with its state: ended ones are kept a while, so the host sees why a device stopped. */
export interface TokenListing extends TokenInfo {
  state: TokenState;
  revokedAt?: number;
}
export type Resolution = { ok: true; record: TokenRecord } | { ok: false; reason: "unknown" | TokenEndReason };

export interface NewToken {
  scope: Scope;
  label: string;
  expiresInMs?: number;
  workspaces?: string[];
  createdBy?: TokenCreator;
}

export class TokenStoreError extends Error {
  override name = "TokenStoreError";
}

const sha256 = (value: string) => createHash("sha256").update(value, "utf8").digest("hex");

function publicInfo(r: TokenRecord): TokenInfo {
  return {
    id: r.id,
    scope: r.scope,
    label: r.label,
    createdAt: r.createdAt,
    ...(r.expiresAt !== undefined ? { expiresAt: r.expiresAt } : {}),
    ...(r.lastUsedAt !== undefined ? { lastUsedAt: r.lastUsedAt } : {}),
    ...(r.workspaces ? { workspaces: [...r.workspaces] } : {}),
    ...(r.createdBy ? { createdBy: { ...r.createdBy } } : {}),
  };
}

export class TokenStore {
  private readonly byId = new Map<string, TokenRecord>();
  private readonly byHash = new Map<string, TokenRecord>();
  private readonly listeners = new Set<(tokenId: string, reason: TokenEndReason) => void>();
  /** Expired tokens already announced, so each is announced once. */
  private readonly announced = new Set<string>();
  private readonly writes = new KeyedMutex();
  private expiryTimer: NodeJS.Timeout | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private closed = false;

  /**
   * Loads the store (synchronously, so a broken file stops startup with a clear message).
   * `path` null keeps tokens in memory only (in-process tests).
   */
  constructor(
    readonly path: string | null,
    private readonly now: () => number = Date.now,
  ) {
    if (path) for (const record of readStoreFile(path)) this.index(record);
    this.scheduleExpiry();
  }

  private index(record: TokenRecord): void {
    this.byId.set(record.id, record);
    this.byHash.set(record.hash, record);
  }

  /** Who holds `token`, or why it does not count. Never throws. */
  resolve(token: string): Resolution {
    const record = this.byHash.get(sha256(token));
    if (!record) return { ok: false, reason: "unknown" };
    if (record.revokedAt !== undefined) return { ok: false, reason: "revoked" };
    if (record.expiresAt !== undefined && record.expiresAt <= this.now()) return { ok: false, reason: "expired" };
    return { ok: true, record };
  }

  /** The active (not revoked, not expired) token with this id. */
  get(id: string): TokenRecord | undefined {
    const record = this.byId.get(id);
    if (!record || record.revokedAt !== undefined) return undefined;
    if (record.expiresAt !== undefined && record.expiresAt <= this.now()) return undefined;
    return record;
  }

  /** Active tokens, oldest first. */
  list(): TokenInfo[] {
    return [...this.byId.keys()]
      .map((id) => this.get(id))
      .filter((r): r is TokenRecord => r !== undefined)
      .sort((a, b) => a.createdAt - b.createdAt)
      .map(publicInfo);
  }

  /** Every token the store still holds, ended ones (revoked or expired, for TOMBSTONE_MS) included, oldest first. */
  listAll(): TokenListing[] {
    const now = this.now();
    return [...this.byId.values()]
      .sort((a, b) => a.createdAt - b.createdAt)
      .map((r) => {
        const state: TokenState =
          r.revokedAt !== undefined ? "revoked" : r.expiresAt !== undefined && r.expiresAt <= now ? "expired" : "active";
        return { ...publicInfo(r), state, ...(r.revokedAt !== undefined ? { revokedAt: r.revokedAt } : {}) };
      });
  }

  async create(input: NewToken): Promise<{ info: TokenInfo; token: string }> {
    const token = `${TOKEN_PREFIX}${randomBytes(24).toString("base64url")}`;
    const createdAt = this.now();
    const record: TokenRecord = {
      id: `tok_${randomUUID().replace(/-/g, "").slice(0, 16)}`,
      hash: sha256(token),
      scope: input.scope,
      label: input.label,
      createdAt,
      ...(input.expiresInMs !== undefined ? { expiresAt: createdAt + input.expiresInMs } : {}),
      ...(input.workspaces ? { workspaces: [...input.workspaces] } : {}),
      ...(input.createdBy ? { createdBy: { ...input.createdBy } } : {}),
    };
    this.index(record);
    try {
      await this.save();
    } catch (error) {
      this.byId.delete(record.id);
      this.byHash.delete(record.hash);
      throw error;
    }
    this.scheduleExpiry();
    return { info: publicInfo(record), token };
  }

  /** Revokes an active token; false when there is none with that id. Listeners hear of it at once. */
  async revoke(id: string): Promise<boolean> {
    const record = this.get(id);
    if (!record) return false;
    record.revokedAt = this.now();
    try {
      await this.save();
    } catch (error) {
      delete record.revokedAt;
      throw error;
    }
    this.emit(id, "revoked");
    return true;
  }

  /** Notes a use; written out within TOUCH_FLUSH_MS, never on the request's path. */
  touch(record: TokenRecord): void {
    record.lastUsedAt = this.now();
    if (this.flushTimer || !this.path || this.closed) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.save().catch(() => {}); // retried with the next use
    }, TOUCH_FLUSH_MS);
    this.flushTimer.unref?.();
  }

  /** Hears every revocation and expiry. Returns the unsubscribe function. */
  onEnd(listener: (tokenId: string, reason: TokenEndReason) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.expiryTimer);
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
      await this.save().catch(() => {});
    }
  }

  private emit(id: string, reason: TokenEndReason): void {
    for (const listener of this.listeners) {
      try {
        listener(id, reason);
      } catch {
        // One failing listener must not keep the others from hearing it.
      }
    }
  }

  /** Announces tokens that have expired, then waits for the next expiry. */
  private scheduleExpiry(): void {
    clearTimeout(this.expiryTimer);
    if (this.closed) return;
    const now = this.now();
    let next = Number.POSITIVE_INFINITY;
    for (const record of this.byId.values()) {
      if (record.expiresAt === undefined || record.revokedAt !== undefined || this.announced.has(record.id)) continue;
      if (record.expiresAt <= now) {
        this.announced.add(record.id);
        this.emit(record.id, "expired");
      } else next = Math.min(next, record.expiresAt);
    }
    if (next === Number.POSITIVE_INFINITY) return;
    this.expiryTimer = setTimeout(() => this.scheduleExpiry(), Math.min(MAX_TIMER_MS, Math.max(0, next - now)));
    this.expiryTimer.unref?.();
  }

  /** Writes the whole store (0600, atomically); tombstones older than TOMBSTONE_MS are dropped. */
  private save(): Promise<void> {
    const path = this.path;
    if (!path) return Promise.resolve();
    return this.writes.run("store", async () => {
      const cutoff = this.now() - TOMBSTONE_MS;
      for (const record of [...this.byId.values()]) {
        const ended = record.revokedAt ?? (record.expiresAt !== undefined && record.expiresAt <= this.now() ? record.expiresAt : undefined);
        if (ended !== undefined && ended < cutoff) {
          this.byId.delete(record.id);
          this.byHash.delete(record.hash);
        }
      }
      const body = { schemaVersion: 1, tokens: [...this.byId.values()] };
      // A folder made for the store is the user's alone (~/.config/openwork may not exist yet).
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      await writeFileAtomic(path, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600 });
    });
  }
}

/** The records of a store file; none when it does not exist. A file others can read is tightened to 0600. */
function readStoreFile(path: string): TokenRecord[] {
  let text: string;
  try {
    const info = statSync(path);
    if (!info.isFile()) throw new TokenStoreError(`Token store ${path} is not a regular file`);
    if ((info.mode & 0o077) !== 0) chmodSync(path, 0o600);
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as { code?: string }).code === "ENOENT") return [];
    if (error instanceof TokenStoreError) throw error;
    throw new TokenStoreError(`Cannot read token store ${path}: ${(error as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new TokenStoreError(`Token store ${path} is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = storeSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TokenStoreError(`Token store ${path}: invalid value at "${issue?.path.join(".") || "(top level)"}": ${issue?.message}`);
  }
  return parsed.data.tokens;
}
