// `GET /openapi.json`: the OpenAPI 3.1 document (see src/openapi.ts). Public: it holds no secrets.
// Built once, on the first request (not at startup: it takes tens of ms); every request sends the
// same bytes.
import { Hono } from "hono";
import type { AppEnv } from "../http/env.js";
import { openApiBytes } from "../openapi.js";
import type { Services } from "../services/index.js";

export function openapiRoutes(s: Services) {
  let bytes: Uint8Array | undefined;
  return new Hono<AppEnv>().get("/openapi.json", (c) => {
    bytes ??= openApiBytes(s.version);
    return c.body(bytes.slice(), 200, { "Content-Type": "application/json", "Cache-Control": "no-cache" });
  });
}
