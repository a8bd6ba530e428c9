// MCP servers: list, add (or replace) and remove entries of the project config's `mcp` map.
// Writes are project-config edits through the write pipeline.
import type { Context } from "hono";
import type { AppEnv } from "../http/env.js";
import type { Handlers } from "../http/route.js";
import type { Services } from "../services/index.js";
import { assertMcpConfig, listMcp, planMcpAdd, planMcpRemove, validateMcpName } from "../workspace/mcp.js";
import { readProjectConfig } from "../workspace/opencode-config.js";
import type { Workspace } from "../workspaces.js";
import { cachedListing, projectConfigPlan, workspaceOf, write } from "./context.js";

export function mcpHandlers(s: Services) {
  const respond = (c: Context<AppEnv>, workspace: Workspace) =>
    cachedListing(c, s, workspace, "mcp", "", async () => ({ items: listMcp(await readProjectConfig(workspace.path)) }));

  return {
    listMcp: (c, { params }) => respond(c, workspaceOf(s, params.id)),

    addMcp: async (c, { params, body }) => {
      const workspace = workspaceOf(s, params.id);
      s.pipeline.assertWritable();
      const name = validateMcpName(body.name);
      const config = assertMcpConfig(name, body.config);
      await write(c, s, workspace, {
        action: "mcp.add",
        target: name,
        reasons: ["mcp"],
        plan: projectConfigPlan(
          workspace.path,
          (file) => `Add ${config.type === "local" ? "local" : "remote"} MCP server "${name}" to ${file}`,
          (current) => planMcpAdd(current, name, config),
          () => undefined,
        ),
      });
      return respond(c, workspace);
    },

    removeMcp: async (c, { params }) => {
      const workspace = workspaceOf(s, params.id);
      s.pipeline.assertWritable();
      const name = validateMcpName(params.name);
      await write(c, s, workspace, {
        action: "mcp.remove",
        target: name,
        reasons: ["mcp"],
        plan: projectConfigPlan(
          workspace.path,
          (file) => `Remove MCP server "${name}" from ${file}`,
          (current) => planMcpRemove(current, name),
          () => undefined,
        ),
      });
      return respond(c, workspace);
    },
  } satisfies Partial<Handlers>;
}
