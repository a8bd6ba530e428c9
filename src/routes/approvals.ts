// Approvals (owner: the host page, or a device with an owner token): the pending list (JSON, or
// live as SSE), recent decisions, the answer, and grants. A workspace-bound owner sees, answers
// and grants only within its workspaces.
import type { Context } from "hono";
import { AUDIT_MAX_LIMIT, DECIDED_DEFAULT_LIMIT } from "../contract/schemas.js";
import { ApiError, badRequest } from "../errors.js";
import type { Access } from "../http/auth.js";
import type { AppEnv } from "../http/env.js";
import type { Handlers } from "../http/route.js";
import type { ApprovalEvent } from "../services/approvals.js";
import { LEGACY_GRANTEE } from "../services/grants.js";
import type { Services } from "../services/index.js";
import { deciderOf } from "../services/write-pipeline.js";
import { liveStream, untilTokenEnds, wantsEventStream } from "./sse.js";

/** How often an idle approvals stream sends a comment line, so proxies keep it open. */
const APPROVAL_HEARTBEAT_MS = 15_000;
/**
 * What an approvals subscriber may have queued before it is dropped: a snapshot holds every
 * pending request with its changes (at most 32 requests of about 1 MiB each can wait at once).
 */
const APPROVAL_STREAM_BUFFER = 64 * 1024 * 1024;

const reaches = (access: Access | undefined, workspaceId: string) => !access?.workspaces || access.workspaces.has(workspaceId);

export function approvalHandlers(s: Services) {
  const notFound = () => new ApiError(404, "not_found", "No pending approval with that id (answered, expired or withdrawn)");

  /** Recent decisions of every workspace the caller reaches, newest first, from the audit logs. */
  const decided = async (access: Access | undefined, limit: number) => {
    const logs = await Promise.all(
      s.registry
        .list()
        .filter((w) => w.authorized && reaches(access, w.id))
        .map((w) => s.audit.tail(w.path, limit).catch(() => [])),
    );
    return logs
      .flat()
      .sort((a, b) => (b.decidedAt ?? b.timestamp) - (a.decidedAt ?? a.timestamp))
      .slice(0, limit);
  };

  return {
    listApprovals: async (c, { query, access }) => {
      if (query.state === "decided")
        return { items: await decided(access, Math.min(query.limit ?? DECIDED_DEFAULT_LIMIT, AUDIT_MAX_LIMIT)) };
      if (wantsEventStream(c.req.header("Accept"))) return approvalStream(c, s, access);
      return { items: s.approvals.list().filter((r) => reaches(access, r.workspaceId)) };
    },

    replyApproval: (_c, { params, body, access }) => {
      const allowed = body.reply === "allow";
      const request = s.approvals.get(params.id);
      if (!request || !reaches(access, request.workspaceId)) throw notFound();
      if (!s.approvals.reply(params.id, allowed, deciderOf(access!.actor))) throw notFound();
      return { ok: true as const, allowed };
    },

    createGrant: (_c, { body, access }) => {
      if (!reaches(access, body.workspaceId)) {
        throw new ApiError(403, "workspace_forbidden", "This token is not allowed to reach that workspace", {
          workspaceId: body.workspaceId,
        });
      }
      const workspace = s.registry.list().find((w) => w.id === body.workspaceId);
      if (!workspace) throw badRequest("invalid_payload", "workspaceId names no workspace", { field: "workspaceId" });
      if (body.tokenId !== LEGACY_GRANTEE && !s.tokens.get(body.tokenId)) {
        throw badRequest("invalid_payload", `tokenId names no active token (or use "${LEGACY_GRANTEE}" for the client token)`, {
          field: "tokenId",
        });
      }
      return s.grants.create({
        tokenId: body.tokenId,
        workspaceId: body.workspaceId,
        actions: body.actions,
        ttlMs: body.ttlMs,
        createdBy: access!.actor,
      });
    },

    listGrants: (_c, { access }) => ({ items: s.grants.list().filter((g) => reaches(access, g.workspaceId)) }),

    deleteGrant: (_c, { params, access }) => {
      const grant = s.grants.get(params.id);
      if (!grant || !reaches(access, grant.workspaceId)) throw new ApiError(404, "not_found", "No active grant with that id");
      s.grants.revoke(params.id);
      return { ok: true as const };
    },
  } satisfies Partial<Handlers>;
}

/**
 * `GET /approvals` with `Accept: text/event-stream`: a `snapshot` event with the pending list
 * (`{ items, now }`, `now` being the server clock for countdowns, `instanceId` the server's run),
 * then a `requested` event per new request and a `resolved` event per outcome, until the client
 * goes away or its token ends.
 */
function approvalStream(c: Context<AppEnv>, s: Services, access: Access | undefined) {
  const known = new Set<string>();
  const options = { heartbeatMs: APPROVAL_HEARTBEAT_MS, maxBufferedBytes: APPROVAL_STREAM_BUFFER, until: untilTokenEnds(s.tokens, access) };
  return liveStream(c, options, (out) => {
    const send = (event: string, data: unknown) => out.send({ event, data: JSON.stringify(data) });
    const items = s.approvals.list().filter((r) => reaches(access, r.workspaceId));
    for (const item of items) known.add(item.id);
    send("snapshot", { items, now: Date.now(), instanceId: s.instanceId });
    return s.approvals.subscribe((event: ApprovalEvent) => {
      if (event.type === "requested") {
        if (!reaches(access, event.request.workspaceId)) return;
        known.add(event.request.id);
        send("requested", event.request);
      } else if (known.delete(event.id)) {
        const { type: _type, ...outcome } = event;
        send("resolved", outcome);
      }
    });
  });
}
