// Skills: list (project, plus global with ?includeGlobal=true, owner only), read one, upsert and
// delete the workspace's `.opencode/skills/<name>/SKILL.md`. Writes go through the write pipeline.
import type { Handlers } from "../http/route.js";
import type { Services } from "../services/index.js";
import { fileWrite } from "../workspace/change-set.js";
import { listGlobalSkills, mergeSkillLists, planSkillDelete, planSkillUpsert, readProjectSkill } from "../workspace/skills.js";
import { assertOwnerFor, listingBody, workspaceOf, write } from "./context.js";

export function skillHandlers(s: Services) {
  const onSkip = (file: string, reason: string) => s.logger.debug({ file, reason }, "skill skipped");

  return {
    listSkills: async (c, { params, query, access }) => {
      const workspace = workspaceOf(s, params.id);
      const index = s.listings.of(workspace);
      if (!query.includeGlobal) return listingBody(c, await index.skillsResponse());
      assertOwnerFor(access, "includeGlobal=true"); // global skills are the host user's own
      // The global folders are read on each request (no watcher covers them); project ones win.
      return { items: mergeSkillLists([await index.skillItems(), ...(await listGlobalSkills(onSkip))]) };
    },

    // One project skill with its text: `{ item, content }` (422 when its SKILL.md does not parse).
    getSkill: async (_c, { params }) => readProjectSkill(workspaceOf(s, params.id).path, params.name),

    upsertSkill: async (c, { params, body }) => {
      const workspace = workspaceOf(s, params.id);
      s.pipeline.assertWritable();
      const { result } = await write(c, s, workspace, {
        action: "skills.upsert",
        target: body.name,
        reasons: ["skills"],
        plan: async () => {
          const plan = await planSkillUpsert(workspace.path, body);
          return {
            summary: `${plan.existed ? "Update" : "Add"} skill "${plan.name}"`,
            changes: [fileWrite(plan)],
            result: () => plan.item,
          };
        },
      });
      return result;
    },

    deleteSkill: async (c, { params }) => {
      const workspace = workspaceOf(s, params.id);
      s.pipeline.assertWritable();
      const { result } = await write(c, s, workspace, {
        action: "skills.delete",
        target: params.name,
        reasons: ["skills"],
        plan: async () => {
          const { name, change } = await planSkillDelete(workspace.path, params.name);
          return { summary: `Delete skill "${name}"`, changes: [change], result: () => ({ ok: true as const, name }) };
        },
      });
      return result;
    },
  } satisfies Partial<Handlers>;
}
