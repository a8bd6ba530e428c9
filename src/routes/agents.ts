// Agents: list (files and the config's `agent` map), read one, upsert to
// `.opencode/agents/<name>.md`, delete. Writes go through the write pipeline (reason `agents`).
import { Hono } from "hono";
import { z } from "zod";
import { parseBody } from "../http/body.js";
import type { AppEnv } from "../http/env.js";
import type { Services } from "../services/index.js";
import { deleteAgent, listAgents, planAgentDelete, planAgentUpsert, readAgent, writeAgent } from "../workspace/agents.js";
import { actorOf, cachedListing, workspaceOf } from "./context.js";

// Field types are checked by planAgentUpsert (as the engine reads them), so an import gets the
// same answers and the error names the field.
export const agentUpsertSchema = z
  .object({
    name: z.unknown(),
    content: z.unknown().optional(),
    description: z.unknown().optional(),
    prompt: z.unknown().optional(),
    mode: z.unknown().optional(),
    model: z.unknown().optional(),
    variant: z.unknown().optional(),
    temperature: z.unknown().optional(),
    top_p: z.unknown().optional(),
    steps: z.unknown().optional(),
    maxSteps: z.unknown().optional(),
    tools: z.unknown().optional(),
    permission: z.unknown().optional(),
    options: z.unknown().optional(),
    color: z.unknown().optional(),
    disable: z.unknown().optional(),
    hidden: z.unknown().optional(),
  })
  .meta({ description: "`name` and either `content` (a whole agent file) or the fields and `prompt`." });

export function agentsRoutes(s: Services) {
  const app = new Hono<AppEnv>();
  const onSkip = (file: string, reason: string) => s.logger.debug({ file, reason }, "agent skipped");
  const list = (root: string) => listAgents(root, { onSkip });

  app.get("/workspace/:id/agents", async (c) => {
    const workspace = workspaceOf(c, s);
    return cachedListing(c, s, workspace, "agents", "workspace", async () => ({ items: await list(workspace.path) }));
  });

  app.get("/workspace/:id/agents/:name{.+}", async (c) => {
    const workspace = workspaceOf(c, s);
    return c.json(await readAgent(workspace.path, c.req.param("name")));
  });

  app.post("/workspace/:id/agents", async (c) => {
    const workspace = workspaceOf(c, s);
    s.pipeline.assertWritable();
    const input = await parseBody(c, agentUpsertSchema);
    const first = await planAgentUpsert(workspace.path, input);
    const { result } = await s.pipeline.run(workspace, actorOf(c), {
      action: "agents.upsert",
      target: first.name,
      summary: `${first.existed ? "Update" : "Add"} agent "${first.name}"`,
      paths: [first.relativePath, ...first.removes],
      reasons: ["agents"],
      apply: async () => {
        const plan = await planAgentUpsert(workspace.path, input);
        await writeAgent(plan);
        return plan.item;
      },
    });
    return c.json({ item: result, items: await list(workspace.path) });
  });

  app.delete("/workspace/:id/agents/:name{.+}", async (c) => {
    const workspace = workspaceOf(c, s);
    s.pipeline.assertWritable();
    const name = c.req.param("name");
    const plan = await planAgentDelete(workspace.path, name);
    await s.pipeline.run(workspace, actorOf(c), {
      action: "agents.delete",
      target: plan.name,
      summary: `Delete agent "${plan.name}"`,
      paths: plan.relativePaths,
      reasons: ["agents"],
      apply: () => deleteAgent(workspace.path, name),
    });
    return c.json({ ok: true, name: plan.name, items: await list(workspace.path) });
  });

  return app;
}
