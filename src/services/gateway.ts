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
import { ApiError } from "../errors.js";
import { readStreamCapped, tooLarge } from "../http/body.js";
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

export interface ForwardRequest {
  /** The client's request as received. */
  request: Request;
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

/** Request headers never forwarded: the caller's credentials and what fetch computes itself. */
const DROP_REQUEST = new Set(["authorization", "cookie", "host", "content-length", "origin", "accept-encoding", "expect"]);

/** Response headers never passed back. */
const DROP_RESPONSE = new Set(["set-cookie", "set-cookie2", "www-authenticate"]);

/**
 * An answer of at most this many bytes, announced by Content-Length and not an event stream, is
 * read whole before it is passed on: it is complete on the wire already, and sending headers and
 * body in one write (instead of headers, then a chunk) is most of the proxy's cost per request.
 */
const SMALL_ANSWER_BYTES = 64 * 1024;

function connectionListed(headers: Headers): Set<string> {
  const listed = new Set<string>();
  for (const name of (headers.get("connection") ?? "").split(",")) {
    const trimmed = name.trim().toLowerCase();
    if (trimmed) listed.add(trimmed);
  }
  return listed;
}

export function forwardRequestHeaders(incoming: Headers): Headers {
  const listed = connectionListed(incoming);
  const out = new Headers();
  incoming.forEach((value, name) => {
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || DROP_REQUEST.has(lower) || listed.has(lower)) return;
    if (lower.startsWith("x-openwork-") || lower.startsWith("proxy-")) return;
    out.append(name, value);
  });
  // Compression would be undone by fetch anyway; identity keeps byte counts honest.
  out.set("accept-encoding", "identity");
  return out;
}

export function forwardResponseHeaders(incoming: Headers, rewriteLocation: (value: string) => string): Headers {
  const listed = connectionListed(incoming);
  const out = new Headers();
  incoming.forEach((value, name) => {
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || DROP_RESPONSE.has(lower) || listed.has(lower)) return;
    if (lower.startsWith("access-control-")) return;
    out.append(name, lower === "location" ? rewriteLocation(value) : value);
  });
  // Set-Cookie is not joined by forEach in every runtime; make sure none survives.
  out.delete("set-cookie");
  // fetch decodes a compressed body (we ask for identity, but an engine may compress anyway):
  // the encoding and the length on the wire no longer describe what we send.
  if (out.has("content-encoding")) {
    out.delete("content-encoding");
    out.delete("content-length");
  }
  return out;
}

function refusalError(refusal: Refusal): ApiError {
  return refusal.kind === "forbidden"
    ? new ApiError(403, "proxy_forbidden", refusal.message, refusal.details)
    : new ApiError(400, "path_escape", refusal.message, refusal.details);
}

/** A non-owner's body: read whole (capped), JSON only, and checked against the policy. */
async function checkedBody(req: ForwardRequest, headers: Headers): Promise<Uint8Array<ArrayBuffer> | undefined> {
  if (!req.request.body) return undefined;
  const bytes = await readStreamCapped(req.request.body, req.bodyLimit);
  if (bytes.byteLength === 0) return undefined;
  const type = (headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== "application/json" && !/^application\/[\w.+-]+\+json$/.test(type)) {
    throw new ApiError(415, "unsupported_media_type", "Request body must be JSON (Content-Type: application/json)");
  }
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

/** An owner's body, piped as it comes, failing the upload once it passes the cap. */
function cappedStream(body: ReadableStream<Uint8Array>, limit: number, onTooLarge: () => void): ReadableStream<Uint8Array> {
  let total = 0;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        total += chunk.byteLength;
        if (total > limit) {
          onTooLarge();
          controller.error(tooLarge(limit));
          return;
        }
        controller.enqueue(chunk);
      },
    }),
  );
}

export class Gateway {
  private readonly authHeader: string | undefined;
  private readonly timeoutMs: number;

  constructor(auth: { username: string; password: string } | undefined, options: GatewayOptions = {}) {
    this.authHeader = auth ? `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}` : undefined;
    this.timeoutMs = options.timeoutMs ?? GATEWAY_DEFAULTS.timeoutMs;
  }

