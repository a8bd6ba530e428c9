// Agents: list (files and the config's `agent` map), read one, upsert to
// `.opencode/agents/<name>.md`, delete. Writes go through the write pipeline (reason `agents`).
import type { Handlers } from "../http/route.js";
import type { Services } from "../services/index.js";
import { agentChanges, listAgents, planAgentDelete, planAgentUpsert, readAgent } from "../workspace/agents.js";
import { cachedListing, workspaceOf, write } from "./context.js";

export function agentHandlers(s: Services) {
  const onSkip = (file: string, reason: string) => s.logger.debug({ file, reason }, "agent skipped");
  const list = (root: string) => listAgents(root, { onSkip });

  return {
    listAgents: (c, { params }) => {
      const workspace = workspaceOf(s, params.id);
      return cachedListing(c, s, workspace, "agents", "workspace", async () => ({ items: await list(workspace.path) }));
    },

    getAgent: async (_c, { params }) => readAgent(workspaceOf(s, params.id).path, params.name),

    upsertAgent: async (c, { params, body }) => {
      const workspace = workspaceOf(s, params.id);
      s.pipeline.assertWritable();
      const { result } = await write(c, s, workspace, {
        action: "agents.upsert",
        target: body.name,
        reasons: ["agents"],
        plan: async () => {
          const plan = await planAgentUpsert(workspace.path, body);
          return {
            summary: `${plan.existed ? "Update" : "Add"} agent "${plan.name}"`,
            changes: agentChanges(plan),
            result: () => plan.item,
          };
        },
      });
      return { item: result, items: await list(workspace.path) };
    },

    deleteAgent: async (c, { params }) => {
      const workspace = workspaceOf(s, params.id);
      s.pipeline.assertWritable();
      const { result: name } = await write(c, s, workspace, {
        action: "agents.delete",
        target: params.name,
        reasons: ["agents"],
        plan: async () => {
          const plan = await planAgentDelete(workspace.path, params.name);
          return { summary: `Delete agent "${plan.name}"`, changes: plan.changes, result: () => plan.name };
        },
      });
      return { ok: true as const, name, items: await list(workspace.path) };
    },
  } satisfies Partial<Handlers>;
}
