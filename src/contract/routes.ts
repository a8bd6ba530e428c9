// The API's routes: where each operation lives and who may call it. Plain data with no
// dependencies, so the published client (src/client) can use it at run time; the request and
// response schemas of each operation are in ./schemas.ts, keyed by the same ids. The server
// registers exactly these routes (src/http/route.ts) and /openapi.json is built from them.

export const SCOPES = ["viewer", "collaborator", "owner"] as const;
export type Scope = (typeof SCOPES)[number];

export type HttpMethod = "GET" | "POST" | "PATCH" | "DELETE" | "PUT";

export interface RouteInfo {
  method: HttpMethod;
  /** Hono path: `:param`, optionally with a pattern (`:name{.+}`). */
  path: string;
  /** Who may call it: anyone, or a credential of at least this scope. */
  scope: "public" | Scope;
  summary: string;
  description?: string;
  /** Status of the success answer (default 200). */
  status?: 200 | 201;
  /** Also answers `Accept: text/event-stream` with a live stream. */
  stream?: boolean;
  /** Also mounted under `/w/:id` for one workspace (every `/workspace/:id/...` route is). */
  mounted?: boolean;
  /** A write that waits for approval: admitted within the pending limits, answered at shutdown. */
  gated?: boolean;
  /** Error statuses beyond those every route of its kind can answer. */
  errors?: number[];
}

/** The prefix of the one-workspace mount: `/w/:id/skills` is `/workspace/:id/skills`. */
export const WORKSPACE_PREFIX = "/workspace/:id";
export const MOUNT_PREFIX = "/w/:id";

