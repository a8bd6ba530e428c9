// Reload events: what changed in a workspace, so clients can refresh and know when the engine
// needs a reload. A bounded in-memory log with a server-wide sequence number, plus live listeners.
//
// Fan-out runs after the write that recorded the event has answered (in a later turn of the event
// loop), never inside it, and in rounds: a round hands each subscriber everything recorded since
// the last one as one chunk (one socket write per subscriber, however many events), each event's
// SSE bytes are built once per round and shared by every subscriber, and a large round yields to
// other work between slices. Rounds are spaced by ten times the time the last one took (at least
// 20 ms, at most 1 s): fan-out takes at most about a tenth of the server's time, so with a thousand
// subscribers a burst of writes costs a round every ~100 ms, not a thousand socket writes per
// write, while a few subscribers hear of each event within ~20 ms. What a slow subscriber cannot
// take is its own problem (see routes/sse.ts).
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

/** The events of one fan-out round for one workspace (oldest first), with their SSE bytes. */
export interface EventBatch {
  readonly events: readonly ReloadEvent[];
  /** `id: <seq>\ndata: <event JSON>\n\n` for every event of the batch, built once and shared. */
  sse(): Uint8Array;
}

type Listener = (event: ReloadEvent) => void;
type BatchListener = (batch: EventBatch) => void;

/** How long one slice of a fan-out round may run before it yields to requests waiting behind it. */
const SLICE_MS = 2;
/** Rounds are spaced by this many times the time the last one took ... */
const ROUND_SPACING_FACTOR = 10;
/** ... but at least this (ms) ... */
const MIN_ROUND_SPACING_MS = 20;
/** ... and at most this (ms). */
const MAX_ROUND_SPACING_MS = 1000;

const encoder = new TextEncoder();

/** The SSE message of one event (`id:` = seq). */
export function sseFrame(event: ReloadEvent): string {
  return `id: ${event.seq}\ndata: ${JSON.stringify(event)}\n\n`;
}

function makeBatch(events: ReloadEvent[]): EventBatch {
  let bytes: Uint8Array | undefined;
  return {
    events,
    sse: () => {
      bytes ??= encoder.encode(events.map(sseFrame).join(""));
      return bytes;
    },
  };
}

export class ReloadEventLog {
  private seq = 0;
  private readonly items: ReloadEvent[] = [];
  private readonly listeners = new Map<string, Set<BatchListener>>();
  /** Events waiting for the next fan-out round, per workspace. */
  private pending = new Map<string, ReloadEvent[]>();
  private round: Promise<void> | null = null;
  /** When the next round may start. */
  private nextRoundAt = 0;

  /**
   * @param onRecord runs first and synchronously for every event of every workspace; it is not
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
    if (this.listeners.has(workspaceId)) {
      const queue = this.pending.get(workspaceId);
      if (queue) queue.push(event);
      else this.pending.set(workspaceId, [event]);
      this.round ??= this.fanOut();
    }
    return event;
  }

  /** Resolves once every event recorded so far has been handed to the subscribers. */
  async flushed(): Promise<void> {
    while (this.round) await this.round;
  }

  /** Rounds run one after another until nothing is pending, each in a later turn, spaced (see above). */
  private async fanOut(): Promise<void> {
    try {
      while (this.pending.size > 0) {
        const wait = this.nextRoundAt - performance.now();
        await new Promise((resolve) => (wait > 0 ? setTimeout(resolve, wait) : setImmediate(resolve)));
        const pending = this.pending;
        this.pending = new Map();
        const started = performance.now();
        for (const [workspaceId, events] of pending) {
          const batch = makeBatch(events);
          // A snapshot: a subscriber that leaves during the round is skipped, one that joins
          // has already replayed these events from the log.
          const targets = [...(this.listeners.get(workspaceId) ?? [])];
          let sliceStart = performance.now();
          for (const listener of targets) {
            if (!this.listeners.get(workspaceId)?.has(listener)) continue;
            try {
              listener(batch);
            } catch {
              // One failing subscriber must not stop the others.
            }
            if (performance.now() - sliceStart > SLICE_MS) {
              await new Promise((resolve) => setImmediate(resolve));
              sliceStart = performance.now();
            }
          }
        }
        // The subscribers' socket writes run after the listeners return: count them in.
        await new Promise((resolve) => setImmediate(resolve));
        const busy = performance.now() - started;
        const spacing = Math.min(MAX_ROUND_SPACING_MS, Math.max(MIN_ROUND_SPACING_MS, ROUND_SPACING_FACTOR * busy));
        this.nextRoundAt = performance.now() + spacing;
      }
    } finally {
      this.round = null;
    }
  }

  /** Events of one workspace with seq > `since`, oldest first. */
  since(workspaceId: string, since = 0): ReloadEvent[] {
    return this.items.filter((e) => e.workspaceId === workspaceId && e.seq > since);
  }

  get cursor(): number {
    return this.seq;
  }

  /** Hears each new event of one workspace, shortly after it was recorded. */
  subscribe(workspaceId: string, listener: Listener): () => void {
    return this.subscribeBatches(workspaceId, (batch) => {
      for (const event of batch.events) listener(event);
    });
  }

  /** Hears the new events of one workspace one fan-out round at a time (what streams use). */
  subscribeBatches(workspaceId: string, listener: BatchListener): () => void {
    // Events recorded before the subscription may still be waiting for their round: not for it.
    const from = this.seq;
    const own: BatchListener = (batch) => {
      if (batch.events[0]!.seq > from) return listener(batch);
      const rest = batch.events.filter((e) => e.seq > from);
      if (rest.length > 0) listener(makeBatch(rest));
    };
    const set = this.listeners.get(workspaceId) ?? new Set<BatchListener>();
    this.listeners.set(workspaceId, set);
    set.add(own);
    return () => {
      set.delete(own);
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
