// The OpenCode gateway (SPEC 9): forwards a client's request to its workspace's engine, so a
// remote client needs one URL and one token. What it does to a request:
// - checks the scope policy (gateway-policy.ts) and, for non-owners, that the request stays on the
//   workspace's directory (query, headers, file paths, file URLs in the body);
// - strips the caller's credentials (Authorization, Cookie, X-OpenWork-*) and hop-by-hop headers
//   (with those named in Connection), adds the engine's basic auth, and passes the directory as
//   OpenCode's SDK does: header `x-opencode-directory` (URI-encoded) always, and `?directory=` on
//   GET/HEAD when absent (plus `location[directory]` on `/api/*`, like the v2 SDK);
// - streams both ways: an owner's request body is piped with a size cap, a non-owner's (small
//   JSON on session routes) is read whole first so it can be checked; the answer is streamed, so
//   SSE arrives event by event (only a small answer of known length, complete on the wire, is
//   read whole). A client that leaves aborts the upstream request.
// And to the answer: the engine's Set-Cookie (a cookie for our origin), WWW-Authenticate (a
// browser password prompt for our origin) and CORS headers (ours already apply) are dropped;
// redirects are never followed, and one pointing into the engine is rewritten onto the mount;
// an engine 401 (our engine password is wrong) becomes a 502, never a 401 the client would take
// for its own token being refused.
// The transport is node:http with a keep-alive agent (not fetch): no web Request/Response objects
// are built on the way to the engine and back, which was most of a small request's cost.
import { type ClientRequest, Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { Readable } from "node:stream";
import type { ReadableStream as NodeWebStream } from "node:stream/web";
import { ApiError } from "../errors.js";
import { assertJsonType, type NodeExchange, requestBytes, tooLarge } from "../http/body.js";
import type { EngineTarget } from "./engine.js";
import {
  checkRequestBody,
  checkRequestTarget,
  decide,
  enginePathSegments,
  isReadMethod,
  type Refusal,
  type Scope,
} from "./gateway-policy.js";

export interface GatewayOptions {
  /**
   * How long the engine may take to start answering (its response headers) before we answer 504.
   * Once it has started, a stream or a long prompt runs for as long as the client stays.
   */
  timeoutMs?: number;
}

export const GATEWAY_DEFAULTS = { timeoutMs: 300_000 };

/**
 * An idle kept-alive connection to the engine is closed after this long, before the engine's own
 * idle timeout can close it under a request we are just sending on it.
 */
const IDLE_CONNECTION_MS = 4000;

export interface ForwardRequest {
  /** The client's request as received. */
  request: Request;
  /**
   * Node's own request and answer, when node:http serves the request and nothing has read its
   * body yet: the body is then read from Node's stream and a client leaving is seen on the answer,
   * without the web Request's stream and signal.
   */
  node?: NodeExchange;
  /** The engine path: the raw (percent-encoded) path after the mount, starting with `/`. */
  enginePath: string;
  /** Where the gateway is mounted (`/opencode`, `/w/<id>/opencode`), for rewriting redirects. */
  mount: string;
  target: EngineTarget;
  scope: Scope;
  /** The caller's token reaches only some workspaces (engine-wide reads are refused). */
  bound?: boolean;
  /** Request body cap in bytes. */
  bodyLimit: number;
}

/** The engine's answer, ready to pass on. */
export interface ForwardedAnswer {
  status: number;
  headers: Headers;
  /** A small answer's bytes, read whole; a stream for the rest; null for none. */
  body: Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array> | null;
}

/** Hop-by-hop headers (RFC 9110 7.6.1) and the ones a proxy must never pass on. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/** Request headers never forwarded: the caller's credentials and what the transport sets itself. */
const DROP_REQUEST = new Set(["authorization", "cookie", "host", "content-length", "origin", "accept-encoding", "expect"]);

/** Response headers never passed back. */
const DROP_RESPONSE = new Set(["set-cookie", "set-cookie2", "www-authenticate"]);

/**
 * An answer of at most this many bytes, announced by Content-Length and not an event stream, is
 * read whole before it is passed on: it is complete on the wire already, and sending headers and
 * body in one write (instead of headers, then a chunk) is most of the proxy's cost per request.
 */
const SMALL_ANSWER_BYTES = 64 * 1024;

function connectionListed(value: string | null | undefined): Set<string> {
  const listed = new Set<string>();
  for (const name of (value ?? "").split(",")) {
    const trimmed = name.trim().toLowerCase();
    if (trimmed) listed.add(trimmed);
  }
  return listed;
}

/** The client's headers the engine may see, as Node request headers. */
function forwardRequestHeaders(incoming: Headers): Record<string, string> {
  const listed = connectionListed(incoming.get("connection"));
  // No prototype: a header named `__proto__` is a header like any other.
  const out: Record<string, string> = Object.create(null);
  incoming.forEach((value, name) => {
    // Headers gives names in lower case.
    if (HOP_BY_HOP.has(name) || DROP_REQUEST.has(name) || listed.has(name)) return;
    if (name.startsWith("x-openwork-") || name.startsWith("proxy-")) return;
    out[name] = value;
  });
  // Identity keeps byte counts honest: an answer's Content-Length is the size of what it holds.
  out["accept-encoding"] = "identity";
  return out;
}

/** The engine's answer headers the client may see, one by one as they came (Set-Cookie never). */
function forwardResponseHeaders(res: IncomingMessage, rewriteLocation: (value: string) => string): Headers {
  const listed = connectionListed(res.headers.connection);
  const out = new Headers();
  const raw = res.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (HOP_BY_HOP.has(name) || DROP_RESPONSE.has(name) || listed.has(name) || name.startsWith("access-control-")) continue;
    const value = raw[i + 1]!;
    try {
      out.append(name, name === "location" ? rewriteLocation(value) : value);
    } catch {
      // A value Node accepted but the Headers class does not: not worth failing the answer for.
    }
  }
  return out;
}

