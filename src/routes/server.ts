// Server-wide reads: health, the OpenAPI document, capabilities, who am I, status ("test
// connection") and the workspace list. Under `/w/:id` each answers for that one workspace.
import type { Context } from "hono";
import { SCOPES } from "../contract/routes.js";
import type { Access } from "../http/auth.js";
import type { AppEnv } from "../http/env.js";
import type { Handlers } from "../http/route.js";
import { openApiBytes } from "../openapi.js";
import { engineTarget } from "../services/engine.js";
import type { Services } from "../services/index.js";
import { describeWorkspace, type Workspace } from "../workspaces.js";

/** The workspaces a request may see: its bound token's (or all), narrowed to the mounted one. */
function visibleWorkspaces(s: Services, access: Access | undefined, mounted: string | undefined): Workspace[] {
  return s.registry
    .list()
    .filter((w) => (mounted === undefined || w.id === mounted) && (!access?.workspaces || access.workspaces.has(w.id)));
}

export function serverHandlers(s: Services) {
  return {
    getHealth: () => ({ ok: true as const, version: s.version, uptimeMs: Date.now() - s.startedAt }),

    getOpenapi: (c: Context<AppEnv>) => {
      const bytes = openApiBytes(s.version);
      return c.body(bytes.slice(), 200, { "Content-Type": "application/json", "Cache-Control": "no-cache" });
    },

    getCapabilities: (_c, { access }) => {
      const write = !s.settings.readOnly;
      return {
        skills: { read: true, write, source: "openwork" as const },
        plugins: { read: true, write },
        mcp: { read: true, write },
        commands: { read: true, write },
        config: { read: true, write },
        tokens: { scoped: true as const, scopes: [...SCOPES] },
        approvals: { mode: s.settings.approval.mode, timeoutMs: s.settings.approval.timeoutMs },
        proxy: { opencode: s.registry.list().some((w) => w.baseUrl !== undefined) },
        scope: access!.actor.scope,
      };
    },

    whoami: (_c, { access }) => {
      const { actor, workspaces } = access!;
      return {
        kind: actor.type,
        scope: actor.scope,
        ...(actor.tokenId ? { tokenId: actor.tokenId } : {}),
        ...(actor.label ? { label: actor.label } : {}),
        ...(actor.clientId ? { clientId: actor.clientId } : {}),
        ...(workspaces ? { workspaces: [...workspaces] } : {}),
      };
    },

    getStatus: async (_c, { access, mountedWorkspace }) => {
      const workspaces = await Promise.all(
        visibleWorkspaces(s, access, mountedWorkspace).map(async (w) => {
          const engine = w.baseUrl ? { configured: true, ...(await s.engineProbe.health(engineTarget(w))) } : { configured: false };
          // A watcher still starting up counts as on: changes are reported once it is set up.
          const state = s.watcher?.state(w.id) ?? "off";
          return { id: w.id, name: w.name, engine, watcher: state === "starting" ? ("on" as const) : state };
        }),
      );
      const visible = new Set(workspaces.map((w) => w.id));
      return {
        version: s.version,
        instanceId: s.instanceId,
        uptimeMs: Date.now() - s.startedAt,
        readOnly: s.settings.readOnly,
        approval: { mode: s.settings.approval.mode, timeoutMs: s.settings.approval.timeoutMs },
        pendingApprovals: s.approvals.list().filter((r) => visible.has(r.workspaceId)).length,
        workspaces,
      };
    },

    listWorkspaces: (_c, { access, mountedWorkspace }) => ({
      items: visibleWorkspaces(s, access, mountedWorkspace).map(describeWorkspace),
    }),
  } satisfies Partial<Handlers>;
}
