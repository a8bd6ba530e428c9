// Host approvals: the pending list (JSON, or live as SSE for the host page) and the host's answer.
import { type Context, Hono } from "hono";
import { z } from "zod";
import { ApiError } from "../errors.js";
import { parseBody } from "../http/body.js";
import type { AppEnv } from "../http/env.js";
import type { ApprovalEvent } from "../services/approvals.js";
import type { Services } from "../services/index.js";
import { liveStream, wantsEventStream } from "./sse.js";

/** How often an idle approvals stream sends a comment line, so proxies keep it open. */
const APPROVAL_HEARTBEAT_MS = 15_000;

export const approvalReplySchema = z.object({ reply: z.enum(["allow", "deny"]) });

export function approvalsRoutes(s: Services) {
  return new Hono<AppEnv>()
    .get("/approvals", (c) => (wantsEventStream(c.req.header("Accept")) ? approvalStream(c, s) : c.json({ items: s.approvals.list() })))
    .post("/approvals/:id", async (c) => {
      const { reply } = await parseBody(c, approvalReplySchema);
      const allowed = reply === "allow";
      if (!s.approvals.reply(c.req.param("id"), allowed)) {
        throw new ApiError(404, "not_found", "No pending approval with that id (answered or expired)");
      }
      return c.json({ ok: true, allowed });
    });
}

/**
 * `GET /approvals` with `Accept: text/event-stream`: a `snapshot` event with the pending list
 * (`{ items, now }`, `now` being the server clock for countdowns), then a `requested` event per
 * new request and a `resolved` event per outcome, until the client goes away.
 */
function approvalStream(c: Context<AppEnv>, s: Services) {
  return liveStream(c, APPROVAL_HEARTBEAT_MS, (out) => {
    const send = (event: string, data: unknown) => out.send({ event, data: JSON.stringify(data) });
    send("snapshot", { items: s.approvals.list(), now: Date.now() });
    return s.approvals.subscribe((event: ApprovalEvent) => {
      if (event.type === "requested") send("requested", event.request);
      else {
        const { type: _type, ...outcome } = event;
        send("resolved", outcome);
      }
    });
  });
}
