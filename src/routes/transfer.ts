// Export and import of a workspace's setup (config, OpenWork config, skills, commands).
// An import is validated whole before approval is asked; a preview answers what would change.
import type { Handlers } from "../http/route.js";
import type { Services } from "../services/index.js";
import { applyImport, exportWorkspace, type ImportInput, importChangesAnything, planImport } from "../workspace/transfer.js";
import { actorOf, workspaceOf } from "./context.js";

export function transferHandlers(s: Services) {
  return {
    exportWorkspace: async (_c, { params }) => {
      const workspace = workspaceOf(s, params.id);
      return exportWorkspace(workspace.path, workspace.id);
    },

    // Same validation and answers as the import, writing nothing (so no approval is asked).
    previewImport: async (_c, { params, body }) => {
      const workspace = workspaceOf(s, params.id);
      return (await planImport(workspace.path, body as ImportInput)).changes;
    },

    importWorkspace: async (c, { params, body }) => {
      const workspace = workspaceOf(s, params.id);
      s.pipeline.assertWritable();
      const input = body as ImportInput;
      const plan = await planImport(workspace.path, input);
      // An import that changes nothing is answered at once: no approval, audit entry or event.
      if (!importChangesAnything(plan)) return { ok: true as const, changed: false, changes: plan.changes };
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
      return { ok: true as const, changed: true, changes: result };
    },
  } satisfies Partial<Handlers>;
}
