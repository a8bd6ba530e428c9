// What each operation takes and answers, keyed by the ids of ./routes.ts. One schema serves
// validation (src/http/route.ts), the handlers' types, /openapi.json and the client's types.
// Fields whose problems are answered with another code than `invalid_payload` say so with
// `withCode` (a name in the body is an `invalid_name`, like a name in the path).
import { z } from "zod";
import type { ErrorCode } from "../errors.js";
import { MAX_GRANT_TTL_MS, WRITE_ACTIONS } from "./actions.js";
import {
  actor,
  agentItem,
  approvalRequest,
  auditEntry,
  commandItem,
  errorBody,
  exportedCommand,
  grant,
  importChanges,
  jsonObject,
  mcpItem,
  pluginItem,
  reloadEvent,
  scope,
  skillItem,
  tokenInfo,
  tokenListItem,
  workspace,
} from "./entities.js";
import type { OperationId } from "./routes.js";

/** The error code a field's validation problems are answered with, when not `invalid_payload`. */
const fieldCodes = new WeakMap<z.ZodType, ErrorCode>();
export function withCode<T extends z.ZodType>(schema: T, code: ErrorCode): T {
  fieldCodes.set(schema, code);
  return schema;
}
export function fieldCode(schema: z.ZodType): ErrorCode | undefined {
  return fieldCodes.get(schema);
}

export interface OperationSchemas {
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** The success answer (JSON), or null for answers that are not JSON (a document, a stream). */
  response: z.ZodType | null;
  /** A body of parts holding lists (an import): problems name `details.part`, `index` and `name`. */
  namesItems?: true;
}

// ---- reusable pieces

const workspaceParams = z.object({ id: z.string().meta({ description: "A workspace id (from GET /workspaces)" }) });
const itemParams = workspaceParams.extend({ name: z.string().meta({ description: "The item's name" }) });

const TRUE_FLAGS = ["true", "1", "yes"];
/** A liberal boolean query flag: `true`, `1` or `yes` (any case) are true, anything else false. */
const queryFlag = (description: string) =>
  z
    .string()
    .optional()
    .transform((v) => v !== undefined && TRUE_FLAGS.includes(v.toLowerCase()))
    .meta({ description });

/** A strict boolean query flag: empty, `1`, `true`, `yes` / `0`, `false`, `no`; anything else is a 400. */
const strictFlag = (name: string, description: string) =>
  z
    .string()
    .regex(/^(|1|true|yes|0|false|no)$/i, `${name} must be true or false`)
    .optional()
    .transform((v) => v !== undefined && /^(|1|true|yes)$/i.test(v))
    .meta({ description });

/** A whole number in a query string, within bounds; empty means absent. */
const queryInt = (min: number, max: number, message: string, description: string) =>
  z
    .string()
    .regex(/^\s*\d*\s*$/, message)
    .transform((v) => (v.trim() === "" ? undefined : Number(v)))
    .refine((n) => n === undefined || (n >= min && n <= max), message)
    .optional()
    .meta({ description });

const ok = z.literal(true);
const nullableText = z.string().nullable().optional();

export const AUDIT_DEFAULT_LIMIT = 50;
export const DECIDED_DEFAULT_LIMIT = 20;
export const AUDIT_MAX_LIMIT = 200;
export const RELOAD_MAX_WAIT_MS = 120_000;

// ---- bodies shared with import

export const skillUpsertBody = z.object({
  name: withCode(z.string(), "invalid_name"),
  content: z.string().meta({ description: "The SKILL.md, with or without frontmatter" }),
  description: nullableText,
});

export const commandFields = {
  description: nullableText,
  agent: nullableText,
  model: nullableText.meta({ description: "`null` (what the OpenWork app sends) means no model" }),
  subtask: z.boolean().nullable().optional(),
};

export const commandUpsertBody = z.object({
  name: withCode(z.string().meta({ description: "A leading `/` is dropped" }), "invalid_name"),
  template: z.string(),
  ...commandFields,
});

const nullable = <T extends z.ZodType>(schema: T) => schema.nullable().optional();

