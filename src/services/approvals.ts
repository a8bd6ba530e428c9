// Host approval of writes (SPEC 8). In manual mode each write waits as a pending request, keyed by
// id, carrying exactly what it will change (diffs, risks, the hash the approval binds to), until an
// owner allows or denies it, its timeout passes, its client goes away (withdrawn), its token is
// revoked (withdrawn) or the server stops (shutdown). Subscribers (the approvals stream) hear about
// every request and its outcome. What one client can queue is bounded: pending requests per
// credential and in total.
import { randomUUID } from "node:crypto";
import { ApiError } from "../errors.js";
import type { Actor } from "../http/auth.js";
import type { ChangeView } from "../workspace/change-set.js";
import type { Risk } from "./risks.js";

export type ApprovalMode = "manual" | "auto";

/** Who decided: the auto mode, the host token, an owner token, or a grant. */
export type DecidedBy = "auto" | "host" | { tokenId: string; label: string } | { grantId: string };

export interface ApprovalInput {
  workspaceId: string;
  action: string;
  summary: string;
  paths: string[];
  actor: Actor;
  changes: ChangeView[];
  risks: Risk[];
  changeHash: string;
}

export interface ApprovalRequest extends ApprovalInput {
  id: string;
  createdAt: number;
  expiresAt: number;
}

export type RefusalReason = "denied" | "timeout" | "withdrawn" | "shutdown";

export type Decision =
  | { requestId: string; allowed: true; decidedBy: DecidedBy; decidedAt: number }
  | { requestId: string; allowed: false; reason: RefusalReason; decidedBy?: DecidedBy; decidedAt: number };

export type ApprovalEvent =
  | { type: "requested"; request: ApprovalRequest }
  | { type: "resolved"; id: string; allowed: boolean; reason?: RefusalReason; decidedBy?: DecidedBy; resolvedAt: number };

export interface ApprovalLimits {
  /** Pending (and arriving) approval-gated writes per credential (default 8). */
  perActor?: number;
  /** ... and in total (default 32). */
  total?: number;
}

export const APPROVAL_LIMITS = { perActor: 8, total: 32 };

interface Pending {
  request: ApprovalRequest;
  settle: (decision: Decision) => void;
  timer: NodeJS.Timeout;
  release: () => void;
}

/** The key a credential's pending requests are counted under. */
export function actorKey(actor: Actor): string {
  return actor.tokenId ? `token:${actor.tokenId}` : actor.type;
}

export class ApprovalService {
  private readonly pending = new Map<string, Pending>();
  private readonly listeners = new Set<(event: ApprovalEvent) => void>();
  /** Admitted writes per credential (waiting to be asked, or waiting for an answer). */
  private readonly admitted = new Map<string, number>();
  private admittedTotal = 0;
  private readonly limits: Required<ApprovalLimits>;
  private closed = false;

  constructor(
    readonly mode: ApprovalMode,
    readonly timeoutMs: number,
    limits: ApprovalLimits = {},
  ) {
    this.limits = { ...APPROVAL_LIMITS, ...limits };
  }

  /**
   * Reserves room for one approval-gated write of `actor`, before its body is even read, so no
   * client can queue more than its share or exhaust memory: 429 `too_many_pending` beyond the
   * limits. Returns the release function (call it once the request has its answer).
   */
  admit(actor: Actor): () => void {
    if (this.mode === "auto") return () => {};
    const key = actorKey(actor);
    const mine = this.admitted.get(key) ?? 0;
    if (mine >= this.limits.perActor || this.admittedTotal >= this.limits.total) {
      const which = mine >= this.limits.perActor ? `${this.limits.perActor} per credential` : `${this.limits.total} in total`;
      throw new ApiError(429, "too_many_pending", `Too many writes are waiting for approval (at most ${which}); wait for answers`, {
        perActor: this.limits.perActor,
        total: this.limits.total,
        retryAfterSeconds: 5,
      });
    }
    this.admitted.set(key, mine + 1);
    this.admittedTotal++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.admitted.get(key) ?? 1) - 1;
      if (left > 0) this.admitted.set(key, left);
      else this.admitted.delete(key);
      this.admittedTotal--;
    };
  }

  /**
   * Asks the host. `signal` is the client's connection: when it goes away the request is
   * withdrawn at once and can no longer be allowed.
   */
  request(input: ApprovalInput, signal?: AbortSignal): Promise<Decision> {
    const id = `apr_${randomUUID()}`;
    const createdAt = Date.now();
    if (this.closed) return Promise.resolve({ requestId: id, allowed: false, reason: "shutdown", decidedAt: createdAt });
    if (signal?.aborted) return Promise.resolve({ requestId: id, allowed: false, reason: "withdrawn", decidedAt: createdAt });
    const request: ApprovalRequest = { id, ...input, createdAt, expiresAt: createdAt + this.timeoutMs };
    return new Promise<Decision>((resolve) => {
      const onAbort = () => this.refuse(id, "withdrawn");
      signal?.addEventListener("abort", onAbort, { once: true });
      const timer = setTimeout(() => this.refuse(id, "timeout"), this.timeoutMs);
      this.pending.set(id, {
        request,
        settle: resolve,
        timer,
        release: () => signal?.removeEventListener("abort", onAbort),
      });
      this.emit({ type: "requested", request });
    });
  }

  list(): ApprovalRequest[] {
    return [...this.pending.values()].map((p) => p.request);
  }

  get(id: string): ApprovalRequest | undefined {
    return this.pending.get(id)?.request;
  }

  /** Answers a pending request; false when no request has that id (answered, expired or withdrawn). */
  reply(id: string, allowed: boolean, decidedBy: DecidedBy): boolean {
    if (!this.pending.has(id)) return false;
    const decidedAt = Date.now();
    this.settle(
      id,
      allowed
        ? { requestId: id, allowed: true, decidedBy, decidedAt }
        : { requestId: id, allowed: false, reason: "denied", decidedBy, decidedAt },
    );
    return true;
  }

  /** Withdraws every pending request that matches (a revoked or expired token's). */
  withdrawWhere(match: (request: ApprovalRequest) => boolean): number {
    const ids = [...this.pending.values()].filter((p) => match(p.request)).map((p) => p.request.id);
    for (const id of ids) this.refuse(id, "withdrawn");
    return ids.length;
  }

  subscribe(listener: (event: ApprovalEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** How many subscribers (open approval streams) are listening. */
  get listenerCount(): number {
    return this.listeners.size;
  }

  /** Refuses everything still waiting, and everything asked from now on (server shutdown). */
  close(): void {
    this.closed = true;
    for (const id of [...this.pending.keys()]) this.refuse(id, "shutdown");
  }

  private refuse(id: string, reason: RefusalReason): void {
    this.settle(id, { requestId: id, allowed: false, reason, decidedAt: Date.now() });
  }

  private settle(id: string, decision: Decision): void {
    const entry = this.pending.get(id);
    if (!entry) return;
    this.pending.delete(id);
    clearTimeout(entry.timer);
    entry.release();
    entry.settle(decision);
    this.emit({
      type: "resolved",
      id,
      allowed: decision.allowed,
      ...(decision.allowed ? {} : { reason: decision.reason }),
      ...(decision.decidedBy !== undefined ? { decidedBy: decision.decidedBy } : {}),
      resolvedAt: decision.decidedAt,
    });
  }

  private emit(event: ApprovalEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A broken subscriber must not break approvals for everyone else.
      }
    }
  }
}
