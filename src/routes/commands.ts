// Commands: list (workspace, or global with ?scope=global, owner only), upsert to
// `.opencode/commands/<name>.md` (answers the workspace list), delete (answers `{ ok: true }`,
// which the OpenWork app checks). Writes go through the write pipeline.
import type { Handlers } from "../http/route.js";
import type { Services } from "../services/index.js";
import { deleteCommand, listCommands, planCommandDelete, planCommandUpsert, writeCommand } from "../workspace/commands.js";
import { actorOf, assertOwnerFor, cachedListing, workspaceOf } from "./context.js";

export function commandHandlers(s: Services) {
  const onSkip = (file: string, reason: string) => s.logger.debug({ file, reason }, "command skipped");

  return {
    listCommands: (c, { params, query, access }) => {
      const workspace = workspaceOf(s, params.id);
      if (query.scope === "global") assertOwnerFor(access, "scope=global");
      return cachedListing(c, s, workspace, "commands", query.scope, async () => ({
        items: await listCommands(workspace.path, query.scope, { onSkip }),
      }));
    },

    upsertCommand: async (c, { params, body }) => {
      const workspace = workspaceOf(s, params.id);
      s.pipeline.assertWritable();
      const plan = planCommandUpsert(workspace.path, body);
      await s.pipeline.run(workspace, actorOf(c), {
        action: "commands.upsert",
        target: plan.name,
        summary: `Save command "/${plan.name}"`,
        paths: [plan.relativePath],
        reasons: ["commands"],
        apply: () => writeCommand(planCommandUpsert(workspace.path, body)),
      });
      return { items: await listCommands(workspace.path, "workspace", { onSkip }) };
    },

    deleteCommand: async (c, { params }) => {
      const workspace = workspaceOf(s, params.id);
      s.pipeline.assertWritable();
      const plan = await planCommandDelete(workspace.path, params.name);
      await s.pipeline.run(workspace, actorOf(c), {
        action: "commands.delete",
        target: plan.name,
        summary: `Delete command "/${plan.name}"`,
        paths: plan.relativePaths,
        reasons: ["commands"],
        apply: () => deleteCommand(workspace.path, params.name),
      });
      return { ok: true as const, name: plan.name };
    },
  } satisfies Partial<Handlers>;
}
