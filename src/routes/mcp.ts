// MCP servers: list, add (or replace) and remove entries of the project config's `mcp` map.
// Writes are project-config edits (writeProjectConfig): validated first, re-planned under the lock.
import { type Context, Hono } from "hono";
import { z } from "zod";
import { parseBody } from "../http/body.js";
import type { AppEnv } from "../http/env.js";
import type { Services } from "../services/index.js";
import { assertMcpConfig, listMcp, planMcpAdd, planMcpRemove, validateMcpName } from "../workspace/mcp.js";
import { readProjectConfig } from "../workspace/opencode-config.js";
import type { Workspace } from "../workspaces.js";
import { cachedListing, workspaceOf, writeProjectConfig } from "./context.js";

export const mcpAddSchema = z.object({ name: z.string(), config: z.record(z.string(), z.unknown()) });

export function mcpRoutes(s: Services) {
  const app = new Hono<AppEnv>();

  const respond = (c: Context<AppEnv>, workspace: Workspace) =>
    cachedListing(c, s, workspace, "mcp", "", async () => ({ items: listMcp(await readProjectConfig(workspace.path)) }));

  app.get("/workspace/:id/mcp", async (c) => respond(c, workspaceOf(c, s)));

  app.post("/workspace/:id/mcp", async (c) => {
    const workspace = workspaceOf(c, s);
    s.pipeline.assertWritable();
    const body = await parseBody(c, mcpAddSchema);
    const name = validateMcpName(body.name);
    const config = assertMcpConfig(name, body.config);
    await writeProjectConfig(c, s, workspace, {
      action: "mcp.add",
      target: name,
      summary: (file) => `Add ${config.type === "local" ? "local" : "remote"} MCP server ${name} to ${file}`,
      reasons: ["mcp"],
      plan: (current) => planMcpAdd(current, name, config),
    });
    return respond(c, workspace);
  });

  app.delete("/workspace/:id/mcp/:name", async (c) => {
    const workspace = workspaceOf(c, s);
    s.pipeline.assertWritable();
    const name = validateMcpName(c.req.param("name"));
    await writeProjectConfig(c, s, workspace, {
      action: "mcp.remove",
      target: name,
      summary: (file) => `Remove MCP server ${name} from ${file}`,
      reasons: ["mcp"],
      plan: (current) => planMcpRemove(current, name),
    });
    return respond(c, workspace);
  });

  return app;
}
