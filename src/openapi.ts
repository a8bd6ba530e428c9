// The OpenAPI 3.1 document served at `GET /openapi.json`. One entry per route; request bodies
// come from the same zod schemas the routes validate with, so the two cannot disagree.
// test/openapi.test.ts compares this table with the routes the app really registers.
import { z } from "zod";
import { CLIENT_ID_HEADER, HOST_TOKEN_HEADER } from "./http/auth.js";
import { approvalReplySchema } from "./routes/approvals.js";
import { AUDIT_DEFAULT_LIMIT, AUDIT_MAX_LIMIT } from "./routes/audit.js";
import { commandUpsertSchema } from "./routes/commands.js";
import { configPatchSchema } from "./routes/config.js";
import { RELOAD_MAX_WAIT_MS } from "./routes/engine.js";
import { mcpAddSchema } from "./routes/mcp.js";
import { pluginAddSchema } from "./routes/plugins.js";
import { skillUpsertSchema } from "./routes/skills.js";
import { importSchema } from "./routes/transfer.js";
import { UI_ASSETS } from "./routes/ui.js";

type JsonSchema = Record<string, unknown>;

/** Who may call a route: anyone, a client (bearer token), or the host (host token header). */
export type RouteSecurity = "none" | "bearer" | "host";

interface QueryParam {
  name: string;
  description: string;
  schema: JsonSchema;
}

export interface RouteDoc {
  method: "get" | "post" | "put" | "patch" | "delete";
  /** OpenAPI form: `/workspace/{id}/skills/{name}`. */
  path: string;
  summary: string;
  description?: string;
  security: RouteSecurity;
  /** A bearer route where the host token may come too, unlocking host-scoped data. */
  hostScope?: boolean;
  query?: QueryParam[];
  headers?: QueryParam[];
  body?: { schema: z.ZodType; description?: string };
  response: { description: string; contentType?: string; stream?: boolean };
  /** Error statuses beyond those every route of its kind can answer. */
  errors?: number[];
}

const flag = (name: string, description: string): QueryParam => ({
  name,
  description,
  schema: { type: "string", enum: ["true", "false"] },
});
const includeGlobal = flag("includeGlobal", "`true` adds the host user's global items; needs the host token too.");

