// CORS: `*` or an allow-list of origins. Headers are set before the handler runs (never by
// touching the finished response, which would make Node's adapter copy and stream every body:
// hono's own cors middleware measured 3x slower here for exactly that reason).
import type { MiddlewareHandler } from "hono";
import { CLIENT_ID_HEADER, HOST_TOKEN_HEADER } from "./auth.js";
import type { AppEnv } from "./env.js";

export const CORS_ALLOW_HEADERS = ["Authorization", "Content-Type", HOST_TOKEN_HEADER, CLIENT_ID_HEADER, "If-Match", "Last-Event-ID"];
export const CORS_ALLOW_METHODS = ["GET", "POST", "PATCH", "DELETE", "OPTIONS"];
// Readable by a page of another origin: the config's version and how long a 429 should wait.
const EXPOSE_HEADERS = "ETag, Retry-After";
const MAX_AGE_SECONDS = "600";

export function cors(origins: "*" | string[]): MiddlewareHandler<AppEnv> {
  const allowList = origins === "*" ? null : new Set(origins);
  return async (c, next) => {
    const origin = c.req.header("Origin");
    const allowOrigin = allowList === null ? "*" : origin !== undefined && allowList.has(origin) ? origin : null;

    if (c.req.method === "OPTIONS") {
      const headers = new Headers();
      if (allowOrigin) {
        headers.set("Access-Control-Allow-Origin", allowOrigin);
        headers.set("Access-Control-Allow-Methods", CORS_ALLOW_METHODS.join(", "));
        headers.set("Access-Control-Allow-Headers", CORS_ALLOW_HEADERS.join(", "));
        headers.set("Access-Control-Max-Age", MAX_AGE_SECONDS);
      }
      if (allowList !== null) headers.set("Vary", "Origin");
      return new Response(null, { status: 204, headers });
    }

    if (allowOrigin) {
      c.header("Access-Control-Allow-Origin", allowOrigin);
      c.header("Access-Control-Expose-Headers", EXPOSE_HEADERS);
    }
    if (allowList !== null) c.header("Vary", "Origin");
    await next();
  };
}
