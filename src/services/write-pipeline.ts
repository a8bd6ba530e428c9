// The one path every write takes (DESIGN "write pipeline", SPEC 8):
//   read-only check -> plan against the files as they are (validation; a plan that changes
//   nothing is answered at once) -> decision: auto mode, a grant, or the host, who sees exactly the
//   planned change (diffs, risks) and whose yes binds to its hash -> beforeLock -> under the
//   workspace lock: plan again and write only if the bytes are still the ones decided on (409
//   `changed_since_approval` otherwise) -> audit entry with the outcome -> reload events.
// Every request that reaches a decision is audited, whatever its outcome. A denied, timed-out,
// withdrawn or failed write changes no file.
import { WRITE_ACTIONS, type WriteAction } from "../contract/actions.js";
import { ApiError, isApiError } from "../errors.js";
import type { Actor } from "../http/auth.js";
import { syncFolders } from "../workspace/atomic-file.js";
import {
  applyChanges,
  assertPlanSize,
  changeHash,
  differingPaths,
  effective,
  type PlannedChange,
  shownPath,
  viewChanges,
} from "../workspace/change-set.js";
import { KeyedMutex } from "../workspace/mutex.js";
import type { Workspace } from "../workspaces.js";
import type { ApprovalService, DecidedBy, Decision, RefusalReason } from "./approvals.js";
import type { AuditEntry, AuditLog, Outcome } from "./audit.js";
import type { ReloadEventLog, ReloadReason } from "./events.js";
import type { GrantStore } from "./grants.js";
import { ALWAYS_ASKED, analyzeChanges, maskForApprover, type Risk } from "./risks.js";

export { WRITE_ACTIONS, type WriteAction };

/** Longest summary shown to the approver and kept in the audit log. */
export const SUMMARY_CAP = 300;

export interface WritePlan<R> {
  /** One line for the approver and the audit log, made by the server from validated parts. */
  summary: string;
  /** Every file the write changes, with its bytes before and after. */
  changes: PlannedChange[];
  /** A write whose effect is not a file (engine reload): run after approval, under the lock. */
  effect?: () => Promise<void>;
  /** Risks the files cannot show (an engine reload that aborts sessions). */
  risks?: Risk[];
  /** The reload events to record, when they depend on what the plan changes (an import). */
  reasons?: ReloadReason[];
  /** The answer, made once the write is done (or at once when it changes nothing). */
  result: () => R | Promise<R>;
}

export interface WriteRequest<R> {
  action: WriteAction;
  /** What is changed, for the audit entry (a skill name, a file, a server name). */
  target: string;
  /** The reload event(s) to record on success; none for writes the engine need not hear of. */
  reasons: ReloadReason[];
  /** Engine reload is allowed on a read-only server: it changes no file. */
  allowWhenReadOnly?: boolean;
  /** Plans the write against the files as they are now; throws ApiError for invalid input. */
  plan: () => Promise<WritePlan<R>>;
  /**
   * Runs once the write is allowed, before the workspace lock is taken: a long wait that must not
   * hold up other writes (the engine reload waits for busy sessions here).
   */
  beforeLock?: () => Promise<void>;
}

/** Lets the file watcher and the listing index tell our own writes from everyone else's. */
export interface WriteObserver {
  willWrite?(workspace: Workspace, paths: string[]): void;
  didWrite?(workspace: Workspace, paths: string[]): void;
}

export interface WritePipelineDeps {
  approvals: ApprovalService;
  grants: GrantStore;
  audit: AuditLog;
  events: ReloadEventLog;
  readOnly: boolean;
  /** Runs after each successful write, before it answers (the config read's `updatedAt` changed). */
  onCommit?: (workspace: Workspace) => void;
}

const REFUSALS: Record<RefusalReason, string> = {
  denied: "Write was denied by the host",
  timeout: "Write was not approved in time",
  withdrawn: "The request was withdrawn before it was answered (its client left, or its token was revoked)",
  shutdown: "The server is shutting down",
};

/** One line, no control characters, at most SUMMARY_CAP characters: it may quote client strings. */
export function cleanSummary(summary: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters never reach the approver
  const line = summary.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, " ").trim();
  return line.length > SUMMARY_CAP ? `${line.slice(0, SUMMARY_CAP - 1)}…` : line;
}