export const ROUTES = {
  // ---- server
  getHealth: { method: "GET", path: "/health", scope: "public", summary: "Liveness and version", mounted: true },
  getOpenapi: { method: "GET", path: "/openapi.json", scope: "public", summary: "This OpenAPI document" },
  getCapabilities: {
    method: "GET",
    path: "/capabilities",
    scope: "viewer",
    summary: "What this server lets the caller do",
    mounted: true,
  },
  whoami: { method: "GET", path: "/whoami", scope: "viewer", summary: "Who the credentials of this request belong to", mounted: true },
  getStatus: {
    method: "GET",
    path: "/status",
    scope: "viewer",
    summary: "Everything a client checks to test its connection",
    description:
      "Per workspace: whether its engine is configured and reachable (probes cached a few seconds, bounded by a short timeout) and whether the file watcher runs. `instanceId` changes when the server restarts.",
    mounted: true,
  },
  listWorkspaces: { method: "GET", path: "/workspaces", scope: "viewer", summary: "The workspaces this credential reaches", mounted: true },

  // ---- devices (scoped tokens)
  createToken: {
    method: "POST",
    path: "/tokens",
    scope: "owner",
    summary: "Add a device: create a scoped token (shown once)",
    status: 201,
    errors: [400],
  },
  listTokens: {
    method: "GET",
    path: "/tokens",
    scope: "owner",
    summary: "Devices: the scoped tokens (never the tokens themselves or their hashes)",
    description:
      "`state=active` (default) lists the tokens that work; `ended` the revoked and expired ones the store still remembers (30 days), so the host can see why a device stopped; `all` both.",
    errors: [400],
  },
  deleteToken: { method: "DELETE", path: "/tokens/:id", scope: "owner", summary: "Revoke a device's token at once", errors: [404] },

  // ---- approvals (owner: the host page, or a device with an owner token)
  listApprovals: {
    method: "GET",
    path: "/approvals",
    scope: "owner",
    summary: "Pending approval requests (or, with state=decided, recent decisions)",
    description:
      "Each request carries exactly what it will change (`changes`: diffs and texts, secrets masked) and what that means (`risks`). With `Accept: text/event-stream`: a `snapshot` event, then `requested` and `resolved` events as they happen. `state=decided` answers the recent decisions from the audit logs, newest first.",
    stream: true,
    errors: [400],
  },
  createGrant: {
    method: "POST",
    path: "/approvals/grants",
    scope: "owner",
    summary: "Let one credential's writes of some actions in one workspace through without asking (at most an hour)",
    description: "Writes that run code or widen permissions are always asked. Grants end at a restart.",
    status: 201,
    errors: [400],
  },
  listGrants: { method: "GET", path: "/approvals/grants", scope: "owner", summary: "Active grants" },
  deleteGrant: { method: "DELETE", path: "/approvals/grants/:id", scope: "owner", summary: "End a grant", errors: [404] },
  replyApproval: {
    method: "POST",
    path: "/approvals/:id",
    scope: "owner",
    summary: "Answer an approval request",
    errors: [400, 404],
  },
  pairingQr: {
    method: "POST",
    path: "/host/pairing/qr",
    scope: "owner",
    summary: "The QR code a device scans to pair: server URL + one of its scoped tokens",
    description:
      "The payload is `openwork://connect?v=1&url=<server URL>&token=<token>` (URL-encoded; `&workspace=<id>` when the token is bound to exactly one workspace). The answer holds the payload, the code's modules (`rows`, `1` = dark) and an SVG rendering. The token must be an active scoped token the caller could list.",
    errors: [400, 404],
  },
  getPairing: {
    method: "GET",
    path: "/host/pairing",
    scope: "owner",
    summary: "What a host needs to pair a client (URLs, client token, workspaces)",
  },

  // ---- one workspace
  getConfig: {
    method: "GET",
    path: "/workspace/:id/config",
    scope: "viewer",
    summary: "Project OpenCode config and OpenWork config",
    description: "With an `ETag` header for `If-Match` on PATCH.",
    errors: [422],
  },
  patchConfig: {
    method: "PATCH",
    path: "/workspace/:id/config",
    scope: "collaborator",
    gated: true,
    summary: "Set or remove top-level config keys (approval-gated)",
    description:
      "Each `opencode` key replaces that top-level key (comments and formatting kept); `openwork` is a shallow merge; `null` removes a key. `If-Match` (an ETag from GET) makes a stale write a 412.",
    errors: [412, 422],
  },
  listAudit: {
    method: "GET",
    path: "/workspace/:id/audit",
    scope: "viewer",
    summary: "Audit entries, newest first",
    errors: [400, 422],
  },
  listPlugins: {
    method: "GET",
    path: "/workspace/:id/plugins",
    scope: "viewer",
    summary: "Plugins: config specs and plugin files",
    description: "`includeGlobal=true` adds the host user's global plugins and needs the owner scope.",
    errors: [422],
  },
  addPlugin: {
    method: "POST",
    path: "/workspace/:id/plugins",
    scope: "collaborator",
    gated: true,
    summary: "Add a plugin spec to the project config (approval-gated)",
    errors: [422],
  },
  removePlugin: {
    method: "DELETE",
    path: "/workspace/:id/plugins/:name{.+}",
    scope: "collaborator",
    gated: true,
    summary: "Remove a plugin spec from the project config (approval-gated)",
    description: "`name` may be a scoped package (`@scope/pkg`), encoded or not.",
    errors: [422],
  },
  listMcp: { method: "GET", path: "/workspace/:id/mcp", scope: "viewer", summary: "MCP servers of the project config", errors: [422] },
  addMcp: {
    method: "POST",
    path: "/workspace/:id/mcp",
    scope: "collaborator",
    gated: true,
    summary: "Add or replace an MCP server (approval-gated)",
    errors: [422],
  },
  removeMcp: {
    method: "DELETE",
    path: "/workspace/:id/mcp/:name",
    scope: "collaborator",
    gated: true,
    summary: "Remove an MCP server (approval-gated)",
    errors: [422],
  },
  listSkills: {
    method: "GET",
    path: "/workspace/:id/skills",
    scope: "viewer",
    summary: "Skills, sorted by name",
    description: "`includeGlobal=true` adds the host user's global skills and needs the owner scope.",
  },
  getSkill: {
    method: "GET",
    path: "/workspace/:id/skills/:name",
    scope: "viewer",
    summary: "One project skill with its text",
    errors: [422],
  },
  upsertSkill: {
    method: "POST",
    path: "/workspace/:id/skills",
    scope: "collaborator",
    gated: true,
    summary: "Add or update a project skill (approval-gated)",
    errors: [422],
  },
  deleteSkill: {
    method: "DELETE",
    path: "/workspace/:id/skills/:name",
    scope: "collaborator",
    gated: true,
    summary: "Delete a project skill (approval-gated)",
    errors: [422],
  },
  listCommands: {
    method: "GET",
    path: "/workspace/:id/commands",
    scope: "viewer",
    summary: "Commands, sorted by name",
    description: "`scope=global` lists the host user's global commands and needs the owner scope.",
    errors: [400],
  },
  upsertCommand: {
    method: "POST",
    path: "/workspace/:id/commands",
    scope: "collaborator",
    gated: true,
    summary: "Add or update a project command (approval-gated)",
    errors: [422],
  },
  deleteCommand: {
    method: "DELETE",
    path: "/workspace/:id/commands/:name",
    scope: "collaborator",
    gated: true,
    summary: "Delete a project command (approval-gated)",
    errors: [422],
  },
  listAgents: {
    method: "GET",
    path: "/workspace/:id/agents",
    scope: "viewer",
    summary: "Agents: files in .opencode/agents and .opencode/agent, and the config's agent map",
  },
  getAgent: {
    method: "GET",
    path: "/workspace/:id/agents/:name{.+}",
    scope: "viewer",
    summary: "One agent: its file's text, or its config entry",
    errors: [422],
  },
  upsertAgent: {
    method: "POST",
    path: "/workspace/:id/agents",
    scope: "collaborator",
    gated: true,
    summary: "Add or update an agent file (approval-gated)",
    description:
      "`name` and either `content` (a whole agent file) or the fields and `prompt`. Checked as OpenCode 1.18 reads it: a field that would make the engine refuse the directory is a 400 naming the field.",
    errors: [422],
  },
  deleteAgent: {
    method: "DELETE",
    path: "/workspace/:id/agents/:name{.+}",
    scope: "collaborator",
    gated: true,
    summary: "Delete an agent's files (approval-gated)",
    errors: [422],
  },
  exportWorkspace: {
    method: "GET",
    path: "/workspace/:id/export",
    scope: "viewer",
    summary: "Export the workspace's setup",
    errors: [422],
  },
  previewImport: {
    method: "POST",
    path: "/workspace/:id/import/preview",
    scope: "viewer",
    summary: "What an import would change (writes nothing)",
    errors: [422],
  },
  importWorkspace: {
    method: "POST",
    path: "/workspace/:id/import",
    scope: "collaborator",
    gated: true,
    summary: "Import a workspace setup (approval-gated)",
    errors: [422],
  },
  listEvents: {
    method: "GET",
    path: "/workspace/:id/events",
    scope: "viewer",
    summary: "Reload events after a cursor",
    description: "With `Accept: text/event-stream`: a live stream (`id:` = seq); `Last-Event-ID` wins over `since`.",
    stream: true,
    errors: [400],
  },
  reloadEngine: {
    method: "POST",
    path: "/workspace/:id/engine/reload",
    scope: "collaborator",
    gated: true,
    summary: "Make the OpenCode engine re-read the workspace (approval-gated)",
    description: "No body. Allowed on a read-only server.",
    errors: [400, 409, 502, 504],
  },
} as const satisfies Record<string, RouteInfo>;

export type OperationId = keyof typeof ROUTES;
export const OPERATION_IDS = Object.keys(ROUTES) as OperationId[];

/** Whether a route exists once more under `/w/:id` (every workspace route, and the marked ones). */
export function isMounted(route: RouteInfo): boolean {
  return route.path.startsWith(`${WORKSPACE_PREFIX}/`) || route.mounted === true;
}

/** The route's path under the one-workspace mount. */
export function mountedPath(route: RouteInfo): string {
  return route.path.startsWith(`${WORKSPACE_PREFIX}/`)
    ? `${MOUNT_PREFIX}${route.path.slice(WORKSPACE_PREFIX.length)}`
    : `${MOUNT_PREFIX}${route.path}`;
}
