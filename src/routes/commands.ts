// Commands: list (workspace, or global with ?scope=global, owner only), upsert to
// `.opencode/commands/<name>.md` (answers the workspace list), delete (answers `{ ok: true }`,
// which the OpenWork app checks). Writes go through the write pipeline.
import type { Handlers } from "../http/route.js";
import type { Services } from "../services/index.js";
import { fileWrite } from "../workspace/change-set.js";
import { listCommands, planCommandDelete, planCommandUpsert } from "../workspace/commands.js";
import { assertOwnerFor, listingBody, workspaceOf, write } from "./context.js";

export function commandHandlers(s: Services) {
  const onSkip = (file: string, reason: string) => s.logger.debug({ file, reason }, "command skipped");

  return {
    listCommands: async (c, { params, query, access }) => {
      const workspace = workspaceOf(s, params.id);
      if (query.scope === "workspace") return listingBody(c, await s.listings.of(workspace).commandsResponse());
      assertOwnerFor(access, "scope=global");
      // The global folders are read on each request (no watcher covers them).
      return { items: await listCommands(workspace.path, "global", { onSkip }) };
    },

    upsertCommand: async (c, { params, body }) => {
      const workspace = workspaceOf(s, params.id);
      s.pipeline.assertWritable();
      await write(c, s, workspace, {
        action: "commands.upsert",
        target: body.name,
        reasons: ["commands"],
        plan: async () => {
          const plan = await planCommandUpsert(workspace.path, body);
          return { summary: `Save command "/${plan.name}"`, changes: [fileWrite(plan)], result: () => undefined };
        },
      });
      return { items: await s.listings.of(workspace).commandItems() };
    },

    deleteCommand: async (c, { params }) => {
      const workspace = workspaceOf(s, params.id);
      s.pipeline.assertWritable();
      const { result } = await write(c, s, workspace, {
        action: "commands.delete",
        target: params.name,
        reasons: ["commands"],
        plan: async () => {
          const { name, changes } = await planCommandDelete(workspace.path, params.name);
          return { summary: `Delete command "/${name}"`, changes, result: () => ({ ok: true as const, name }) };
        },
      });
      return result;
    },
  } satisfies Partial<Handlers>;
}