/** Who decided, as recorded: the host token, or an owner token by id and label. */
export function deciderOf(actor: Actor): DecidedBy {
  return actor.type === "host" || !actor.tokenId ? "host" : { tokenId: actor.tokenId, label: actor.label ?? "" };
}

const pathsOf = (changes: PlannedChange[]) => changes.map(shownPath);

export class WritePipeline {
  private readonly locks = new KeyedMutex();
  private readonly observers = new Set<WriteObserver>();
  /** Answers still being sent, so a shutdown lets them out before the listener closes. */
  private readonly inflight = new Set<Promise<unknown>>();

  constructor(private readonly deps: WritePipelineDeps) {}

  observe(observer: WriteObserver): () => void {
    this.observers.add(observer);
    return () => this.observers.delete(observer);
  }

  /** Step 1, callable early so a read-only server answers 403 before validating anything. */
  assertWritable(): void {
    if (this.deps.readOnly) throw new ApiError(403, "read_only", "This server is read-only: writes are disabled");
  }

  /** Keeps `done` in the set shutdown waits for (an answer on its way to a waiting client). */
  track(done: Promise<unknown>): void {
    const tracked = done.catch(() => {}).finally(() => this.inflight.delete(tracked));
    this.inflight.add(tracked);
  }

  /** Resolves when every tracked answer is out, or after `timeoutMs`. */
  async drain(timeoutMs = 2000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all([...this.inflight]), new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }

  /**
   * Runs one write for `actor`. `clientSignal` gives the client's connection: a request whose
   * client goes away while it waits for the host is withdrawn. (A getter: only a write that waits
   * for the host needs it, and making it builds a whole web Request.) Returns the plan's result
   * and whether anything was written (false: the write would change nothing, nobody was asked).
   */
  async run<R>(
    workspace: Workspace,
    actor: Actor,
    request: WriteRequest<R>,
    clientSignal?: () => AbortSignal,
  ): Promise<{ result: R; applied: boolean }> {
    if (!request.allowWhenReadOnly) this.assertWritable();
    // The audit entry is written after the change: refuse now if it could not be.
    await this.deps.audit.assertAppendable(workspace.path);

    if (this.deps.approvals.mode === "auto") {
      if (request.beforeLock) {
        // A wait outside the lock (the engine reload's); its failure is audited like any other.
        const preview = await request.plan();
        const decided = { decidedBy: "auto" as const, decidedAt: Date.now() };
        const base = { workspace, actor, request, summary: cleanSummary(preview.summary), paths: [], changeHash: changeHash([]) };
        await request.beforeLock().catch(async (error) => {
          await this.record(base, "failed", { ...decided, error: errorCode(error) });
          throw error;
        });
      }
      // Nobody looks at the plan: make it once, under the lock, against the latest bytes.
      return this.locks.run(workspace.id, async () => {
        const plan = await request.plan();
        if (isNoop(plan)) return { result: await plan.result(), applied: false };
        assertPlanSize(effective(plan.changes));
        await this.commit(workspace, actor, request, plan, { decidedBy: "auto", decidedAt: Date.now() });
        return { result: await plan.result(), applied: true };
      });
    }

    // Taken before planning, so a client that leaves while its write is planned is seen too.
    const signal = clientSignal?.();
    const first = await request.plan();
    if (isNoop(first)) return { result: await first.result(), applied: false };
    const changes = effective(first.changes);
    assertPlanSize(changes);
    const hash = changeHash(changes);
    const risks = analyzeChanges(changes);
    risks.push(...(first.risks ?? []));
    const summary = cleanSummary(first.summary);
    const base = { workspace, actor, request, summary, paths: pathsOf(changes), changeHash: hash };

    const grant = risks.some((r) => ALWAYS_ASKED.has(r.kind)) ? undefined : this.deps.grants.match(actor, workspace.id, request.action);
    let decision: Decision;
    if (grant) decision = { requestId: "", allowed: true, decidedBy: { grantId: grant.id }, decidedAt: Date.now() };
    else {
      decision = await this.deps.approvals.request(
        {
          workspaceId: workspace.id,
          action: request.action,
          summary,
          paths: base.paths,
          actor,
          changes: viewChanges(changes, maskForApprover),
          risks,
          changeHash: hash,
        },
        signal,
      );
    }
    const decided = {
      decidedBy: decision.decidedBy,
      decidedAt: decision.decidedAt,
      ...(decision.requestId ? { requestId: decision.requestId } : {}),
    };
    if (!decision.allowed) {
      await this.record(base, decision.reason, decided);
      throw new ApiError(403, "write_denied", REFUSALS[decision.reason], { requestId: decision.requestId, reason: decision.reason });
    }

    try {
      await request.beforeLock?.();
    } catch (error) {
      await this.record(base, "failed", { ...decided, error: errorCode(error) });
      throw error;
    }
    return this.locks.run(workspace.id, async () => {
      let again: WritePlan<R>;
      try {
        again = await request.plan();
      } catch (error) {
        await this.record(base, "failed", { ...decided, error: errorCode(error) });
        throw error;
      }
      const now = effective(again.changes);
      if (changeHash(now) !== hash) {
        const paths = differingPaths(changes, now);
        await this.record(base, "changed_since_approval", decided);
        throw new ApiError(
          409,
          "changed_since_approval",
          "The files changed after the write was approved; nothing was written. Ask again.",
          {
            paths,
            ...(decision.requestId ? { requestId: decision.requestId } : {}),
          },
        );
      }
      await this.commit(workspace, actor, request, again, decided, summary);
      return { result: await again.result(), applied: true };
    });
  }

