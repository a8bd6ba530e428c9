// Devices: scoped tokens (owner only). A token is shown once, when it is created; listings never
// carry it or its hash. A workspace-bound owner manages only tokens within its own workspaces, so
// it cannot mint itself a wider one.
import { ApiError, badRequest } from "../errors.js";
import type { Access } from "../http/auth.js";
import type { Handlers } from "../http/route.js";
import type { Services } from "../services/index.js";
import { LABEL_MAX, MAX_EXPIRES_IN_MS, MIN_EXPIRES_IN_MS } from "../services/tokens.js";

/** Whether a token bound to `workspaces` (none: every workspace) lies within what `access` reaches. */
export const within = (access: Access, workspaces: readonly string[] | undefined) =>
  access.workspaces === null || (workspaces?.every((id) => access.workspaces!.has(id)) ?? false);

function checkLabel(raw: string): string {
  const label = raw.replace(/\s+/g, " ").trim();
  if (label === "" || label.length > LABEL_MAX) {
    throw badRequest("invalid_payload", `label must be 1 to ${LABEL_MAX} characters`, { field: "label", max: LABEL_MAX });
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are refused on purpose
  if (/[\u0000-\u001f\u007f]/.test(label))
    throw badRequest("invalid_payload", "label must not contain control characters", { field: "label" });
  return label;
}

export function tokenHandlers(s: Services) {
  return {
    createToken: async (_c, { body, access }) => {
      const label = checkLabel(body.label);
      if (body.expiresInMs !== undefined && (body.expiresInMs < MIN_EXPIRES_IN_MS || body.expiresInMs > MAX_EXPIRES_IN_MS)) {
        throw badRequest("invalid_payload", `expiresInMs must be from ${MIN_EXPIRES_IN_MS} to ${MAX_EXPIRES_IN_MS}`, {
          field: "expiresInMs",
        });
      }
      let workspaces = body.workspaces;
      if (workspaces !== undefined) {
        workspaces = [...new Set(workspaces)];
        if (workspaces.length === 0)
          throw badRequest("invalid_payload", "workspaces must name at least one workspace", { field: "workspaces" });
        const unknown = workspaces.filter((id) => !s.registry.list().some((w) => w.id === id));
        if (unknown.length > 0)
          throw badRequest("invalid_payload", "workspaces names unknown workspaces", { field: "workspaces", unknown });
      }
      // A bound owner hands out at most what it has itself.
      if (access!.workspaces !== null) {
        workspaces ??= [...access!.workspaces];
        if (!within(access!, workspaces)) {
          throw new ApiError(403, "workspace_forbidden", "A token may only be limited to workspaces this token reaches", {
            field: "workspaces",
          });
        }
      }
      const { info, token } = await s.tokens.create({
        scope: body.scope,
        label,
        ...(body.expiresInMs !== undefined ? { expiresInMs: body.expiresInMs } : {}),
        ...(workspaces ? { workspaces } : {}),
        // Remembered so the host can see what a device added (and revoke it too); never the
        // self-declared client id.
        createdBy: {
          type: access!.actor.type,
          ...(access!.actor.tokenId ? { tokenId: access!.actor.tokenId } : {}),
          ...(access!.actor.label ? { label: access!.actor.label } : {}),
        },
      });
      const { lastUsedAt: _never, ...created } = info;
      return { ...created, token };
    },

    listTokens: (_c, { query, access }) => ({
      items: s.tokens
        .listAll()
        .filter((t) => (query.state === "all" || (query.state === "active") === (t.state === "active")) && within(access!, t.workspaces)),
    }),

    deleteToken: async (_c, { params, access }) => {
      const record = s.tokens.get(params.id);
      if (!record || !within(access!, record.workspaces)) {
        throw new ApiError(404, "token_not_found", "No active token with that id", { id: params.id });
      }
      await s.tokens.revoke(params.id);
      return { ok: true as const };
    },
  } satisfies Partial<Handlers>;
}