function refusalError(refusal: Refusal): ApiError {
  return refusal.kind === "forbidden"
    ? new ApiError(403, "proxy_forbidden", refusal.message, refusal.details)
    : new ApiError(400, "path_escape", refusal.message, refusal.details);
}

/** A non-owner's body: read whole (capped), JSON only, and checked against the policy. */
async function checkedBody(req: ForwardRequest): Promise<Uint8Array | undefined> {
  const bytes = await requestBytes(req.request, req.node, req.bodyLimit);
  if (bytes.byteLength === 0) return undefined;
  assertJsonType(req.request.headers.get("content-type"));
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw new ApiError(400, "invalid_json", "Request body is not valid JSON");
  }
  const refusal = checkRequestBody(req.target.directory, parsed);
  if (refusal) throw refusalError(refusal);
  return bytes;
}

/** An owner's body as a Node stream, or undefined when the request has none. */
function ownerBody(req: ForwardRequest): Readable | undefined {
  if (req.node) {
    const headers = req.node.incoming.headers;
    const declared = Number(headers["content-length"] ?? 0);
    return headers["transfer-encoding"] !== undefined || declared > 0 ? req.node.incoming : undefined;
  }
  return req.request.body ? Readable.fromWeb(req.request.body as NodeWebStream<Uint8Array>) : undefined;
}

/** Pipes `source` into the upstream request as it comes, calling `onTooLarge` once it passes the cap. */
function pipeCapped(source: Readable, upstream: ClientRequest, limit: number, onTooLarge: () => void): void {
  let total = 0;
  const stop = () => {
    source.off("data", onData).off("end", onEnd).off("error", onBroken).off("close", onClose);
  };
  const onData = (chunk: Buffer) => {
    total += chunk.byteLength;
    if (total > limit) {
      stop();
      source.pause();
      onTooLarge();
      return;
    }
    if (!upstream.write(chunk)) {
      source.pause();
      upstream.once("drain", () => source.resume());
    }
  };
  const onEnd = () => {
    stop();
    upstream.end();
  };
  // The client's upload broke off: the engine must not take half a body for a whole one.
  const onBroken = () => {
    stop();
    upstream.destroy();
  };
  const onClose = () => {
    if (!source.readableEnded) onBroken();
  };
  source.on("data", onData).on("end", onEnd).on("error", onBroken).on("close", onClose);
}

