import { Hono } from "hono";
import { badRequest } from "../errors.js";
import type { AppEnv } from "../http/env.js";
import type { Services } from "../services/index.js";
import { workspaceOf } from "./context.js";

export const AUDIT_DEFAULT_LIMIT = 50;
export const AUDIT_MAX_LIMIT = 200;

export function parseLimit(raw: string | undefined): number {
  if (raw === undefined || raw === "") return AUDIT_DEFAULT_LIMIT;
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw badRequest("invalid_payload", "limit must be a positive whole number");
  return Math.min(Number(raw), AUDIT_MAX_LIMIT);
}

export function auditRoutes(s: Services) {
  return new Hono<AppEnv>().get("/workspace/:id/audit", async (c) => {
    const workspace = workspaceOf(c, s);
    const limit = parseLimit(c.req.query("limit"));
    return c.json({ items: await s.audit.tail(workspace.path, limit) });
  });
}