  /** Writes a plan (under the lock), audits it and records its events. */
  private async commit<R>(
    workspace: Workspace,
    actor: Actor,
    request: WriteRequest<R>,
    plan: WritePlan<R>,
    decided: { decidedBy?: DecidedBy; decidedAt: number; requestId?: string },
    summary = cleanSummary(plan.summary),
  ): Promise<AuditEntry> {
    const changes = effective(plan.changes);
    const paths = pathsOf(changes);
    const base = { workspace, actor, request, summary, paths, changeHash: changeHash(changes) };
    for (const o of this.observers) o.willWrite?.(workspace, paths);
    let folders: string[];
    try {
      folders = await applyChanges(workspace.path, changes);
      await plan.effect?.();
    } catch (error) {
      await this.record(base, "failed", { ...decided, error: errorCode(error) }).catch(() => {});
      throw error;
    } finally {
      for (const o of this.observers) o.didWrite?.(workspace, paths);
    }
    // The folders' fsyncs and the audit entry's run together (one journal commit can carry both);
    // the answer waits for both. A crash before then may keep one without the other, as a crash
    // between two fsyncs in a row could.
    const [entry] = await Promise.all([this.record(base, "applied", decided), syncFolders(folders)]);
    for (const reason of plan.reasons ?? request.reasons) {
      this.deps.events.record(workspace.id, reason, { source: "api", action: request.action, actor });
    }
    this.deps.onCommit?.(workspace);
    return entry;
  }

  private record(
    base: { workspace: Workspace; actor: Actor; request: WriteRequest<unknown>; summary: string; paths: string[]; changeHash: string },
    outcome: Outcome,
    extra: { decidedBy?: DecidedBy; decidedAt?: number; requestId?: string; error?: string },
  ): Promise<AuditEntry> {
    return this.deps.audit.append(base.workspace.path, {
      workspaceId: base.workspace.id,
      actor: base.actor,
      action: base.request.action,
      target: cleanSummary(base.request.target),
      summary: base.summary,
      outcome,
      ...(extra.decidedBy !== undefined ? { decidedBy: extra.decidedBy } : {}),
      ...(extra.decidedAt !== undefined ? { decidedAt: extra.decidedAt } : {}),
      ...(extra.requestId ? { requestId: extra.requestId } : {}),
      paths: base.paths,
      ...(base.paths.length > 0 ? { changeHash: base.changeHash } : {}),
      ...(extra.error ? { error: extra.error } : {}),
    });
  }
}

function isNoop(plan: WritePlan<unknown>): boolean {
  return plan.effect === undefined && effective(plan.changes).length === 0;
}

function errorCode(error: unknown): string {
  return isApiError(error) ? error.code : "internal_error";
}