export const ROUTE_DOCS: RouteDoc[] = [
  {
    method: "get",
    path: "/health",
    summary: "Liveness and version",
    security: "none",
    response: { description: "`{ ok: true, version, uptimeMs }`" },
  },
  {
    method: "get",
    path: "/openapi.json",
    summary: "This OpenAPI document",
    security: "none",
    response: { description: "The OpenAPI 3.1 document" },
  },
  {
    method: "get",
    path: "/ui",
    summary: "Host page",
    description: "The page asks for the host token itself and sends it on its data calls.",
    security: "none",
    response: { description: "The host page", contentType: UI_ASSETS["index.html"] },
  },
  {
    method: "get",
    path: "/ui/",
    summary: "Host page",
    security: "none",
    response: { description: "The host page", contentType: UI_ASSETS["index.html"] },
  },
  ...Object.entries(UI_ASSETS).map(
    ([name, contentType]): RouteDoc => ({
      method: "get",
      path: `/ui/${name}`,
      summary: `Host page asset ${name}`,
      security: "none",
      response: { description: name, contentType },
    }),
  ),
  {
    method: "get",
    path: "/approvals",
    summary: "Pending approval requests",
    description: "With `Accept: text/event-stream`: a `snapshot` event, then `requested` and `resolved` events as they happen.",
    security: "host",
    response: { description: "`{ items: [{ id, workspaceId, action, summary, paths, createdAt, expiresAt, actor }] }`", stream: true },
  },
  {
    method: "post",
    path: "/approvals/{id}",
    summary: "Answer an approval request",
    security: "host",
    body: { schema: approvalReplySchema },
    response: { description: "`{ ok: true, allowed }`" },
    errors: [400, 404, 413, 415],
  },
  {
    method: "get",
    path: "/host/pairing",
    summary: "What a host needs to pair a client (URLs, client token, workspaces)",
    security: "host",
    response: { description: "`{ urls, token, workspaces, approval: { mode, timeoutMs }, readOnly, version }`" },
  },
  {
    method: "get",
    path: "/capabilities",
    summary: "What clients may do on this server",
    security: "bearer",
    response: { description: "`{ skills, plugins, mcp, commands, config }`, each `{ read, write }` (`write` false when read-only)" },
  },
  {
    method: "get",
    path: "/workspaces",
    summary: "Configured workspaces",
    security: "bearer",
    response: { description: "`{ items: [{ id, name, path, workspaceType, ... }] }`" },
  },
  {
    method: "get",
    path: "/workspace/{id}/config",
    summary: "Project OpenCode config and OpenWork config",
    security: "bearer",
    response: { description: "`{ opencode, openwork, updatedAt }`, with an `ETag` header" },
    errors: [422],
  },
  {
    method: "patch",
    path: "/workspace/{id}/config",
    summary: "Set or remove top-level config keys (approval-gated)",
    description:
      "Each `opencode` key replaces that top-level key (comments and formatting kept); `openwork` is a shallow merge; `null` removes a key.",
    security: "bearer",
    headers: [
      { name: "If-Match", description: "An ETag from GET config; 412 when the config has changed since.", schema: { type: "string" } },
    ],
    body: { schema: configPatchSchema, description: "At least one of `opencode`, `openwork`." },
    response: { description: "`{ opencode, openwork, updatedAt }`, with the new `ETag`" },
    errors: [412, 422],
  },
  {
    method: "get",
    path: "/workspace/{id}/audit",
    summary: "Audit entries, newest first",
    security: "bearer",
    query: [
      {
        name: "limit",
        description: `How many entries (default ${AUDIT_DEFAULT_LIMIT}, at most ${AUDIT_MAX_LIMIT}).`,
        schema: { type: "integer", minimum: 1 },
      },
    ],
    response: { description: "`{ items }`" },
    errors: [400],
  },
  {
    method: "get",
    path: "/workspace/{id}/plugins",
    summary: "Plugins: config specs and plugin files",
    security: "bearer",
    hostScope: true,
    query: [includeGlobal],
    response: { description: "`{ items, loadOrder }`" },
    errors: [422],
  },
  {
    method: "post",
    path: "/workspace/{id}/plugins",
    summary: "Add a plugin spec to the project config (approval-gated)",
    security: "bearer",
    body: { schema: pluginAddSchema },
    response: { description: "`{ items, loadOrder, changed }`" },
    errors: [422],
  },
  {
    method: "delete",
    path: "/workspace/{id}/plugins/{name}",
    summary: "Remove a plugin spec from the project config (approval-gated)",
    description: "`name` may be a scoped package (`@scope/pkg`), encoded or not.",
    security: "bearer",
    response: { description: "`{ items, loadOrder }`" },
    errors: [422],
  },
  {
    method: "get",
    path: "/workspace/{id}/mcp",
    summary: "MCP servers of the project config",
    security: "bearer",
    response: { description: "`{ items }`" },
    errors: [422],
  },
  {
    method: "post",
    path: "/workspace/{id}/mcp",
    summary: "Add or replace an MCP server (approval-gated)",
    security: "bearer",
    body: { schema: mcpAddSchema, description: "`config` is an OpenCode MCP entry (`type: local` or `remote`)." },
    response: { description: "`{ items }`" },
    errors: [422],
  },
  {
    method: "delete",
    path: "/workspace/{id}/mcp/{name}",
    summary: "Remove an MCP server (approval-gated)",
    security: "bearer",
    response: { description: "`{ items }`" },
    errors: [422],
  },
  {
    method: "get",
    path: "/workspace/{id}/export",
    summary: "Export the workspace's setup",
    security: "bearer",
    response: { description: "`{ workspaceId, exportedAt, opencode, openwork, skills, commands }`" },
    errors: [422],
  },
  {
    method: "post",
    path: "/workspace/{id}/import/preview",
    summary: "What an import would change (writes nothing)",
    security: "bearer",
    body: { schema: importSchema },
    response: { description: "The changes, per section" },
    errors: [422],
  },
  {
    method: "post",
    path: "/workspace/{id}/import",
    summary: "Import a workspace setup (approval-gated)",
    security: "bearer",
    body: { schema: importSchema, description: "The shape of an export; `mode` per section is `merge` (default) or `replace`." },
    response: { description: "`{ ok: true, changed, changes }`" },
    errors: [422],
  },
  {
    method: "get",
    path: "/workspace/{id}/skills",
    summary: "Skills",
    security: "bearer",
    hostScope: true,
    query: [includeGlobal],
    response: { description: "`{ items }`, sorted by name" },
  },
  {
    method: "get",
    path: "/workspace/{id}/skills/{name}",
    summary: "One project skill with its text",
    security: "bearer",
    response: { description: "`{ item, content }`" },
    errors: [422],
  },
  {
    method: "post",
    path: "/workspace/{id}/skills",
    summary: "Add or update a project skill (approval-gated)",
    security: "bearer",
    body: {
      schema: skillUpsertSchema,
      description: "`name` and `content` (strings, required; `content` is SKILL.md, with or without frontmatter), `description` (string).",
    },
    response: { description: '`{ name, path, description, scope: "project" }`' },
    errors: [422],
  },
  {
    method: "delete",
    path: "/workspace/{id}/skills/{name}",
    summary: "Delete a project skill (approval-gated)",
    security: "bearer",
    response: { description: "`{ ok: true, name }`" },
    errors: [422],
  },
  {
    method: "get",
    path: "/workspace/{id}/commands",
    summary: "Commands",
    security: "bearer",
    hostScope: true,
    query: [
      {
        name: "scope",
        description: "`workspace` (default) or `global` (needs the host token too).",
        schema: { type: "string", enum: ["workspace", "global"] },
      },
    ],
    response: { description: "`{ items }`, sorted by name" },
  },
  {
    method: "post",
    path: "/workspace/{id}/commands",
    summary: "Add or update a project command (approval-gated)",
    security: "bearer",
    body: {
      schema: commandUpsertSchema,
      description:
        "`name` and `template` (strings, required), `description`, `agent` (strings), `model` (string or null), `subtask` (boolean).",
    },
    response: { description: "`{ items }` (the workspace's commands)" },
    errors: [422],
  },
  {
    method: "delete",
    path: "/workspace/{id}/commands/{name}",
    summary: "Delete a project command (approval-gated)",
    security: "bearer",
    response: { description: "`{ items }` (the workspace's commands)" },
    errors: [422],
  },
  {
    method: "get",
    path: "/workspace/{id}/events",
    summary: "Reload events after a cursor",
    description: "With `Accept: text/event-stream`: a live stream (`id:` = seq); `Last-Event-ID` wins over `since`.",
    security: "bearer",
    query: [{ name: "since", description: "An event seq; only later events are returned.", schema: { type: "integer", minimum: 0 } }],
    response: { description: "`{ items, cursor }`", stream: true },
    errors: [400],
  },
  {
    method: "post",
    path: "/workspace/{id}/engine/reload",
    summary: "Make the OpenCode engine re-read the workspace (approval-gated)",
    description: "No body. Allowed on a read-only server.",
    security: "bearer",
    query: [
      flag("force", "`true` reloads at once, aborting running sessions."),
      {
        name: "waitMs",
        description: `How long to wait for busy sessions to finish (0 to ${RELOAD_MAX_WAIT_MS}).`,
        schema: { type: "integer", minimum: 0, maximum: RELOAD_MAX_WAIT_MS },
      },
    ],
    response: { description: "`{ ok: true, reloadedAt }`" },
    errors: [400, 409, 502, 504],
  },
];

