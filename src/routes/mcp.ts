import { Hono } from "hono";
import { z } from "zod";
import { parseBody } from "../http/body.js";
import type { AppEnv } from "../http/env.js";
import type { Services } from "../services/index.js";
import { assertMcpConfig, listMcp, planMcpAdd, planMcpRemove, validateMcpName } from "../workspace/mcp.js";
import { readProjectConfig, writeConfigText } from "../workspace/opencode-config.js";
import { actorOf, cachedListing, workspaceOf } from "./context.js";

const addSchema = z.object({ name: z.string(), config: z.record(z.string(), z.unknown()) });

export function mcpRoutes(s: Services) {
  const app = new Hono<AppEnv>();

  const items = async (root: string) => ({ items: listMcp(await readProjectConfig(root)) });

  app.get("/workspace/:id/mcp", async (c) => {
    const workspace = workspaceOf(c, s);
    return cachedListing(c, s, workspace, "mcp", "", () => items(workspace.path));
  });

  app.post("/workspace/:id/mcp", async (c) => {
    const workspace = workspaceOf(c, s);
    const body = await parseBody(c, addSchema);
    const name = validateMcpName(body.name);
    const config = assertMcpConfig(name, body.config);
    const before = await readProjectConfig(workspace.path);
    const kind = config.type === "local" ? "local" : "remote";
    await s.pipeline.run(workspace, actorOf(c), {
      action: "mcp.add",
      target: name,
      summary: `Add ${kind} MCP server ${name} to ${before.file}`,
      paths: [before.file],
      reasons: ["mcp"],
      precheck: async () => {
        planMcpAdd(before, name, config);
      },
      apply: async () => {
        const current = await readProjectConfig(workspace.path);
        await writeConfigText(current, planMcpAdd(current, name, config).text);
      },
    });
    return cachedListing(c, s, workspace, "mcp", "", () => items(workspace.path));
  });

  app.delete("/workspace/:id/mcp/:name", async (c) => {
    const workspace = workspaceOf(c, s);
    const name = validateMcpName(c.req.param("name"));
    const before = await readProjectConfig(workspace.path);
    await s.pipeline.run(workspace, actorOf(c), {
      action: "mcp.remove",
      target: name,
      summary: `Remove MCP server ${name} from ${before.file}`,
      paths: [before.file],
      reasons: ["mcp"],
      precheck: async () => {
        planMcpRemove(before, name);
      },
      apply: async () => {
        const current = await readProjectConfig(workspace.path);
        await writeConfigText(current, planMcpRemove(current, name).text);
      },
    });
    return cachedListing(c, s, workspace, "mcp", "", () => items(workspace.path));
  });

  return app;
}
