// Approvals (owner: the host page, or a device with an owner token): the pending list (JSON, or
// live as SSE) and the answer. A workspace-bound owner sees and answers only its workspaces'.
import type { Context } from "hono";
import { ApiError } from "../errors.js";
import type { Access } from "../http/auth.js";
import type { AppEnv } from "../http/env.js";
import type { Handlers } from "../http/route.js";
import type { ApprovalEvent, ApprovalRequest } from "../services/approvals.js";
import type { Services } from "../services/index.js";
import { liveStream, untilTokenEnds, wantsEventStream } from "./sse.js";

/** How often an idle approvals stream sends a comment line, so proxies keep it open. */
const APPROVAL_HEARTBEAT_MS = 15_000;

const reaches = (access: Access | undefined, request: Pick<ApprovalRequest, "workspaceId">) =>
  !access?.workspaces || access.workspaces.has(request.workspaceId);

export function approvalHandlers(s: Services) {
  const visible = (access: Access | undefined) => s.approvals.list().filter((r) => reaches(access, r));
  return {
    listApprovals: (c, { access }) =>
      wantsEventStream(c.req.header("Accept")) ? approvalStream(c, s, access) : { items: visible(access) },

    replyApproval: (_c, { params, body, access }) => {
      const allowed = body.reply === "allow";
      const request = s.approvals.list().find((r) => r.id === params.id);
      if (!request || !reaches(access, request) || !s.approvals.reply(params.id, allowed)) {
        throw new ApiError(404, "not_found", "No pending approval with that id (answered or expired)");
      }
      return { ok: true as const, allowed };
    },
  } satisfies Partial<Handlers>;
}

/**
 * `GET /approvals` with `Accept: text/event-stream`: a `snapshot` event with the pending list
 * (`{ items, now }`, `now` being the server clock for countdowns), then a `requested` event per
 * new request and a `resolved` event per outcome, until the client goes away.
 */
function approvalStream(c: Context<AppEnv>, s: Services, access: Access | undefined) {
  const known = new Set<string>();
  return liveStream(
    c,
    APPROVAL_HEARTBEAT_MS,
    (out) => {
      const send = (event: string, data: unknown) => out.send({ event, data: JSON.stringify(data) });
      const items = s.approvals.list().filter((r) => reaches(access, r));
      for (const item of items) known.add(item.id);
      send("snapshot", { items, now: Date.now() });
      return s.approvals.subscribe((event: ApprovalEvent) => {
        if (event.type === "requested") {
          if (!reaches(access, event.request)) return;
          known.add(event.request.id);
          send("requested", event.request);
        } else if (known.delete(event.id)) {
          const { type: _type, ...outcome } = event;
          send("resolved", outcome);
        }
      });
    },
    untilTokenEnds(s.tokens, access),
  );
}
