// Reload events: what changed in a workspace, so clients can refresh and know when the engine
// needs a reload. A bounded in-memory log with a server-wide sequence number, plus live listeners.
import { randomUUID } from "node:crypto";
import type { Actor } from "../http/auth.js";

export const RELOAD_REASONS = ["skills", "plugins", "mcp", "commands", "config", "agents"] as const;
export type ReloadReason = (typeof RELOAD_REASONS)[number];

export interface ReloadTrigger {
  /** `api` for our own writes, `watcher` for changes made on disk by anyone else. */
  source: "api" | "watcher";
  action?: string;
  path?: string;
  /** Who made an API write. */
  actor?: Actor;
}

export interface ReloadEvent {
  id: string;
  seq: number;
  workspaceId: string;
  reason: ReloadReason;
  trigger?: ReloadTrigger;
  timestamp: number;
}

type Listener = (event: ReloadEvent) => void;

export class ReloadEventLog {
  private seq = 0;
  private readonly items: ReloadEvent[] = [];
  private readonly listeners = new Map<string, Set<Listener>>();

  /**
   * @param onRecord runs first for every event of every workspace (cache invalidation); it is not
   *   a subscriber, so it never shows in `listenerCount`.
   */
  constructor(
    private readonly capacity = 1000,
    private readonly onRecord?: (event: ReloadEvent) => void,
  ) {}

  record(workspaceId: string, reason: ReloadReason, trigger?: ReloadTrigger): ReloadEvent {
    const event: ReloadEvent = {
      id: `evt_${randomUUID()}`,
      seq: ++this.seq,
      workspaceId,
      reason,
      ...(trigger ? { trigger } : {}),
      timestamp: Date.now(),
    };
    this.items.push(event);
    if (this.items.length > this.capacity) this.items.splice(0, this.items.length - this.capacity);
    this.onRecord?.(event);
    for (const listener of this.listeners.get(workspaceId) ?? []) {
      try {
        listener(event);
      } catch {
        // One failing subscriber must not stop the others.
      }
    }
    return event;
  }

  /** Events of one workspace with seq > `since`, oldest first. */
  since(workspaceId: string, since = 0): ReloadEvent[] {
    return this.items.filter((e) => e.workspaceId === workspaceId && e.seq > since);
  }

  get cursor(): number {
    return this.seq;
  }

  subscribe(workspaceId: string, listener: Listener): () => void {
    const set = this.listeners.get(workspaceId) ?? new Set<Listener>();
    this.listeners.set(workspaceId, set);
    set.add(listener);
    return () => {
      set.delete(listener);
      // Only when the set is still the current one: a second call must not drop a set created
      // since for other listeners.
      if (set.size === 0 && this.listeners.get(workspaceId) === set) this.listeners.delete(workspaceId);
    };
  }

  listenerCount(workspaceId?: string): number {
    if (workspaceId) return this.listeners.get(workspaceId)?.size ?? 0;
    let total = 0;
    for (const set of this.listeners.values()) total += set.size;
    return total;
  }
}
