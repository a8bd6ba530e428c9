// Host approval of writes. In manual mode each write waits as a pending request, keyed by id,
// until the host allows or denies it or its timeout passes. Subscribers (the host page's event
// stream) hear about every request and its outcome.
import { randomUUID } from "node:crypto";
import type { Actor } from "./audit.js";

export type ApprovalMode = "manual" | "auto";

export interface ApprovalInput {
  workspaceId: string;
  action: string;
  summary: string;
  paths: string[];
  actor: Actor;
}

export interface ApprovalRequest extends ApprovalInput {
  id: string;
  createdAt: number;
  expiresAt: number;
}

export type ApprovalOutcome =
  | { requestId: string; allowed: true }
  | { requestId: string; allowed: false; reason: "denied" | "timeout" | "shutdown" };

export type ApprovalEvent =
  | { type: "requested"; request: ApprovalRequest }
  | { type: "resolved"; id: string; allowed: boolean; reason?: string; resolvedAt: number };

interface Pending {
  request: ApprovalRequest;
  settle: (outcome: ApprovalOutcome) => void;
  timer: NodeJS.Timeout;
}

export class ApprovalService {
  private readonly pending = new Map<string, Pending>();
  private readonly listeners = new Set<(event: ApprovalEvent) => void>();

  constructor(
    readonly mode: ApprovalMode,
    readonly timeoutMs: number,
  ) {}

  request(input: ApprovalInput): Promise<ApprovalOutcome> {
    const id = `apr_${randomUUID()}`;
    if (this.mode === "auto") return Promise.resolve({ requestId: id, allowed: true });
    const createdAt = Date.now();
    const request: ApprovalRequest = { id, ...input, createdAt, expiresAt: createdAt + this.timeoutMs };
    return new Promise<ApprovalOutcome>((resolve) => {
      const timer = setTimeout(() => this.settle(id, { requestId: id, allowed: false, reason: "timeout" }), this.timeoutMs);
      this.pending.set(id, { request, settle: resolve, timer });
      this.emit({ type: "requested", request });
    });
  }

  list(): ApprovalRequest[] {
    return [...this.pending.values()].map((p) => p.request);
  }

  /** Answers a pending request; false when no request has that id (already answered or expired). */
  reply(id: string, allowed: boolean): boolean {
    if (!this.pending.has(id)) return false;
    this.settle(id, allowed ? { requestId: id, allowed: true } : { requestId: id, allowed: false, reason: "denied" });
    return true;
  }

  subscribe(listener: (event: ApprovalEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** How many subscribers (open approval streams) are listening. */
  get listenerCount(): number {
    return this.listeners.size;
  }

  /** Denies everything still waiting (server shutdown), so no client hangs. */
  close(): void {
    for (const id of [...this.pending.keys()]) this.settle(id, { requestId: id, allowed: false, reason: "shutdown" });
  }

  private settle(id: string, outcome: ApprovalOutcome): void {
    const entry = this.pending.get(id);
    if (!entry) return;
    this.pending.delete(id);
    clearTimeout(entry.timer);
    entry.settle(outcome);
    this.emit({
      type: "resolved",
      id,
      allowed: outcome.allowed,
      ...(outcome.allowed ? {} : { reason: outcome.reason }),
      resolvedAt: Date.now(),
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
