// The one path every write takes (DESIGN "write pipeline"):
//   read-only check -> precheck against the current files -> host approval -> beforeLock ->
//   under the workspace lock: re-read, change, write atomically -> audit entry -> reload event.
// A denied, timed-out or failed write changes no file and records no success.
import { ApiError } from "../errors.js";
import { KeyedMutex } from "../workspace/mutex.js";
import type { Workspace } from "../workspaces.js";
import type { ApprovalService } from "./approvals.js";
import type { Actor, AuditEntry, AuditLog } from "./audit.js";
import type { ReloadEventLog, ReloadReason } from "./events.js";

export const WRITE_ACTIONS = [
  "config.patch",
  "plugins.add",
  "plugins.remove",
  "skills.upsert",
  "skills.delete",
  "mcp.add",
  "mcp.remove",
  "commands.upsert",
  "commands.delete",
  "agents.upsert",
  "agents.delete",
  "config.import",
  "engine.reload",
] as const;
export type WriteAction = (typeof WRITE_ACTIONS)[number];

export interface WriteOperation<T> {
  action: WriteAction;
  /** What is changed, for the audit entry (a skill name, a file, a server name). */
  target: string;
  /** One line for the approver and the audit log. */
  summary: string;
  /** Workspace-relative paths the write may touch, shown to the approver. */
  paths: string[];
  /** The reload event(s) to record on success; none for writes the engine need not hear of. */
  reasons: ReloadReason[];
  /** Engine reload is allowed on a read-only server: it changes no file. */
  allowWhenReadOnly?: boolean;
  /** Validation against the files as they are now, run before approval is asked. */
  precheck?: () => Promise<void>;
  /**
   * Runs once approval is granted, before the workspace lock is taken: a long wait that must not
   * hold up other writes (the engine reload waits for busy sessions here). Throwing ends the
   * operation: nothing is written or audited.
   */
  beforeLock?: () => Promise<void>;
  /** Runs under the workspace lock: read the latest bytes, change them, write atomically. */
  apply: () => Promise<T>;
}

/** Lets the file watcher tell our own writes from everyone else's. */
export interface WriteObserver {
  willWrite?(workspace: Workspace, paths: string[]): void;
  didWrite?(workspace: Workspace, paths: string[]): void;
}

export interface WritePipelineDeps {
  approvals: ApprovalService;
  audit: AuditLog;
  events: ReloadEventLog;
  readOnly: boolean;
  /** Runs after each successful write, before it answers (the config read's `updatedAt` changed). */
  onCommit?: (workspace: Workspace) => void;
}

export class WritePipeline {
  private readonly locks = new KeyedMutex();
  private readonly observers = new Set<WriteObserver>();

  constructor(private readonly deps: WritePipelineDeps) {}

  observe(observer: WriteObserver): () => void {
    this.observers.add(observer);
    return () => this.observers.delete(observer);
  }

  /** Step 1, callable early so a read-only server answers 403 before validating anything. */
  assertWritable(): void {
    if (this.deps.readOnly) throw new ApiError(403, "read_only", "This server is read-only: writes are disabled");
  }

  async run<T>(workspace: Workspace, actor: Actor, op: WriteOperation<T>): Promise<{ result: T; audit: AuditEntry }> {
    if (!op.allowWhenReadOnly) this.assertWritable();
    // The audit entry is written after the change: refuse now if it could not be.
    await this.deps.audit.assertAppendable(workspace.path);
    await op.precheck?.();
    const outcome = await this.deps.approvals.request({
      workspaceId: workspace.id,
      action: op.action,
      summary: op.summary,
      paths: op.paths,
      actor,
    });
    if (!outcome.allowed) {
      const message = {
        timeout: "Write was not approved in time",
        denied: "Write was denied by the host",
        shutdown: "The server is shutting down",
      }[outcome.reason];
      throw new ApiError(403, "write_denied", message, { requestId: outcome.requestId, reason: outcome.reason });
    }
    await op.beforeLock?.();
    return this.locks.run(workspace.id, async () => {
      for (const o of this.observers) o.willWrite?.(workspace, op.paths);
      let result: T;
      try {
        result = await op.apply();
      } finally {
        for (const o of this.observers) o.didWrite?.(workspace, op.paths);
      }
      const audit = await this.deps.audit.append(workspace.path, {
        workspaceId: workspace.id,
        actor,
        action: op.action,
        target: op.target,
        summary: op.summary,
      });
      for (const reason of op.reasons) {
        this.deps.events.record(workspace.id, reason, { source: "api", action: op.action });
      }
      this.deps.onCommit?.(workspace);
      return { result, audit };
    });
  }
}