/** Calls `onGone` when the client leaves before the engine answers; returns the way to stop watching. */
function watchClient(req: ForwardRequest, onGone: () => void): () => void {
  if (req.node) {
    const { outgoing } = req.node;
    if (outgoing.destroyed) {
      onGone();
      return () => {};
    }
    outgoing.once("close", onGone);
    return () => outgoing.off("close", onGone);
  }
  const signal = req.request.signal;
  if (signal.aborted) {
    onGone();
    return () => {};
  }
  signal.addEventListener("abort", onGone, { once: true });
  return () => signal.removeEventListener("abort", onGone);
}

/** A small answer's bytes; a 502 if the engine breaks off before the end. */
function readWhole(res: IncomingMessage, baseUrl: string): Promise<Uint8Array<ArrayBuffer>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const brokeOff = () => reject(new ApiError(502, "opencode_unreachable", "The engine's answer broke off", { baseUrl }));
    res.on("data", (chunk: Buffer) => chunks.push(chunk));
    // Node allocates answer chunks on plain ArrayBuffers, never shared ones.
    res.on("end", () => resolve((chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)) as Uint8Array<ArrayBuffer>));
    res.on("error", brokeOff);
    res.on("close", () => {
      if (!res.complete) brokeOff();
    });
  });
}

interface Outgoing {
  url: URL;
  method: string;
  headers: Record<string, string>;
  /** Bytes (a checked body: can be sent again), a stream (an owner's: cannot), or none. */
  body: Uint8Array | Readable | undefined;
}

export class Gateway {
  private readonly authHeader: string | undefined;
  private readonly timeoutMs: number;
  // Most recently used connection first, so the others go idle and are closed.
  private readonly httpAgent = new HttpAgent({ keepAlive: true, scheduling: "lifo", timeout: IDLE_CONNECTION_MS });
  private readonly httpsAgent = new HttpsAgent({ keepAlive: true, scheduling: "lifo", timeout: IDLE_CONNECTION_MS });

  constructor(auth: { username: string; password: string } | undefined, options: GatewayOptions = {}) {
    this.authHeader = auth ? `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}` : undefined;
    this.timeoutMs = options.timeoutMs ?? GATEWAY_DEFAULTS.timeoutMs;
  }

  /** Closes the kept-alive connections to engines. */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  /** Forwards one request; throws ApiError for what is refused or fails before the engine answers. */
  async forward(req: ForwardRequest): Promise<ForwardedAnswer> {
    const { request, target, scope } = req;
    const method = request.method.toUpperCase();
    const segments = enginePathSegments(req.enginePath);
    if (segments === null) {
      throw new ApiError(400, "invalid_path", "Not an engine path the gateway forwards (empty or dot segments, encoded slashes)", {
        path: req.enginePath.slice(0, 300),
      });
    }
    const refusal = decide(scope, method, segments, req.bound === true);
    if (refusal) throw refusalError(refusal);
    const query = new URLSearchParams(new URL(request.url).search);
    if (scope !== "owner") {
      const off = checkRequestTarget(target.directory, segments, query, request.headers);
      if (off) throw refusalError(off);
    }

    const headers = forwardRequestHeaders(request.headers);
    headers["x-opencode-directory"] ??= encodeURIComponent(target.directory);
    if (isReadMethod(method)) {
      if (!query.has("directory")) query.set("directory", target.directory);
      if (segments[0] === "api" && !query.has("location[directory]")) query.set("location[directory]", target.directory);
    }
    if (this.authHeader) headers.authorization = this.authHeader;

    const base = target.baseUrl.replace(/\/+$/, "");
    const search = query.toString();
    // The path was checked above: it starts with `/` and has no empty segment, so it cannot
    // change the host (`//evil.example`) or climb out of the base path.
    const url = new URL(`${base}${req.enginePath}${search ? `?${search}` : ""}`);

    let body: Uint8Array | Readable | undefined;
    if (!isReadMethod(method)) body = scope === "owner" ? ownerBody(req) : await checkedBody(req);
    if (body instanceof Uint8Array) headers["content-length"] = String(body.byteLength);

    const res = await this.send(req, { url, method, headers, body });
    if (!res) return { status: 499, headers: new Headers(), body: null };
    if (res.statusCode === 401) {
      res.resume();
      throw new ApiError(502, "opencode_unreachable", "The engine refused the gateway's credentials", {
        baseUrl: target.baseUrl,
        status: 401,
        hint: "check --opencode-username / --opencode-password",
      });
    }
    const engineOrigin = url.origin;
    const rewriteLocation = (value: string) => {
      let parsed: URL;
      try {
        parsed = new URL(value, `${base}/`);
      } catch {
        return value;
      }
      if (parsed.origin !== engineOrigin) return value;
      const basePath = new URL(base).pathname.replace(/\/+$/, "");
      const path = basePath && parsed.pathname.startsWith(basePath) ? parsed.pathname.slice(basePath.length) : parsed.pathname;
      return `${req.mount}${path}${parsed.search}`;
    };
    const status = res.statusCode ?? 502;
    const responseHeaders = forwardResponseHeaders(res, rewriteLocation);
    if (method === "HEAD" || status === 204 || status === 304) {
      res.resume();
      return { status, headers: responseHeaders, body: null };
    }
    const length = Number(res.headers["content-length"] ?? Number.NaN);
    const eventStream = /^text\/event-stream/i.test(res.headers["content-type"] ?? "");
    if (!eventStream && length <= SMALL_ANSWER_BYTES) {
      return { status, headers: responseHeaders, body: await readWhole(res, target.baseUrl) };
    }
    // Cancelling this stream (the client left) destroys the answer, which closes its connection.
    return { status, headers: responseHeaders, body: Readable.toWeb(res) as unknown as ReadableStream<Uint8Array> };
  }

