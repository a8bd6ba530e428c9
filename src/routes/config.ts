// The workspace config: read (cached bytes with an ETag) and patch (approval-gated).
import type { Handlers } from "../http/route.js";
import type { Services } from "../services/index.js";
import { planConfigPatch, readWorkspaceConfig } from "../workspace/config-edit.js";
import { configChange, workspaceOf, write } from "./context.js";

/** How many keys a summary names before it says "and N more". */
const SUMMARY_KEYS = 8;

export function configHandlers(s: Services) {
  return {
    getConfig: async (c, { params }) => {
      const workspace = workspaceOf(s, params.id);
      const cached = await s.listings.of(workspace).get("config", "", async () => {
        const [config, updatedAt] = await Promise.all([readWorkspaceConfig(workspace.path), s.audit.lastTimestamp(workspace.path)]);
        return { json: { opencode: config.project.value, openwork: config.openwork.value, updatedAt }, etag: config.etag };
      });
      return c.body(cached.body, 200, { "Content-Type": "application/json", ETag: cached.etag ?? "" });
    },

    patchConfig: async (c, { params, body: patch }) => {
      const workspace = workspaceOf(s, params.id);
      s.pipeline.assertWritable();
      const ifMatch = c.req.header("If-Match");
      // Validated (and If-Match checked) before approval is asked, and again under the lock. A
      // patch that changes no byte is answered at once: no approval, no audit entry, no event.
      await write(c, s, workspace, {
        action: "config.patch",
        target: "config",
        reasons: ["config"],
        plan: async () => {
          const current = await readWorkspaceConfig(workspace.path);
          const writes = planConfigPatch(current, patch, ifMatch).writes;
          const keys = [
            ...Object.keys(patch.opencode ?? {}).map((k) => `${current.project.file}:${k}`),
            ...Object.keys(patch.openwork ?? {}).map((k) => `openwork.json:${k}`),
          ];
          const more = keys.length > SUMMARY_KEYS ? ` and ${keys.length - SUMMARY_KEYS} more` : "";
          return {
            summary: `Update config keys: ${keys.slice(0, SUMMARY_KEYS).join(", ")}${more}`,
            changes: writes.map((w) => configChange(w.file, w.text)),
            result: () => undefined,
          };
        },
      });
      const [after, updatedAt] = await Promise.all([readWorkspaceConfig(workspace.path), s.audit.lastTimestamp(workspace.path)]);
      c.header("ETag", after.etag);
      return { opencode: after.project.value, openwork: after.openwork.value, updatedAt };
    },
  } satisfies Partial<Handlers>;
}
