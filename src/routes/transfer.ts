// Export and import of a workspace's setup (config, OpenWork config, skills, commands, agents).
// An import is validated whole before approval is asked; a preview answers what would change.
import type { Handlers } from "../http/route.js";
import type { Services } from "../services/index.js";
import { exportWorkspace, type ImportChanges, type ImportInput, planImport } from "../workspace/transfer.js";
import { workspaceOf, write } from "./context.js";

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
      let changes: ImportChanges | undefined;
      // Planned against the files as they are; after approval planned again under the lock, and
      // written only when it would write exactly what was approved (an import in `replace` mode
      // never removes items that appeared while it waited).
      const { applied } = await write(c, s, workspace, {
        action: "config.import",
        target: "import",
        reasons: [],
        plan: async () => {
          const plan = await planImport(workspace.path, input);
          changes = plan.changes;
          return { summary: plan.summary, changes: plan.planned, reasons: plan.reasons, result: () => undefined };
        },
      });
      return { ok: true as const, changed: applied, changes: changes! };
    },
  } satisfies Partial<Handlers>;
}
