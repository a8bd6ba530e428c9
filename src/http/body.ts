// Request bodies: capped in size (declared or chunked), JSON only, bounded in depth, free of
// prototype keys. Each operation's schema then validates the value (src/http/route.ts).
// A bodiless request is never judged by its Content-Type (the OpenWork app sends one on GETs).
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Readable } from "node:stream";
import type { HttpBindings } from "@hono/node-server";
import type { Context, MiddlewareHandler } from "hono";
import { ApiError, badRequest } from "../errors.js";
import { inspectJson } from "../workspace/jsonc.js";
import type { AppEnv } from "./env.js";

export const tooLarge = (limit: number) =>
  new ApiError(413, "payload_too_large", `Request body exceeds ${limit} bytes`, { limitBytes: limit });

/** Refuses a declared Content-Length over the cap before anything is read. */
export function bodyLimit(limit: number): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const declared = c.req.header("Content-Length");
    if (declared !== undefined && Number(declared) > limit) throw tooLarge(limit);
    c.set("bodyLimit", limit);
    await next();
  };
}

/** A whole body stream, refused with 413 as soon as it passes `limit` bytes (chunked ones too). */
async function readStreamCapped(stream: ReadableStream<Uint8Array>, limit: number): Promise<Uint8Array<ArrayBuffer>> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/**
 * The body of a request served by node:http, read from Node's own stream and refused with 413 as
 * soon as it passes `limit` bytes. (Going through the web Request's stream costs more CPU than the
 * rest of a small write.) After a refusal the rest is left unread: the adapter drains a little of
 * it once the answer is sent, then closes the connection.
 */
function readNodeCapped(incoming: Readable, limit: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const settle = () => {
      incoming.off("data", onData).off("end", onEnd).off("error", onError).off("close", onClose);
    };
    const onData = (chunk: Buffer) => {
      total += chunk.byteLength;
      if (total <= limit) return void chunks.push(chunk);
      settle();
      incoming.pause();
      reject(tooLarge(limit));
    };
    const onEnd = () => {
      settle();
      resolve(Buffer.concat(chunks, total));
    };
    const onError = (error: Error) => {
      settle();
      reject(error);
    };
    // Closed before its end: the client left mid-body; nobody is there to read the answer.
    const onClose = () => onError(badRequest("invalid_payload", "The request body ended early"));
    incoming.on("data", onData).on("end", onEnd).on("error", onError).on("close", onClose);
  });
}

/** Node's own request and answer, for a request node:http serves. */
export interface NodeExchange {
  incoming: IncomingMessage;
  outgoing: ServerResponse;
}

/**
 * Node's own request and answer when node:http serves the request and nothing has started reading
 * the body (through the web Request's stream); undefined otherwise (in-process requests).
 */
export function nodeExchange(c: Context<AppEnv>): NodeExchange | undefined {
  const env = c.env as Partial<HttpBindings> | undefined;
  const incoming = env?.incoming;
  if (!incoming || !env.outgoing || incoming.readableFlowing !== null || incoming.readableEnded) return undefined;
  return { incoming, outgoing: env.outgoing };
}

/**
 * A request's body bytes, at most `limit` of them (413 beyond): from Node's stream when node:http
 * serves it, else from the web Request's.
 */
export function requestBytes(request: Request, node: NodeExchange | undefined, limit: number): Promise<Uint8Array> {
  if (node) return readNodeCapped(node.incoming, limit);
  return request.body ? readStreamCapped(request.body, limit) : Promise.resolve(new Uint8Array());
}

/** Refuses a body whose Content-Type is not JSON (`application/json` or `application/*+json`). */
export function assertJsonType(contentType: string | null | undefined): void {
  const type = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  if (type === "application/json" || /^application\/[\w.+-]+\+json$/.test(type)) return;
  throw new ApiError(415, "unsupported_media_type", "Request body must be JSON (Content-Type: application/json)");
}

/** Deepest nesting a body may have: far beyond any real config, far below any stack limit. */
export const MAX_JSON_DEPTH = 64;
/**
 * Most keys one object of a body may have: far beyond any real map (environment, headers, mcp),
 * and checked right after parsing, before schema validation spends microseconds per key.
 */
export const MAX_JSON_KEYS = 10_000;

/** The parsed JSON body, or undefined when the request has none. */
export async function readJson(c: Context<AppEnv>): Promise<unknown> {
  const limit = c.get("bodyLimit") ?? 1024 * 1024;
  const bytes = await requestBytes(c.req.raw, nodeExchange(c), limit);
  if (bytes.byteLength === 0) return undefined;
  assertJsonType(c.req.header("Content-Type"));
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw badRequest("invalid_json", "Request body is not valid UTF-8");
  }
  if (text.trim() === "") return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw badRequest("invalid_json", `Request body is not valid JSON: ${(error as Error).message}`);
  }
  // One walk for all three checks (iterative: no stack to blow; objects only: linear in the body).
  const { tooDeep, tooWide, forbidden } = inspectJson(value, MAX_JSON_DEPTH, MAX_JSON_KEYS);
  if (tooDeep) {
    throw badRequest("invalid_payload", `Request body is nested deeper than ${MAX_JSON_DEPTH} levels`, { maxDepth: MAX_JSON_DEPTH });
  }
  if (tooWide) {
    throw badRequest("invalid_payload", `Request body has an object with more than ${MAX_JSON_KEYS} keys`, {
      maxKeys: MAX_JSON_KEYS,
      path: tooWide.join("."),
    });
  }
  if (forbidden) {
    throw badRequest("invalid_payload", `Forbidden key "${forbidden.at(-1)}" in request body`, {
      path: forbidden.join("."),
    });
  }
  return value;
}
