// Plugins: list config specs and plugin files (global ones with ?includeGlobal=true), add and
// remove config specs. Writes are project-config edits (writeProjectConfig): validated first,
// re-planned under the lock.
import { Hono } from "hono";
import { z } from "zod";
import { assertHost } from "../http/auth.js";
import { parseBody } from "../http/body.js";
import type { AppEnv } from "../http/env.js";
import type { Services } from "../services/index.js";
import { readProjectConfig } from "../workspace/opencode-config.js";
import {
  listPlugins,
  normalizePluginName,
  PLUGIN_LOAD_ORDER,
  planPluginAdd,
  planPluginRemove,
  validatePluginSpec,
} from "../workspace/plugins.js";
import { cachedListing, queryFlag, workspaceOf, writeProjectConfig } from "./context.js";

export const pluginAddSchema = z.object({ spec: z.string() });

export function pluginsRoutes(s: Services) {
  const app = new Hono<AppEnv>();

  const listing = async (root: string, includeGlobal = false) => {
    const project = await readProjectConfig(root);
    return { items: await listPlugins(root, project, includeGlobal), loadOrder: [...PLUGIN_LOAD_ORDER] };
  };

  app.get("/workspace/:id/plugins", async (c) => {
    const workspace = workspaceOf(c, s);
    const includeGlobal = queryFlag(c, "includeGlobal");
    if (!includeGlobal) return cachedListing(c, s, workspace, "plugins", "", () => listing(workspace.path));
    assertHost(c.get("isHost"));
    return c.json(await listing(workspace.path, true)); // the global folders are read on each request
  });

  app.post("/workspace/:id/plugins", async (c) => {
    const workspace = workspaceOf(c, s);
    s.pipeline.assertWritable();
    const spec = validatePluginSpec((await parseBody(c, pluginAddSchema)).spec);
    // A spec whose name is already present changes nothing: no approval, audit entry or event.
    const changed = await writeProjectConfig(c, s, workspace, {
      action: "plugins.add",
      target: spec,
      summary: (file) => `Add plugin ${spec} to ${file}`,
      reasons: ["plugins"],
      plan: (current) => planPluginAdd(current, spec),
    });
    return c.json({ ...(await listing(workspace.path)), changed });
  });

  // `{.+}` also accepts an unencoded scoped name (`@scope/pkg`); Hono decodes `%2F` and `%40`.
  app.delete("/workspace/:id/plugins/:name{.+}", async (c) => {
    const workspace = workspaceOf(c, s);
    s.pipeline.assertWritable();
    const name = validatePluginSpec(c.req.param("name"), "name");
    await writeProjectConfig(c, s, workspace, {
      action: "plugins.remove",
      target: normalizePluginName(name),
      summary: (file) => `Remove plugin ${normalizePluginName(name)} from ${file}`,
      reasons: ["plugins"],
      plan: (current) => planPluginRemove(current, name),
    });
    return c.json(await listing(workspace.path));
  });

  return app;
}