const ERROR_STATUSES: Record<number, string> = {
  400: "Bad request: `invalid_payload`, `invalid_json`, `invalid_name`, `invalid_path`, `path_escape`, `invalid_config`",
  401: "`unauthorized`: token missing, malformed or wrong",
  403: "`write_denied`, `read_only` or `workspace_unauthorized`",
  404: "`workspace_not_found` or `not_found`",
  409: "`opencode_busy`: a session still ran after the wait",
  412: "`conflict`: `If-Match` names a config that has changed since",
  413: "`payload_too_large`",
  415: "`unsupported_media_type`: a body that is not declared JSON",
  422: "`invalid_file`, `unprocessable` or `symlink_in_path`: a file on disk does not parse, cannot be read safely or is in the way",
  500: "`internal_error` (`details.errorId` names the server log entry)",
  502: "`opencode_unreachable` or `opencode_reload_failed`",
  504: "`opencode_timeout`",
};

const errorBody = z.object({
  code: z.string().meta({ description: "Machine-readable error code, e.g. `invalid_payload`" }),
  message: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
});

const PATH_PARAMS: Record<string, string> = {
  id: "A workspace id (from GET /workspaces)",
  name: "The item's name",
};

/** A zod schema as a JSON Schema (2020-12, which OpenAPI 3.1 uses), as a client must send it. */
function jsonSchema(schema: z.ZodType): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: "input" }) as JsonSchema;
  return rest;
}