/** An agent as fields (null: not set), or as a whole file in `content`. */
export const agentUpsertBody = z
  .object({
    name: withCode(z.string().meta({ description: "The file name; up to three `/` for subfolders" }), "invalid_name"),
    content: nullable(z.string()).meta({ description: "A whole agent file (frontmatter and prompt), instead of the fields" }),
    description: nullableText,
    prompt: nullableText,
    mode: nullable(z.enum(["primary", "subagent", "all"])),
    model: nullableText,
    variant: nullableText,
    temperature: nullable(z.number()),
    top_p: nullable(z.number()),
    steps: nullable(z.number()),
    maxSteps: nullable(z.number()),
    tools: nullable(z.record(z.string(), z.boolean())),
    // Checked field by field as OpenCode reads it (the error names e.g. `permission.bash`).
    permission: nullable(z.union([z.string(), jsonObject])).meta({
      description: "`ask`, `allow` or `deny`, or `{ tool: action }` / `{ tool: { pattern: action } }`",
    }),
    options: nullable(jsonObject),
    color: nullableText.meta({ description: "#rrggbb or primary, secondary, accent, success, warning, error, info" }),
    disable: nullable(z.boolean()),
    hidden: nullable(z.boolean()),
  })
  .meta({ description: "`name` and either `content` (a whole agent file) or the fields and `prompt`" });

const importMode = z.enum(["merge", "replace"]);

export const importBody = z
  .object({
    opencode: jsonObject.optional(),
    openwork: jsonObject.optional(),
    skills: z.array(skillUpsertBody).optional(),
    commands: z
      .array(
        z.object({
          name: withCode(z.string(), "invalid_name"),
          template: nullableText,
          content: nullableText.meta({ description: "A whole command file, instead of `template` and the fields" }),
          ...commandFields,
        }),
      )
      .optional(),
    agents: z.array(agentUpsertBody).optional(),
    mode: z
      .object({
        opencode: importMode.optional(),
        openwork: importMode.optional(),
        skills: importMode.optional(),
        commands: importMode.optional(),
        agents: importMode.optional(),
      })
      .strict()
      .optional()
      .meta({ description: "Per part: `merge` (default) or `replace`" }),
  })
  .meta({ description: "The shape of an export; at least one part" });

const configAnswer = z.object({ opencode: jsonObject, openwork: jsonObject, updatedAt: z.number().nullable() });

const approvalsSummary = z.object({ mode: z.enum(["manual", "auto"]), timeoutMs: z.number() });

