// `GET /workspace/:id/events`: reload events after a cursor, as JSON or as a live SSE stream.
import { type Context, Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { badRequest } from "../errors.js";
import type { AppEnv } from "../http/env.js";
import type { ReloadEvent } from "../services/events.js";
import type { Services } from "../services/index.js";
import { workspaceOf } from "./context.js";

/** A seq value from a query parameter or `Last-Event-ID`: a non-negative integer. */
function parseSeq(value: string | undefined, source: string): number | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  const trimmed = value.trim();
  if (!/^\d{1,15}$/.test(trimmed)) {
    throw badRequest("invalid_payload", `${source} must be a non-negative integer (an event seq)`, { [source]: value });
  }
  return Number(trimmed);
}

function wantsEventStream(accept: string | undefined): boolean {
  return accept?.toLowerCase().includes("text/event-stream") ?? false;
}

export function eventsRoutes(s: Services) {
  return new Hono<AppEnv>().get("/workspace/:id/events", (c) => {
    const workspace = workspaceOf(c, s);
    const stream = wantsEventStream(c.req.header("Accept"));
    // A reconnecting EventSource sends the last id it saw; that wins over the query.
    // (An id we did not issue is ignored rather than refused.)
    const lastEventId = stream ? c.req.header("Last-Event-ID")?.trim() : undefined;
    let since =
      (lastEventId && /^\d{1,15}$/.test(lastEventId) ? Number(lastEventId) : undefined) ?? parseSeq(c.req.query("since"), "since");
    // Seqs restart with the server: a cursor from before a restart replays what this run has.
    if (since !== undefined && since > s.events.cursor) since = 0;
    if (stream) return eventStream(c, s, workspace.id, since);
    return c.json({ items: s.events.since(workspace.id, since ?? 0), cursor: s.events.cursor });
  });
}

/**
 * The live stream: one SSE message per event (`id:` = seq, `data:` = the event as JSON), first
 * the retained events after `since` (when given), then new ones as they happen; a comment line
 * every `eventsHeartbeatMs`. The subscription ends the moment the client goes away.
 */
function eventStream(c: Context<AppEnv>, s: Services, workspaceId: string, since: number | undefined) {
  return streamSSE(c, async (stream) => {
    let lastSent = since ?? s.events.cursor;
    // Writes are chained so events leave in seq order and never interleave with a heartbeat.
    let queue: Promise<unknown> = Promise.resolve();
    const push = (chunk: () => Promise<unknown>) => {
      queue = queue.then(chunk).catch(() => undefined);
    };
    const send = (event: ReloadEvent) => {
      if (event.seq <= lastSent) return;
      lastSent = event.seq;
      push(() => stream.writeSSE({ id: String(event.seq), data: JSON.stringify(event) }));
    };
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    let unsubscribe = () => {};
    let heartbeat: NodeJS.Timeout | undefined;
    const stop = () => {
      clearInterval(heartbeat);
      unsubscribe();
      done();
    };
    // Backlog and subscription in the same tick: no event can fall between them.
    push(() => stream.write(": connected\n\n"));
    for (const event of s.events.since(workspaceId, lastSent)) send(event);
    unsubscribe = s.events.subscribe(workspaceId, send);
    heartbeat = setInterval(() => push(() => stream.write(": heartbeat\n\n")), s.eventsHeartbeatMs);
    heartbeat.unref?.();
    stream.onAbort(stop);
    c.req.raw.signal?.addEventListener("abort", stop, { once: true });
    if (stream.aborted || c.req.raw.signal?.aborted) stop();
    await finished;
  });
}
