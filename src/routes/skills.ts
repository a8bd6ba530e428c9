// Skills: list (project, plus global with ?includeGlobal=true, owner only), read one, upsert and
// delete the workspace's `.opencode/skills/<name>/SKILL.md`. Writes go through the write pipeline.
import type { Handlers } from "../http/route.js";
import type { Services } from "../services/index.js";
import { deleteProjectSkill, listSkills, planSkillDelete, planSkillUpsert, readProjectSkill, writeSkill } from "../workspace/skills.js";
import { actorOf, assertOwnerFor, cachedListing, workspaceOf } from "./context.js";

export function skillHandlers(s: Services) {
  const onSkip = (file: string, reason: string) => s.logger.debug({ file, reason }, "skill skipped");

  return {
    listSkills: (c, { params, query, access }) => {
      const workspace = workspaceOf(s, params.id);
      const { includeGlobal } = query;
      if (includeGlobal) assertOwnerFor(access, "includeGlobal=true"); // global skills are the host user's own
      return cachedListing(c, s, workspace, "skills", String(includeGlobal), async () => ({
        items: await listSkills(workspace.path, { includeGlobal, onSkip }),
      }));
    },

    // One project skill with its text: `{ item, content }` (422 when its SKILL.md does not parse).
    getSkill: async (_c, { params }) => readProjectSkill(workspaceOf(s, params.id).path, params.name),

    upsertSkill: async (c, { params, body }) => {
      const workspace = workspaceOf(s, params.id);
      s.pipeline.assertWritable();
      const first = await planSkillUpsert(workspace.path, body);
      const { result } = await s.pipeline.run(workspace, actorOf(c), {
        action: "skills.upsert",
        target: first.name,
        summary: `${first.existed ? "Update" : "Add"} skill "${first.name}"`,
        paths: [first.relativePath],
        reasons: ["skills"],
        apply: async () => writeSkill(await planSkillUpsert(workspace.path, body)),
      });
      return result;
    },

    deleteSkill: async (c, { params }) => {
      const workspace = workspaceOf(s, params.id);
      s.pipeline.assertWritable();
      const plan = await planSkillDelete(workspace.path, params.name);
      await s.pipeline.run(workspace, actorOf(c), {
        action: "skills.delete",
        target: plan.name,
        summary: `Delete skill "${plan.name}"`,
        paths: [plan.relativePath],
        reasons: ["skills"],
        apply: () => deleteProjectSkill(workspace.path, params.name),
      });
      return { ok: true as const, name: plan.name };
    },
  } satisfies Partial<Handlers>;
}
