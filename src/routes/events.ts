// `GET /workspace/:id/events`: reload events after a cursor, as JSON or as a live SSE stream.
import type { Context } from "hono";
import type { Access } from "../http/auth.js";
import type { AppEnv } from "../http/env.js";
import type { Handlers } from "../http/route.js";
import type { Services } from "../services/index.js";
import { workspaceOf } from "./context.js";
import { liveStream, untilTokenEnds, wantsEventStream } from "./sse.js";

const SEQ = /^\d{1,15}$/;

export function eventHandlers(s: Services) {
  return {
    listEvents: (c, { params, query, access }) => {
      const workspace = workspaceOf(s, params.id);
      const stream = wantsEventStream(c.req.header("Accept"));
      // A reconnecting EventSource sends the last id it saw; that wins over the query.
      // (An id we did not issue is ignored rather than refused.)
      const lastEventId = stream ? c.req.header("Last-Event-ID")?.trim() : undefined;
      let since = lastEventId && SEQ.test(lastEventId) ? Number(lastEventId) : query.since;
      // Seqs restart with the server: a cursor from before a restart replays what this run has.
      if (since !== undefined && since > s.events.cursor) since = 0;
      if (stream) return eventStream(c, s, workspace.id, since, access);
      return { items: s.events.since(workspace.id, since ?? 0), cursor: s.events.cursor };
    },
  } satisfies Partial<Handlers>;
}

/**
 * The live stream: one SSE message per event (`id:` = seq, `data:` = the event as JSON), first
 * the retained events after `since` (when given), then new ones as they happen; a comment line
 * every `eventsHeartbeatMs`. The subscription ends the moment the client goes away, falls too far
 * behind (see sse.ts), or its token is revoked or expires.
 */
function eventStream(c: Context<AppEnv>, s: Services, workspaceId: string, since: number | undefined, access: Access | undefined) {
  const options = { heartbeatMs: s.eventsHeartbeatMs, maxBufferedBytes: s.eventsMaxBufferedBytes, until: untilTokenEnds(s.tokens, access) };
  return liveStream(c, options, (out) => {
    let lastSent = since ?? s.events.cursor;
    out.comment("connected");
    for (const event of s.events.since(workspaceId, lastSent)) {
      out.send({ id: String(event.seq), data: JSON.stringify(event) });
      lastSent = event.seq;
    }
    return s.events.subscribeBatches(workspaceId, (batch) => {
      const events = batch.events;
      if (events.length === 0 || events[events.length - 1]!.seq <= lastSent) return;
      // The batch's bytes are shared by every subscriber; one that already has some of these
      // events (it replayed them from the log) gets the rest one by one.
      if (events[0]!.seq > lastSent) out.sendBytes(batch.sse());
      else for (const event of events) if (event.seq > lastSent) out.send({ id: String(event.seq), data: JSON.stringify(event) });
      lastSent = events[events.length - 1]!.seq;
    });
  });
}
