// The shapes the API answers with (and a few it takes), as zod schemas. The handlers' return
// types are checked against them by the compiler, /openapi.json is built from them, and in the
// tests every JSON answer is validated against them (src/http/route.ts).
import { z } from "zod";
import { ERROR_CODES } from "../errors.js";
import { SCOPES } from "./routes.js";

export const jsonObject = z.record(z.string(), z.unknown());

export const scope = z.enum(SCOPES);

export const errorBody = z
  .object({
    code: z.enum(ERROR_CODES).meta({ description: "Machine-readable error code" }),
    message: z.string(),
    details: jsonObject.optional(),
  })
  .meta({ id: "Error" });

export const actor = z
  .object({
    type: z.enum(["token", "legacy", "host"]).meta({
      description: "`token`: a scoped device token; `legacy`: the server's client token; `host`: the host token",
    }),
    scope,
    tokenId: z.string().optional(),
    label: z.string().optional().meta({ description: "The device's label, from the token store" }),
    clientId: z.string().optional().meta({ description: "X-OpenWork-Client-Id: self-declared by the client, not verified" }),
  })
  .meta({ id: "Actor" });

export const workspace = z
  .object({
    id: z.string(),
    name: z.string(),
    path: z.string(),
    workspaceType: z.enum(["local", "remote"]),
    baseUrl: z.string().optional(),
    directory: z.string().optional(),
    opencode: z.object({ baseUrl: z.string().optional(), directory: z.string().optional() }).optional(),
  })
  .meta({ id: "Workspace" });

export const skillItem = z
  .object({
    name: z.string(),
    path: z.string().meta({ description: "Absolute path of the SKILL.md" }),
    description: z.string(),
    scope: z.enum(["project", "global"]),
  })
  .meta({ id: "Skill" });

export const commandItem = z
  .object({
    name: z.string(),
    description: z.string().optional(),
    template: z.string(),
    agent: z.string().optional(),
    model: z.string().nullable(),
    subtask: z.boolean().optional(),
    scope: z.enum(["workspace", "global"]),
  })
  .meta({ id: "Command" });

export const pluginItem = z
  .object({
    spec: z.string(),
    source: z.enum(["config", "dir.project", "dir.global"]),
    scope: z.enum(["project", "global"]),
    path: z.string().optional(),
  })
  .meta({ id: "Plugin" });

export const mcpItem = z
  .object({
    name: z.string(),
    config: jsonObject,
    source: z.literal("config.project"),
    disabledByTools: z.boolean().optional(),
  })
  .meta({ id: "McpServer" });

export const reloadReason = z.enum(["skills", "plugins", "mcp", "commands", "config", "agents"]);

export const reloadEvent = z
  .object({
    id: z.string(),
    seq: z.number().int(),
    workspaceId: z.string(),
    reason: reloadReason,
    trigger: z
      .object({ source: z.enum(["api", "watcher"]), action: z.string().optional(), path: z.string().optional(), actor: actor.optional() })
      .optional(),
    timestamp: z.number(),
  })
  .meta({ id: "ReloadEvent" });

export const decidedBy = z
  .union([
    z.enum(["auto", "host"]),
    z.object({ tokenId: z.string(), label: z.string() }).meta({ description: "An owner token" }),
    z.object({ grantId: z.string() }).meta({ description: "A grant (POST /approvals/grants)" }),
  ])
  .meta({ id: "DecidedBy" });

export const outcome = z.enum(["applied", "denied", "timeout", "withdrawn", "shutdown", "failed", "changed_since_approval"]);

export const auditEntry = z
  .object({
    id: z.string(),
    workspaceId: z.string(),
    actor,
    action: z.string(),
    target: z.string(),
    summary: z.string(),
    timestamp: z.number(),
    outcome,
    decidedBy: decidedBy.optional(),
    decidedAt: z.number().optional(),
    requestId: z.string().optional(),
    paths: z.array(z.string()).optional(),
    changeHash: z.string().optional(),
    error: z.string().optional(),
  })
  .meta({ id: "AuditEntry" });

export const changeView = z
  .object({
    path: z.string(),
    op: z.enum(["create", "update", "delete"]),
    diff: z.string().meta({ description: "A unified diff of the text (secrets masked)" }),
    before: z.string().optional().meta({ description: "The whole text before, up to 256 KiB" }),
    after: z.string().optional().meta({ description: "The whole text after, up to 256 KiB" }),
    truncated: z.boolean().optional(),
  })
  .meta({ id: "Change" });

export const risk = z
  .object({
    kind: z.enum(["executes_code", "network", "permission", "removes", "secrets"]),
    message: z.string(),
  })
  .meta({ id: "Risk" });

export const approvalRequest = z
  .object({
    id: z.string(),
    workspaceId: z.string(),
    action: z.string(),
    summary: z.string(),
    paths: z.array(z.string()),
    createdAt: z.number(),
    expiresAt: z.number(),
    actor,
    changes: z.array(changeView),
    risks: z.array(risk),
    changeHash: z.string().meta({ description: "What the approval binds to: a hash of every planned path and its bytes" }),
  })
  .meta({ id: "ApprovalRequest" });

export const grant = z
  .object({
    id: z.string(),
    tokenId: z.string().meta({ description: "A scoped token's id, or `legacy` for the server's client token" }),
    workspaceId: z.string(),
    actions: z.array(z.string()),
    createdAt: z.number(),
    expiresAt: z.number(),
    createdBy: actor,
  })
  .meta({ id: "Grant" });

export const tokenInfo = z
  .object({
    id: z.string(),
    scope,
    label: z.string(),
    createdAt: z.number(),
    expiresAt: z.number().optional(),
    lastUsedAt: z.number().optional(),
    workspaces: z.array(z.string()).optional(),
    createdBy: z
      .object({ type: z.enum(["token", "legacy", "host"]), tokenId: z.string().optional(), label: z.string().optional() })
      .optional()
      .meta({ description: "Who added it: the host, the client token, or another device (its id and label)" }),
  })
  .meta({ id: "Token" });

export const tokenListItem = tokenInfo
  .extend({
    state: z.enum(["active", "expired", "revoked"]),
    revokedAt: z.number().optional(),
  })
  .meta({ id: "TokenListItem" });

export const agentItem = z
  .object({
    name: z.string(),
    description: z.string(),
    mode: z.string().optional(),
    model: z.string().optional(),
    source: z.enum(["file", "config"]),
    path: z.string().optional().meta({ description: "Workspace-relative path of the file (file agents)" }),
  })
  .meta({ id: "Agent" });

export const partChanges = z.object({ added: z.array(z.string()), changed: z.array(z.string()), removed: z.array(z.string()) });

export const importChanges = z
  .object({ opencode: partChanges, openwork: partChanges, skills: partChanges, commands: partChanges, agents: partChanges })
  .meta({ id: "ImportChanges" });

export const exportedCommand = z.object({
  name: z.string(),
  description: z.string().optional(),
  template: z.string(),
  agent: z.string().optional(),
  model: z.string().optional(),
  subtask: z.boolean().optional(),
});