  /** Forwards one request; throws ApiError for what is refused or fails before the engine answers. */
  async forward(req: ForwardRequest): Promise<Response> {
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
    const incomingUrl = new URL(request.url);
    const query = new URLSearchParams(incomingUrl.search);
    if (scope !== "owner") {
      const off = checkRequestTarget(target.directory, segments, query, request.headers);
      if (off) throw refusalError(off);
    }

    const headers = forwardRequestHeaders(request.headers);
    if (!headers.has("x-opencode-directory")) headers.set("x-opencode-directory", encodeURIComponent(target.directory));
    if (isReadMethod(method)) {
      if (!query.has("directory")) query.set("directory", target.directory);
      if (segments[0] === "api" && !query.has("location[directory]")) query.set("location[directory]", target.directory);
    }
    if (this.authHeader) headers.set("authorization", this.authHeader);

    const base = target.baseUrl.replace(/\/+$/, "");
    const search = query.toString();
    // The path was checked above: it starts with `/` and has no empty segment, so it cannot
    // change the host (`//evil.example`) or climb out of the base path.
    const upstreamUrl = `${base}${req.enginePath}${search ? `?${search}` : ""}`;

    let tooLargeHit = false;
    let body: BodyInit | undefined;
    let streamed = false;
    if (!isReadMethod(method) && request.body) {
      if (scope === "owner") {
        body = cappedStream(request.body, req.bodyLimit, () => {
          tooLargeHit = true;
        });
        streamed = true;
      } else {
        body = await checkedBody(req, request.headers);
      }
    }

    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.timeoutMs);
    const clientSignal = request.signal;
    const onClientGone = () => controller.abort();
    if (clientSignal.aborted) onClientGone();
    else clientSignal.addEventListener("abort", onClientGone, { once: true });

    let upstream: Response;
    try {
      upstream = await fetch(upstreamUrl, {
        method,
        headers,
        body,
        redirect: "manual",
        signal: controller.signal,
        ...(streamed ? { duplex: "half" } : {}),
      } as RequestInit);
    } catch (error) {
      if (tooLargeHit) throw tooLarge(req.bodyLimit);
      if (timedOut) {
        throw new ApiError(504, "opencode_timeout", `The engine did not answer within ${this.timeoutMs} ms`, {
          baseUrl: target.baseUrl,
          timeoutMs: this.timeoutMs,
        });
      }
      // The client left: nobody reads this answer.
      if (clientSignal.aborted) return new Response(null, { status: 499 });
      const cause = (error as { cause?: { code?: string } }).cause;
      throw new ApiError(502, "opencode_unreachable", "The engine is unreachable", {
        baseUrl: target.baseUrl,
        ...(cause?.code ? { reason: cause.code } : {}),
      });
    } finally {
      clearTimeout(timer);
      // From here the client leaving cancels the answer's body, which closes the upstream
      // request; aborting as well would surface as a stream error in the server's log.
      clientSignal.removeEventListener("abort", onClientGone);
    }

    if (upstream.status === 401) {
      await upstream.body?.cancel().catch(() => {});
      throw new ApiError(502, "opencode_unreachable", "The engine refused the gateway's credentials", {
        baseUrl: target.baseUrl,
        status: 401,
        hint: "check --opencode-username / --opencode-password",
      });
    }
    const engineOrigin = new URL(base).origin;
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
    const responseHeaders = forwardResponseHeaders(upstream.headers, rewriteLocation);
    const init = { status: upstream.status, statusText: upstream.statusText, headers: responseHeaders };
    if (method === "HEAD" || upstream.status === 204 || upstream.status === 304) {
      await upstream.body?.cancel().catch(() => {});
      return new Response(null, init);
    }
    const length = Number(responseHeaders.get("content-length") ?? Number.NaN);
    const eventStream = /^text\/event-stream/i.test(responseHeaders.get("content-type") ?? "");
    if (!eventStream && length <= SMALL_ANSWER_BYTES) {
      try {
        return new Response(await upstream.arrayBuffer(), init);
      } catch {
        throw new ApiError(502, "opencode_unreachable", "The engine's answer broke off", { baseUrl: target.baseUrl });
      }
    }
    return new Response(upstream.body, init);
  }
}
