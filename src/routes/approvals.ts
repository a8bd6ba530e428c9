import { Hono } from "hono";
import { z } from "zod";
import { ApiError } from "../errors.js";
import { parseBody } from "../http/body.js";
import type { AppEnv } from "../http/env.js";
import type { Services } from "../services/index.js";

const replySchema = z.object({ reply: z.enum(["allow", "deny"]) });

export function approvalsRoutes(s: Services) {
  return new Hono<AppEnv>()
    .get("/approvals", (c) => c.json({ items: s.approvals.list() }))
    .post("/approvals/:id", async (c) => {
      const { reply } = await parseBody(c, replySchema);
      const allowed = reply === "allow";
      if (!s.approvals.reply(c.req.param("id"), allowed)) {
        throw new ApiError(404, "not_found", "No pending approval with that id (answered or expired)");
      }
      return c.json({ ok: true, allowed });
    });
}
