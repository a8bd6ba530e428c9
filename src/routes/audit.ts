import { AUDIT_DEFAULT_LIMIT, AUDIT_MAX_LIMIT } from "../contract/schemas.js";
import type { Handlers } from "../http/route.js";
import type { Services } from "../services/index.js";
import { workspaceOf } from "./context.js";

export function auditHandlers(s: Services) {
  return {
    listAudit: async (_c, { params, query }) => {
      const workspace = workspaceOf(s, params.id);
      const limit = Math.min(query.limit ?? AUDIT_DEFAULT_LIMIT, AUDIT_MAX_LIMIT);
      return { items: await s.audit.tail(workspace.path, limit) };
    },
  } satisfies Partial<Handlers>;
}
