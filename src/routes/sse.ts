// The plumbing our two live streams share (`GET /approvals` and `GET /workspace/:id/events` with
// `Accept: text/event-stream`): messages leave in the order they were queued, a heartbeat comment
// keeps idle streams open through proxies, and the subscription and the timer end exactly once,
// the moment the client goes away.
//
// Backpressure per subscriber: what the client has not yet taken waits in its stream's queue, and
// a client that falls more than `maxBufferedBytes` behind (it stopped reading, or reads slower
// than events come) is dropped: its stream is closed with an error, which closes the connection.
// A reconnecting EventSource resumes with `Last-Event-ID`. So one slow client costs a bounded
// amount of memory and never holds up the writes or the other clients.
// A stream also ends, cleanly, the moment the scoped token it was opened with is revoked or
// expires (`until`).
import type { Context } from "hono";
import type { Access } from "../http/auth.js";
import type { AppEnv } from "../http/env.js";
import type { TokenStore } from "../services/tokens.js";

export function wantsEventStream(accept: string | undefined): boolean {
  return accept?.toLowerCase().includes("text/event-stream") ?? false;
}

/** What a subscriber may have queued and not yet taken before it is dropped (default). */
export const SSE_MAX_BUFFERED_BYTES = 256 * 1024;

export interface SseMessage {
  event?: string;
  id?: string;
  data: string;
}

export interface LiveStream {
  /** Queues one SSE message (`data` must not contain line breaks: one `data:` line). */
  send(message: SseMessage): void;
  /** Queues bytes that already are whole SSE messages (shared between streams, never changed). */
  sendBytes(bytes: Uint8Array): void;
  /** Queues a comment line (`: text`), which clients ignore. */
  comment(text: string): void;
}

export interface LiveStreamOptions {
  heartbeatMs: number;
  maxBufferedBytes?: number;
  /** Told when the client was dropped for falling behind. */
  onDropped?: () => void;
  /** Ends the stream when it calls `stop` (a revoked token); returns what releases it. */
  until?: (stop: () => void) => () => void;
}

const encoder = new TextEncoder();

function frame(message: SseMessage): string {
  let text = "";
  if (message.event) text += `event: ${message.event}\n`;
  if (message.id !== undefined) text += `id: ${message.id}\n`;
  return `${text}data: ${message.data}\n\n`;
}

/**
 * Streams until the client goes away (or is dropped). `open` runs once, synchronously: it queues
 * what the client should see first and subscribes (doing both in one tick, nothing can fall
 * between them); the function it returns unsubscribes.
 */
export function liveStream(c: Context<AppEnv>, options: LiveStreamOptions | number, open: (out: LiveStream) => () => void) {
  const {
    heartbeatMs,
    maxBufferedBytes = SSE_MAX_BUFFERED_BYTES,
    onDropped,
    until,
  } = typeof options === "number" ? { heartbeatMs: options } : options;
  let ended = false;
  let unsubscribe: () => void = () => {};
  let release: () => void = () => {};
  let heartbeat: NodeJS.Timeout | undefined;
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const signal = c.req.raw.signal;

  const end = () => {
    if (ended) return;
    ended = true;
    clearInterval(heartbeat);
    signal?.removeEventListener("abort", end);
    unsubscribe();
    release();
  };
  // The Node response under the stream, when there is one (not in `app.request()` tests).
  const outgoing = (c.env as { outgoing?: { destroy(): void } } | undefined)?.outgoing;
  const push = (bytes: Uint8Array) => {
    if (ended) return;
    controller.enqueue(bytes);
    if ((controller.desiredSize ?? 0) < 0) {
      // Over the limit: drop this client, closing its connection.
      end();
      onDropped?.();
      if (outgoing) outgoing.destroy();
      else controller.error(new Error("event stream client fell too far behind"));
    }
  };

  const body = new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c;
      },
      cancel: end,
    },
    new ByteLengthQueuingStrategy({ highWaterMark: maxBufferedBytes }),
  );
  const out: LiveStream = {
    send: (message) => push(encoder.encode(frame(message))),
    sendBytes: push,
    comment: (text) => push(encoder.encode(`: ${text}\n\n`)),
  };
  unsubscribe = open(out);
  if (until && !ended) {
    release = until(() => {
      if (ended) return;
      end();
      try {
        controller.close();
      } catch {
        // already closed or errored
      }
    });
  }
  if (!ended) {
    heartbeat = setInterval(() => out.comment("heartbeat"), heartbeatMs);
    heartbeat.unref?.();
    signal?.addEventListener("abort", end, { once: true });
    if (signal?.aborted) end();
  }
  return c.body(body, 200, {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache",
    Connection: "keep-alive",
    // Headers go out at once (the adapter would otherwise wait for the first chunks).
    "Transfer-Encoding": "chunked",
  });
}

/**
 * For `liveStream`'s `until`: ends a stream the moment its scoped token is revoked or expires,
 * also when that happened while the stream was being opened.
 */
export function untilTokenEnds(tokens: TokenStore, access: Access | undefined) {
  const tokenId = access?.actor.tokenId;
  if (!tokenId) return undefined;
  return (stop: () => void) => {
    const release = tokens.onEnd((id) => {
      if (id === tokenId) stop();
    });
    if (!tokens.get(tokenId)) stop();
    return release;
  };
}
