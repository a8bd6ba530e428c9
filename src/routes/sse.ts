// The plumbing our two live streams share (`GET /approvals` and `GET /workspace/:id/events` with
// `Accept: text/event-stream`): messages leave in the order they were queued, a heartbeat comment
// keeps idle streams open through proxies, and the subscription and the timer end exactly once,
// the moment the client goes away.
import type { Context } from "hono";
import { type SSEMessage, streamSSE } from "hono/streaming";
import type { Access } from "../http/auth.js";
import type { AppEnv } from "../http/env.js";
import type { TokenStore } from "../services/tokens.js";

export function wantsEventStream(accept: string | undefined): boolean {
  return accept?.toLowerCase().includes("text/event-stream") ?? false;
}

export interface LiveStream {
  /** Queues one SSE message. */
  send(message: SSEMessage): void;
  /** Queues a comment line (`: text`), which clients ignore. */
  comment(text: string): void;
}

/**
 * Streams until the client goes away (or `until` calls its `stop`: a revoked token). `open` runs
 * once, synchronously: it queues what the client should see first and subscribes (doing both in
 * one tick, nothing can fall between them); the function it returns unsubscribes.
 */
export function liveStream(
  c: Context<AppEnv>,
  heartbeatMs: number,
  open: (out: LiveStream) => () => void,
  until?: (stop: () => void) => () => void,
) {
  return streamSSE(c, async (stream) => {
    let queue: Promise<unknown> = Promise.resolve();
    const push = (chunk: () => Promise<unknown>) => {
      // A failed write means the client is gone; the abort below ends the stream.
      queue = queue.then(chunk).catch(() => undefined);
    };
    const out: LiveStream = {
      send: (message) => push(() => stream.writeSSE(message)),
      comment: (text) => push(() => stream.write(`: ${text}\n\n`)),
    };
    const unsubscribe = open(out);
    const heartbeat = setInterval(() => out.comment("heartbeat"), heartbeatMs);
    heartbeat.unref?.();
    const signal = c.req.raw.signal;
    let release = () => {};
    await new Promise<void>((resolve) => {
      const stop = () => {
        signal?.removeEventListener("abort", stop);
        resolve();
      };
      stream.onAbort(stop);
      signal?.addEventListener("abort", stop, { once: true });
      if (until) release = until(stop);
      if (stream.aborted || signal?.aborted) stop();
    });
    clearInterval(heartbeat);
    release();
    unsubscribe();
    // Ending the callback closes the response; flush what was queued first.
    await queue;
  });
}

/**
 * For `liveStream`'s `until`: ends a stream the moment its scoped token is revoked or expires,
 * or at once when that happened between the request's authentication and the subscription (the
 * announcement would have been missed, and the stream would have stayed open for good).
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
