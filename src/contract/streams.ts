// What the two live streams carry, per SSE event type. `GET /workspace/:id/events` sends each
// reload event as a default (`message`) event with `id:` = its seq; `GET /approvals` sends a
// `snapshot`, then `requested` and `resolved` events. The client's stream helpers are typed
// from these schemas, and the tests validate what the real streams send against them.
import { z } from "zod";
import { approvalRequest, decidedBy, reloadEvent } from "./entities.js";

export const approvalSnapshot = z.object({
  items: z.array(approvalRequest),
  now: z.number().meta({ description: "The server's clock (ms), for countdowns to expiresAt" }),
  instanceId: z.string().meta({ description: "Changes when the server restarts" }),
});

export const approvalResolved = z.object({
  id: z.string(),
  allowed: z.boolean(),
  reason: z.enum(["denied", "timeout", "withdrawn", "shutdown"]).optional(),
  decidedBy: decidedBy.optional(),
  resolvedAt: z.number(),
});

export const APPROVAL_STREAM_EVENTS = {
  snapshot: approvalSnapshot,
  requested: approvalRequest,
  resolved: approvalResolved,
} as const;

/** The data of each message on the events stream. */
export const EVENT_STREAM_MESSAGE = reloadEvent;
