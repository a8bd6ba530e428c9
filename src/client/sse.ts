// Server-sent events for the client: a parser that follows the WHATWG rules (any line ending,
// multi-line `data:`, comments, `event:`, `id:`, `retry:`), and a reader that reconnects with
// backoff, sending `Last-Event-ID`, until its signal aborts. Web APIs only (fetch, streams,
// TextDecoder, AbortController), so it runs in browsers, Bun and Node alike.
import { errorFromResponse, OpenworkError } from "./errors.js";

/** One dispatched message. `lastEventId` is the stream's last `id:` at the time (`""` if none). */
export interface SseMessage {
  event: string;
  data: string;
  lastEventId: string;
}

/**
 * Incremental parser: feed it decoded text in any pieces; it calls `onMessage` for each complete
 * message. A message is dispatched only at its blank line, so a stream cut mid-message drops that
 * message (as EventSource does) and the reconnection's `Last-Event-ID` asks for it again.
 */
export class SseParser {
  /**
   * The id to resume from: the last `id:` of a block that ended (its blank line arrived), kept
   * across messages as the standard says. An `id:` of a block cut off mid-way does not count.
   */
  lastEventId = "";
  private idBuffer = "";
  /** The last valid `retry:` value (ms), if any. */
  retry: number | undefined;
  private line = "";
  private skipLineFeed = false;
  private started = false;
  private data: string[] = [];
  private event = "";

  constructor(
    private readonly onMessage: (message: SseMessage) => void,
    private readonly onComment?: (text: string) => void,
  ) {}

  push(text: string): void {
    let chunk = text;
    if (!this.started && chunk.length > 0) {
      this.started = true;
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
    }
    let start = 0;
    if (this.skipLineFeed && chunk.charCodeAt(0) === 10) start = 1;
    if (chunk.length > 0) this.skipLineFeed = false;
    for (let i = start; i < chunk.length; i++) {
      const code = chunk.charCodeAt(i);
      if (code !== 10 && code !== 13) continue;
      this.handleLine(this.line + chunk.slice(start, i));
      this.line = "";
      if (code === 13) {
        // CRLF is one line ending, also when the LF arrives in the next piece.
        if (i + 1 < chunk.length) {
          if (chunk.charCodeAt(i + 1) === 10) i++;
        } else this.skipLineFeed = true;
      }
      start = i + 1;
    }
    this.line += chunk.slice(start);
  }

  private handleLine(line: string): void {
    if (line === "") {
      this.dispatch();
      return;
    }
    if (line.charCodeAt(0) === 58 /* : */) {
      this.onComment?.(line.slice(1).replace(/^ /, ""));
      return;
    }
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === "data") this.data.push(value);
    else if (field === "event") this.event = value;
    else if (field === "id") {
      if (!value.includes("\0")) this.idBuffer = value;
    } else if (field === "retry") {
      if (/^\d+$/.test(value)) this.retry = Number(value);
    }
  }

  private dispatch(): void {
    this.lastEventId = this.idBuffer;
    const data = this.data;
    const event = this.event;
    this.data = [];
    this.event = "";
    if (data.length === 0) return;
    this.onMessage({ event: event || "message", data: data.join("\n"), lastEventId: this.lastEventId });
  }
}

/** How a stream reconnects after it ends or fails (`false`: it does not). */
export interface ReconnectOptions {
  /** First wait after a drop (default 500 ms); a server's `retry:` replaces it. */
  initialDelayMs?: number;
  /** The longest wait between attempts (default 30 s); each failed attempt doubles the wait. */
  maxDelayMs?: number;
  /** Failed connections in a row to retry; the next failure is thrown (default: no limit). */
  maxAttempts?: number;
}

export interface StreamOptions {
  /** Ends the iteration (quietly: the loop just finishes). */
  signal?: AbortSignal;
  /** Reconnect after a drop, a network error, a 429 or a 5xx (default: yes). */
  reconnect?: boolean | ReconnectOptions;
  /**
   * A connection that sends nothing (not even a heartbeat comment) for this long is dropped and
   * reconnected (default 45 s: three of the server's 15 s heartbeats).
   */
  idleTimeoutMs?: number;
  /** Called each time a connection is open (the server answered with a stream). */
  onOpen?: () => void;
}

/** What the generic reader needs from a particular stream. */
export interface StreamSource {
  /** Opens one connection; `lastEventId` is what the previous connections saw (`""`: nothing). */
  open(lastEventId: string, signal: AbortSignal): Promise<Response>;
}

const RETRYABLE = (status: number) => status === 408 || status === 429 || status >= 500;

