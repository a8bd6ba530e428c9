// Export and import of a workspace's setup (config, OpenWork config, skills, commands, agents).
// An import is validated whole before approval is asked; a preview answers what would change.
import { Hono } from "hono";
import { z } from "zod";
import { parseBody } from "../http/body.js";
import type { AppEnv } from "../http/env.js";
import type { Services } from "../services/index.js";
import { applyImport, exportWorkspace, type ImportInput, importChangesAnything, planImport } from "../workspace/transfer.js";
import { actorOf, workspaceOf } from "./context.js";

const jsonObject = z.record(z.string(), z.unknown());
const modeValue = z.enum(["merge", "replace"]);
// Item fields are type-checked by the skills and commands modules, so an import gets the same
// answers as POST /skills and POST /commands (and the error names the item).
export const importSchema = z.object({
  opencode: jsonObject.optional(),
  openwork: jsonObject.optional(),
  skills: z.array(z.object({ name: z.unknown(), content: z.unknown(), description: z.unknown().optional() })).optional(),
  commands: z.array(z.object({ name: z.unknown() }).catchall(z.unknown())).optional(),
  agents: z.array(z.object({ name: z.unknown() }).catchall(z.unknown())).optional(),
  mode: z
    .object({
      opencode: modeValue.optional(),
      openwork: modeValue.optional(),
      skills: modeValue.optional(),
      commands: modeValue.optional(),
      agents: modeValue.optional(),
    })
    .strict()
    .optional(),
});

export function transferRoutes(s: Services) {
  const app = new Hono<AppEnv>();

  app.get("/workspace/:id/export", async (c) => {
    const workspace = workspaceOf(c, s);
    return c.json(await exportWorkspace(workspace.path, workspace.id));
  });

  // Same validation and answers as the import, writing nothing (so no approval is asked).
  app.post("/workspace/:id/import/preview", async (c) => {
    const workspace = workspaceOf(c, s);
    const input = (await parseBody(c, importSchema)) as ImportInput;
    const plan = await planImport(workspace.path, input);
    return c.json(plan.changes);
  });

  app.post("/workspace/:id/import", async (c) => {
    const workspace = workspaceOf(c, s);
    s.pipeline.assertWritable();
    const input = (await parseBody(c, importSchema)) as ImportInput;
    const plan = await planImport(workspace.path, input);
    // An import that changes nothing is answered at once: no approval, audit entry or event.
    if (!importChangesAnything(plan)) return c.json({ ok: true, changed: false, changes: plan.changes });
    const { result } = await s.pipeline.run(workspace, actorOf(c), {
      action: "config.import",
      target: plan.paths.length === 1 ? plan.paths[0]! : `${plan.paths.length} files`,
      summary: plan.summary,
      paths: plan.paths,
      reasons: plan.reasons,
      apply: async () => {
        // Re-plan under the lock against the latest files: a write that landed while approval
        // was pending is seen, and a now-invalid import still writes nothing.
        const current = await planImport(workspace.path, input);
        await applyImport(current);
        return current.changes;
      },
    });
    return c.json({ ok: true, changed: true, changes: result });
  });

  return app;
}
