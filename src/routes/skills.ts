// Skills: list (project, plus global with ?includeGlobal=true), upsert and delete the workspace's
// `.opencode/skills/<name>/SKILL.md`. Writes go through the write pipeline (approval, lock, audit).
import { Hono } from "hono";
import { z } from "zod";
import { assertHost } from "../http/auth.js";
import { parseBody } from "../http/body.js";
import type { AppEnv } from "../http/env.js";
import type { Services } from "../services/index.js";
import {
  deleteProjectSkill,
  listGlobalSkills,
  mergeSkillLists,
  planSkillDelete,
  planSkillUpsert,
  readProjectSkill,
  writeSkill,
} from "../workspace/skills.js";
import { actorOf, listingBody, queryFlag, workspaceOf } from "./context.js";

// Types beyond "is it there" are checked by planSkillUpsert, so an import gets the same answers.
export const skillUpsertSchema = z.object({
  name: z.unknown().optional(),
  content: z.unknown().optional(),
  description: z.unknown().optional(),
});

export function skillsRoutes(s: Services) {
  const app = new Hono<AppEnv>();
  const onSkip = (file: string, reason: string) => s.logger.debug({ file, reason }, "skill skipped");

  app.get("/workspace/:id/skills", async (c) => {
    const workspace = workspaceOf(c, s);
    const includeGlobal = queryFlag(c, "includeGlobal");
    const index = s.listings.of(workspace);
    if (!includeGlobal) return listingBody(c, await index.skillsResponse());
    assertHost(c.get("isHost")); // global skills are the host user's own
    // The global folders are read on each request (no watcher covers them); project ones win.
    return c.json({ items: mergeSkillLists([await index.skillItems(), ...(await listGlobalSkills(onSkip))]) });
  });

  // One project skill with its text: `{ item, content }` (422 when its SKILL.md does not parse).
  app.get("/workspace/:id/skills/:name", async (c) => {
    const workspace = workspaceOf(c, s);
    return c.json(await readProjectSkill(workspace.path, c.req.param("name")));
  });

  app.post("/workspace/:id/skills", async (c) => {
    const workspace = workspaceOf(c, s);
    s.pipeline.assertWritable();
    const body = await parseBody(c, skillUpsertSchema);
    const first = await planSkillUpsert(workspace.path, body);
    const { result } = await s.pipeline.run(workspace, actorOf(c), {
      action: "skills.upsert",
      target: first.name,
      summary: `${first.existed ? "Update" : "Add"} skill "${first.name}"`,
      paths: [first.relativePath],
      reasons: ["skills"],
      apply: async () => writeSkill(await planSkillUpsert(workspace.path, body)),
    });
    return c.json(result);
  });

  app.delete("/workspace/:id/skills/:name", async (c) => {
    const workspace = workspaceOf(c, s);
    s.pipeline.assertWritable();
    const name = c.req.param("name");
    const plan = await planSkillDelete(workspace.path, name);
    await s.pipeline.run(workspace, actorOf(c), {
      action: "skills.delete",
      target: plan.name,
      summary: `Delete skill "${plan.name}"`,
      paths: [plan.relativePath],
      reasons: ["skills"],
      apply: () => deleteProjectSkill(workspace.path, name),
    });
    return c.json({ ok: true, name: plan.name });
  });

  return app;
}
