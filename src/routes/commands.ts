// Commands: list (workspace, or global with ?scope=global and the host token), upsert to
// `.opencode/commands/<name>.md`, delete. Writes go through the write pipeline and answer with the
// workspace list.
import { Hono } from "hono";
import { z } from "zod";
import { badRequest } from "../errors.js";
import { assertHost } from "../http/auth.js";
import { parseBody } from "../http/body.js";
import type { AppEnv } from "../http/env.js";
import type { Services } from "../services/index.js";
import { deleteCommand, listCommands, planCommandDelete, planCommandUpsert, writeCommand } from "../workspace/commands.js";
import type { Workspace } from "../workspaces.js";
import { actorOf, listingBody, workspaceOf } from "./context.js";

// Field types are checked by planCommandUpsert, so an import gets the same answers.
export const commandUpsertSchema = z.object({
  name: z.unknown().optional(),
  template: z.unknown().optional(),
  description: z.unknown().optional(),
  agent: z.unknown().optional(),
  model: z.unknown().optional(),
  subtask: z.unknown().optional(),
});

export function commandsRoutes(s: Services) {
  const app = new Hono<AppEnv>();
  const onSkip = (file: string, reason: string) => s.logger.debug({ file, reason }, "command skipped");
  const workspaceList = async (workspace: Workspace) => ({ items: await s.listings.of(workspace).commandItems() });

  app.get("/workspace/:id/commands", async (c) => {
    const workspace = workspaceOf(c, s);
    const scope = c.req.query("scope") ?? "workspace";
    if (scope !== "workspace" && scope !== "global") {
      throw badRequest("invalid_payload", 'scope must be "workspace" or "global"', { scope });
    }
    if (scope === "workspace") return listingBody(c, await s.listings.of(workspace).commandsResponse());
    assertHost(c.get("isHost"));
    // The global folders are read on each request (no watcher covers them).
    return c.json({ items: await listCommands(workspace.path, scope, { onSkip }) });
  });

  app.post("/workspace/:id/commands", async (c) => {
    const workspace = workspaceOf(c, s);
    s.pipeline.assertWritable();
    // The schema has no `content` (a whole command file, an import-only form), so zod drops it.
    const input = await parseBody(c, commandUpsertSchema);
    const plan = planCommandUpsert(workspace.path, input);
    await s.pipeline.run(workspace, actorOf(c), {
      action: "commands.upsert",
      target: plan.name,
      summary: `Save command "/${plan.name}"`,
      paths: [plan.relativePath],
      reasons: ["commands"],
      apply: () => writeCommand(planCommandUpsert(workspace.path, input)),
    });
    return c.json(await workspaceList(workspace));
  });

  app.delete("/workspace/:id/commands/:name", async (c) => {
    const workspace = workspaceOf(c, s);
    s.pipeline.assertWritable();
    const name = c.req.param("name");
    const plan = await planCommandDelete(workspace.path, name);
    await s.pipeline.run(workspace, actorOf(c), {
      action: "commands.delete",
      target: plan.name,
      summary: `Delete command "/${plan.name}"`,
      paths: plan.relativePaths,
      reasons: ["commands"],
      apply: () => deleteCommand(workspace.path, name),
    });
    return c.json(await workspaceList(workspace));
  });

  return app;
}
