import { Hono } from "hono";
import { z } from "zod";
import { badRequest } from "../errors.js";
import { parseBody } from "../http/body.js";
import type { AppEnv } from "../http/env.js";
import type { Services } from "../services/index.js";
import { applyConfigEdit, planConfigPatch, readWorkspaceConfig } from "../workspace/config-edit.js";
import { actorOf, workspaceOf } from "./context.js";

const jsonObject = z.record(z.string(), z.unknown());
export const configPatchSchema = z.object({ opencode: jsonObject.optional(), openwork: jsonObject.optional() });

export function configRoutes(s: Services) {
  const app = new Hono<AppEnv>();

  app.get("/workspace/:id/config", async (c) => {
    const workspace = workspaceOf(c, s);
    const cached = await s.listings.of(workspace).get("config", "", async () => {
      const [config, updatedAt] = await Promise.all([readWorkspaceConfig(workspace.path), s.audit.lastTimestamp(workspace.path)]);
      return { json: { opencode: config.project.value, openwork: config.openwork.value, updatedAt }, etag: config.etag };
    });
    return c.body(cached.body, 200, { "Content-Type": "application/json", ETag: cached.etag ?? "" });
  });

  app.patch("/workspace/:id/config", async (c) => {
    const workspace = workspaceOf(c, s);
    s.pipeline.assertWritable();
    const patch = await parseBody(c, configPatchSchema);
    if (patch.opencode === undefined && patch.openwork === undefined) {
      throw badRequest("invalid_payload", "Body needs at least one of: opencode, openwork");
    }
    const ifMatch = c.req.header("If-Match");
    const before = await readWorkspaceConfig(workspace.path);
    // Validated (and If-Match checked) before approval is asked. A patch that changes no byte is
    // answered at once: no approval, no audit entry, no event.
    const changed = planConfigPatch(before, patch, ifMatch).writes.filter((w) => w.text !== w.file.text);
    if (changed.length > 0) {
      const keys = [
        ...Object.keys(patch.opencode ?? {}).map((k) => `${before.project.file}:${k}`),
        ...Object.keys(patch.openwork ?? {}).map((k) => `openwork.json:${k}`),
      ];
      const paths = changed.map((w) => w.file.file);
      await s.pipeline.run(workspace, actorOf(c), {
        action: "config.patch",
        target: paths.join(", "),
        summary: `Update config keys: ${keys.join(", ")}`,
        paths,
        reasons: ["config"],
        apply: async () => {
          // Re-read under the lock: another write may have landed while we waited for approval.
          const current = await readWorkspaceConfig(workspace.path);
          await applyConfigEdit(planConfigPatch(current, patch, ifMatch));
        },
      });
    }
    const [after, updatedAt] = await Promise.all([readWorkspaceConfig(workspace.path), s.audit.lastTimestamp(workspace.path)]);
    c.header("ETag", after.etag);
    return c.json({ opencode: after.project.value, openwork: after.openwork.value, updatedAt });
  });

  return app;
}