  /**
   * Sends the request; resolves with the engine's answer once its headers arrive, or null if the
   * client left first (nobody reads the answer). A request that met a kept-alive connection the
   * engine had just closed is sent once more on a new one, when its body can be sent again.
   */
  private async send(req: ForwardRequest, out: Outgoing): Promise<IncomingMessage | null> {
    const first = await this.sendOnce(req, out);
    if (first !== "stale-connection") return first;
    const second = await this.sendOnce(req, out);
    if (second !== "stale-connection") return second;
    throw new ApiError(502, "opencode_unreachable", "The engine is unreachable", { baseUrl: req.target.baseUrl, reason: "ECONNRESET" });
  }

  private sendOnce(req: ForwardRequest, out: Outgoing): Promise<IncomingMessage | null | "stale-connection"> {
    const { baseUrl } = req.target;
    return new Promise((resolve, reject) => {
      const secure = out.url.protocol === "https:";
      const upstream = (secure ? httpsRequest : httpRequest)(out.url, {
        method: out.method,
        headers: out.headers,
        agent: secure ? this.httpsAgent : this.httpAgent,
      });
      // Why we destroyed the request ourselves, if we did.
      let cause: ApiError | "client-left" | null = null;
      const stopWith = (why: ApiError | "client-left") => {
        cause ??= why;
        upstream.destroy();
      };
      const timer = setTimeout(
        () =>
          stopWith(
            new ApiError(504, "opencode_timeout", `The engine did not answer within ${this.timeoutMs} ms`, {
              baseUrl,
              timeoutMs: this.timeoutMs,
            }),
          ),
        this.timeoutMs,
      );
      const stopWatching = watchClient(req, () => stopWith("client-left"));
      const settle = () => {
        clearTimeout(timer);
        stopWatching();
      };
      upstream.on("response", (res) => {
        settle();
        resolve(res);
      });
      // Stays for the whole exchange: an error after the answer started shows on the answer's stream.
      upstream.on("error", (error: NodeJS.ErrnoException) => {
        settle();
        if (cause === "client-left") return resolve(null);
        if (cause) return reject(cause);
        if (upstream.reusedSocket && error.code === "ECONNRESET" && !(out.body instanceof Readable)) {
          return resolve("stale-connection");
        }
        reject(
          new ApiError(502, "opencode_unreachable", "The engine is unreachable", {
            baseUrl,
            ...(error.code ? { reason: error.code } : {}),
          }),
        );
      });
      if (out.body instanceof Readable) pipeCapped(out.body, upstream, req.bodyLimit, () => stopWith(tooLarge(req.bodyLimit)));
      else upstream.end(out.body);
    });
  }
}