export const SCHEMAS = {
  getHealth: { response: z.object({ ok, version: z.string(), uptimeMs: z.number() }) },
  getOpenapi: { response: null },
  getCapabilities: {
    response: z.object({
      skills: z.object({ read: z.boolean(), write: z.boolean(), source: z.literal("openwork") }),
      plugins: z.object({ read: z.boolean(), write: z.boolean() }),
      mcp: z.object({ read: z.boolean(), write: z.boolean() }),
      commands: z.object({ read: z.boolean(), write: z.boolean() }),
      config: z.object({ read: z.boolean(), write: z.boolean() }),
      tokens: z.object({ scoped: z.literal(true), scopes: z.array(scope) }),
      approvals: approvalsSummary,
      proxy: z.object({ opencode: z.boolean() }),
      scope,
    }),
  },
  whoami: {
    response: z.object({
      kind: z.enum(["token", "legacy", "host"]),
      scope,
      tokenId: z.string().optional(),
      label: z.string().optional(),
      clientId: z.string().optional().meta({ description: "Self-declared by the client" }),
      workspaces: z.array(z.string()).optional(),
    }),
  },
  getStatus: {
    response: z.object({
      version: z.string(),
      instanceId: z.string().meta({ description: "Changes at every start: a client that sees it change reloads its settings" }),
      uptimeMs: z.number(),
      readOnly: z.boolean(),
      approval: approvalsSummary,
      pendingApprovals: z.number().int(),
      workspaces: z.array(
        z.object({
          id: z.string(),
          name: z.string(),
          engine: z.object({
            configured: z.boolean(),
            reachable: z.boolean().optional(),
            latencyMs: z.number().optional(),
            error: z.string().optional(),
          }),
          watcher: z.enum(["on", "off", "error"]),
        }),
      ),
    }),
  },
  listWorkspaces: { response: z.object({ items: z.array(workspace) }) },

  createToken: {
    body: z.object({
      scope,
      label: z.string().meta({ description: "What the device is, e.g. 'Susan's phone' (1-64 characters)" }),
      expiresInMs: z.number().int().optional().meta({ description: "Lifetime; none means until revoked" }),
      workspaces: z.array(z.string()).optional().meta({ description: "Workspace ids the token is limited to" }),
    }),
    response: tokenInfo.omit({ lastUsedAt: true }).extend({ token: z.string().meta({ description: "Shown this once" }) }),
  },
  listTokens: {
    query: z.object({
      state: z
        .enum(["active", "ended", "all"], { error: 'state must be "active", "ended" or "all"' })
        .default("active")
        .meta({ description: "Which tokens: `active` (default), `ended` (revoked or expired, kept 30 days) or `all`" }),
    }),
    response: z.object({ items: z.array(tokenListItem) }),
  },
  deleteToken: { params: z.object({ id: z.string() }), response: z.object({ ok }) },

  listApprovals: {
    query: z.object({
      state: z
        .enum(["pending", "decided"], { error: 'state must be "pending" or "decided"' })
        .default("pending")
        .meta({ description: "`decided`: recent decisions from the audit logs, newest first" }),
      limit: queryInt(
        1,
        Number.POSITIVE_INFINITY,
        "limit must be a positive whole number",
        `With state=decided: how many (default ${DECIDED_DEFAULT_LIMIT}, at most ${AUDIT_MAX_LIMIT})`,
      ),
    }),
    response: z.object({
      items: z.array(z.union([approvalRequest, auditEntry])).meta({ description: "Pending requests, or with state=decided audit entries" }),
    }),
  },
  createGrant: {
    body: z.object({
      tokenId: z.string().meta({ description: "A scoped token's id, or `legacy` for the server's client token" }),
      workspaceId: z.string(),
      actions: z.array(z.enum(WRITE_ACTIONS)).min(1),
      ttlMs: z.number().int().min(1000).max(MAX_GRANT_TTL_MS).meta({ description: "At most one hour" }),
    }),
    response: grant,
  },
  listGrants: { response: z.object({ items: z.array(grant) }) },
  deleteGrant: { params: z.object({ id: z.string() }), response: z.object({ ok }) },
  replyApproval: {
    params: z.object({ id: z.string().meta({ description: "An approval id (from GET /approvals)" }) }),
    body: z.object({ reply: z.enum(["allow", "deny"]) }),
    response: z.object({ ok, allowed: z.boolean() }),
  },
  pairingQr: {
    body: z.object({
      token: z.string().meta({ description: "A scoped token (`owt_...`), as POST /tokens answered it" }),
      url: z.string().meta({ description: "The server URL the device should use (http or https)" }),
    }),
    response: z.object({
      payload: z.string().meta({ description: "The text the QR code holds" }),
      size: z.number().int().meta({ description: "Modules per side" }),
      rows: z.array(z.string()).meta({ description: "One string per row of modules, `1` dark and `0` light (no quiet zone)" }),
      svg: z.string().meta({ description: "The code as an SVG document (with a quiet zone)" }),
    }),
  },
  getPairing: {
    response: z.object({
      urls: z.array(z.string()),
      token: z.string().meta({ description: "The server's client token (legacy, collaborator)" }),
      workspaces: z.array(workspace.extend({ authorized: z.boolean() })),
      approval: approvalsSummary,
      readOnly: z.boolean(),
      version: z.string(),
    }),
  },

  getConfig: { params: workspaceParams, response: configAnswer },
  patchConfig: {
    params: workspaceParams,
    body: z
      .object({ opencode: jsonObject.optional(), openwork: jsonObject.optional() })
      .refine((b) => b.opencode !== undefined || b.openwork !== undefined, "Body needs at least one of: opencode, openwork"),
    response: configAnswer,
  },
  listAudit: {
    params: workspaceParams,
    query: z.object({
      limit: queryInt(
        1,
        Number.POSITIVE_INFINITY,
        "limit must be a positive whole number",
        `How many entries (default ${AUDIT_DEFAULT_LIMIT}, at most ${AUDIT_MAX_LIMIT})`,
      ),
    }),
    response: z.object({ items: z.array(auditEntry) }),
  },
  listPlugins: {
    params: workspaceParams,
    query: z.object({ includeGlobal: queryFlag("`true` adds the host user's global plugins (owner scope)") }),
    response: z.object({ items: z.array(pluginItem), loadOrder: z.array(z.string()) }),
  },
  addPlugin: {
    params: workspaceParams,
    body: z.object({ spec: z.string() }),
    response: z.object({ items: z.array(pluginItem), loadOrder: z.array(z.string()), changed: z.boolean() }),
  },
  removePlugin: { params: itemParams, response: z.object({ items: z.array(pluginItem), loadOrder: z.array(z.string()) }) },
  listMcp: { params: workspaceParams, response: z.object({ items: z.array(mcpItem) }) },
  addMcp: {
    params: workspaceParams,
    body: z.object({
      name: withCode(z.string(), "invalid_name"),
      config: jsonObject.meta({ description: "An OpenCode MCP entry: `type: local` with `command`, or `type: remote` with `url`" }),
    }),
    response: z.object({ items: z.array(mcpItem) }),
  },
  removeMcp: { params: itemParams, response: z.object({ items: z.array(mcpItem) }) },
  listSkills: {
    params: workspaceParams,
    query: z.object({ includeGlobal: queryFlag("`true` adds the host user's global skills (owner scope)") }),
    response: z.object({ items: z.array(skillItem) }),
  },
  getSkill: { params: itemParams, response: z.object({ item: skillItem, content: z.string() }) },
  upsertSkill: { params: workspaceParams, body: skillUpsertBody, response: skillItem },
  deleteSkill: { params: itemParams, response: z.object({ ok, name: z.string() }) },
  listCommands: {
    params: workspaceParams,
    query: z.object({
      scope: z
        .enum(["workspace", "global"], { error: 'scope must be "workspace" or "global"' })
        .default("workspace")
        .meta({ description: "`global` lists the host user's global commands (owner scope)" }),
    }),
    response: z.object({ items: z.array(commandItem) }),
  },
  upsertCommand: { params: workspaceParams, body: commandUpsertBody, response: z.object({ items: z.array(commandItem) }) },
  deleteCommand: { params: itemParams, response: z.object({ ok, name: z.string() }) },
  listAgents: { params: workspaceParams, response: z.object({ items: z.array(agentItem) }) },
  getAgent: {
    params: itemParams,
    response: z.object({
      item: agentItem,
      content: z.string().optional().meta({ description: "The file's text (file agents)" }),
      config: z.unknown().optional().meta({ description: "The config entry (config agents)" }),
    }),
  },
  upsertAgent: { params: workspaceParams, body: agentUpsertBody, response: z.object({ item: agentItem, items: z.array(agentItem) }) },
  deleteAgent: { params: itemParams, response: z.object({ ok, name: z.string(), items: z.array(agentItem) }) },
  exportWorkspace: {
    params: workspaceParams,
    response: z.object({
      workspaceId: z.string(),
      exportedAt: z.number(),
      opencode: jsonObject,
      openwork: jsonObject,
      skills: z.array(z.object({ name: z.string(), description: z.string(), content: z.string() })),
      commands: z.array(exportedCommand),
      agents: z.array(z.object({ name: z.string(), description: z.string(), content: z.string() })),
    }),
  },
  previewImport: { params: workspaceParams, body: importBody, response: importChanges, namesItems: true },
  importWorkspace: {
    params: workspaceParams,
    body: importBody,
    namesItems: true,
    response: z.object({ ok, changed: z.boolean(), changes: importChanges }),
  },
  listEvents: {
    params: workspaceParams,
    query: z.object({
      since: queryInt(
        0,
        Number.MAX_SAFE_INTEGER,
        "since must be a non-negative integer (an event seq)",
        "An event seq; only later events are returned",
      ),
    }),
    response: z.object({ items: z.array(reloadEvent), cursor: z.number().int() }),
  },
  reloadEngine: {
    params: workspaceParams,
    query: z.object({
      force: strictFlag("force", "`true` reloads at once, aborting running sessions"),
      waitMs: queryInt(
        0,
        RELOAD_MAX_WAIT_MS,
        `waitMs must be an integer from 0 to ${RELOAD_MAX_WAIT_MS}`,
        "How long to wait for busy sessions to finish",
      ),
    }),
    response: z.object({ ok, reloadedAt: z.number() }),
  },
} as const satisfies Record<OperationId, OperationSchemas>;

export { actor, errorBody };
