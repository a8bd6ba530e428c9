// `GET /openapi.json`: the OpenAPI 3.1 document (see src/openapi.ts). Public: it holds no secrets.
// Built once, when the app is created; every request sends the same bytes.
import { Hono } from "hono";
import type { AppEnv } from "../http/env.js";
import { openApiBytes } from "../openapi.js";
import type { Services } from "../services/index.js";

export function openapiRoutes(s: Services) {
  const bytes = openApiBytes(s.version);
  return new Hono<AppEnv>().get("/openapi.json", (c) =>
    c.body(bytes.slice(), 200, { "Content-Type": "application/json", "Cache-Control": "no-cache" }),
  );
}