function errorStatuses(route: RouteDoc): number[] {
  const statuses = new Set(route.errors ?? []);
  if (route.security !== "none") statuses.add(401);
  if (route.path.startsWith("/workspace/{id}")) {
    statuses.add(403);
    statuses.add(404);
  }
  if (route.method !== "get") statuses.add(403); // denied, read-only
  if (route.body) for (const status of [400, 413, 415]) statuses.add(status);
  if (route.security !== "none") statuses.add(500);
  return [...statuses].sort((a, b) => a - b);
}

function securityOf(route: RouteDoc) {
  if (route.security === "none") return [];
  if (route.security === "host") return [{ hostToken: [] }];
  return route.hostScope ? [{ bearerAuth: [] }, { bearerAuth: [], hostToken: [] }] : [{ bearerAuth: [] }];
}

function operation(route: RouteDoc) {
  const pathParams = [...route.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({
    name,
    in: "path",
    required: true,
    description: route.path.startsWith("/approvals/") ? "An approval id (from GET /approvals)" : (PATH_PARAMS[name!] ?? name),
    schema: { type: "string" },
  }));
  const parameters = [
    ...pathParams,
    ...(route.query ?? []).map((q) => ({ in: "query", required: false, ...q })),
    ...(route.headers ?? []).map((h) => ({ in: "header", required: false, ...h })),
  ];
  const contentType = route.response.contentType ?? "application/json";
  const content: Record<string, unknown> = {
    [contentType]: { schema: contentType === "application/json" ? { type: "object" } : { type: "string" } },
  };
  if (route.response.stream) content["text/event-stream"] = { schema: { type: "string" } };
  const responses: Record<string, unknown> = { "200": { description: route.response.description, content } };
  for (const status of errorStatuses(route)) {
    responses[String(status)] = {
      description: ERROR_STATUSES[status] ?? "Error",
      content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
    };
  }
  return {
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    security: securityOf(route),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(route.body
      ? {
          requestBody: {
            required: true,
            ...(route.body.description ? { description: route.body.description } : {}),
            content: { "application/json": { schema: jsonSchema(route.body.schema) } },
          },
        }
      : {}),
    responses,
  };
}

export function buildOpenApiDocument(version: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of ROUTE_DOCS) {
    paths[route.path] ??= {};
    paths[route.path]![route.method] = operation(route);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "openwork-server",
      version,
      description:
        "Lets remote OpenWork clients manage an OpenCode workspace, with host approval, an audit log and engine reload. " +
        `\`${CLIENT_ID_HEADER}\` (optional) names the client in audit entries. Bodies are JSON.`,
    },
    paths,
    components: {
      securitySchemes: {
        bearerAuth: { type: "http", scheme: "bearer", description: "The client token" },
        hostToken: { type: "apiKey", in: "header", name: HOST_TOKEN_HEADER, description: "The host token" },
      },
      schemas: { Error: jsonSchema(errorBody) },
    },
  };
}

/** The document as the bytes `GET /openapi.json` sends, built once per version. */
const built = new Map<string, Uint8Array>();
export function openApiBytes(version: string): Uint8Array {
  let bytes = built.get(version);
  if (!bytes) {
    bytes = new TextEncoder().encode(JSON.stringify(buildOpenApiDocument(version)));
    built.set(version, bytes);
  }
  return bytes;
}