/** Waits `ms`, or less when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * Reads a stream of SSE messages across connections: each ended or failed connection is opened
 * again (with the last event id), after a backoff, until `signal` aborts or the consumer stops.
 * An answer that will not get better by retrying (400, 401, 403, 404...) is thrown as an
 * OpenworkError, as is the last failure once `maxAttempts` is used up.
 */
export async function* readStream(source: StreamSource, options: StreamOptions = {}): AsyncGenerator<SseMessage, void, undefined> {
  const outer = options.signal;
  const reconnect = options.reconnect ?? true;
  const backoff = typeof reconnect === "object" ? reconnect : {};
  const initialDelay = backoff.initialDelayMs ?? 500;
  const maxDelay = backoff.maxDelayMs ?? 30_000;
  const maxAttempts = backoff.maxAttempts ?? Number.POSITIVE_INFINITY;
  const idleTimeout = options.idleTimeoutMs ?? 45_000;
  let lastEventId = "";
  let retryMs: number | undefined;
  let failures = 0;

  const stopped = new AbortController();
  const onOuterAbort = () => stopped.abort();
  outer?.addEventListener("abort", onOuterAbort, { once: true });
  if (outer?.aborted) stopped.abort();

  /** After a failure: throw it when we may not retry, else wait and go round again. */
  const again = async (error: unknown, waitMs?: number) => {
    failures++;
    if (reconnect === false || failures > maxAttempts) throw error;
    // The server's Retry-After as given; else a doubling wait, with a little jitter so that
    // clients dropped together do not come back together.
    const delay = waitMs ?? Math.min(maxDelay, (retryMs ?? initialDelay) * 2 ** Math.max(0, failures - 1)) * (0.8 + Math.random() * 0.2);
    await sleep(delay, stopped.signal);
  };

  try {
    while (!stopped.signal.aborted) {
      const connection = new AbortController();
      const onStop = () => connection.abort();
      stopped.signal.addEventListener("abort", onStop, { once: true });
      let idleTimer: ReturnType<typeof setTimeout> | undefined;
      let idled = false;
      const touch = () => {
        clearTimeout(idleTimer);
        idleTimer = setTimeout(() => {
          idled = true;
          connection.abort();
        }, idleTimeout);
      };
      let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
      try {
        let response: Response;
        try {
          touch();
          response = await source.open(lastEventId, connection.signal);
        } catch (error) {
          if (stopped.signal.aborted) return;
          await again(error);
          continue;
        }
        if (!response.ok) {
          const error = await errorFromResponse(response);
          if (!RETRYABLE(response.status)) throw error;
          await again(error, error.retryAfter !== undefined ? error.retryAfter * 1000 : undefined);
          continue;
        }
        const type = response.headers.get("Content-Type") ?? "";
        if (!type.toLowerCase().startsWith("text/event-stream") || !response.body) {
          await response.body?.cancel().catch(() => {});
          throw new OpenworkError(response.status, "unexpected_response", `Expected an event stream, got ${type || "no body"}`);
        }
        options.onOpen?.();
        const queue: SseMessage[] = [];
        const parser = new SseParser((message) => queue.push(message));
        const decoder = new TextDecoder();
        reader = response.body.getReader();
        let received = false;
        for (;;) {
          let chunk: ReadableStreamReadResult<Uint8Array>;
          try {
            chunk = await reader.read();
          } catch {
            if (stopped.signal.aborted) return;
            break; // a dropped (or idle) connection: reconnect below
          }
          // Once aborted, nothing more is delivered (a body may still hold what arrived before).
          if (stopped.signal.aborted) return;
          if (chunk.done) break;
          touch();
          if (!received) {
            received = true;
            failures = 0;
          }
          parser.push(decoder.decode(chunk.value, { stream: true }));
          if (parser.retry !== undefined) retryMs = parser.retry;
          if (queue.length > 0) {
            // The consumer's time is not the connection's idleness.
            clearTimeout(idleTimer);
            while (queue.length > 0) {
              const message = queue.shift()!;
              lastEventId = message.lastEventId;
              yield message;
              if (stopped.signal.aborted) return;
            }
            touch();
          }
          // A block with an `id:` and no data still moves the resume point.
          lastEventId = parser.lastEventId;
        }
        if (stopped.signal.aborted || reconnect === false) return;
        await again(new OpenworkError(0, "unexpected_response", idled ? "The event stream went quiet" : "The event stream ended"));
      } finally {
        clearTimeout(idleTimer);
        stopped.signal.removeEventListener("abort", onStop);
        reader?.cancel().catch(() => {});
        connection.abort();
      }
    }
  } finally {
    outer?.removeEventListener("abort", onOuterAbort);
    stopped.abort();
  }
}
