import { Hono } from "hono";
import { z } from "zod";
import { assertHost } from "../http/auth.js";
import { parseBody } from "../http/body.js";
import type { AppEnv } from "../http/env.js";
import type { Services } from "../services/index.js";
import { readProjectConfig, writeConfigText } from "../workspace/opencode-config.js";
import {
  listPlugins,
  normalizePluginName,
  PLUGIN_LOAD_ORDER,
  planPluginAdd,
  planPluginRemove,
  validatePluginSpec,
} from "../workspace/plugins.js";
import { actorOf, cachedListing, workspaceOf } from "./context.js";

const addSchema = z.object({ spec: z.string() });

export function pluginsRoutes(s: Services) {
  const app = new Hono<AppEnv>();

  const listing = async (root: string, includeGlobal = false) => {
    const project = await readProjectConfig(root);
    return { items: await listPlugins(root, project, includeGlobal), loadOrder: [...PLUGIN_LOAD_ORDER] };
  };

  app.get("/workspace/:id/plugins", async (c) => {
    const workspace = workspaceOf(c, s);
    const includeGlobal = ["true", "1", "yes"].includes((c.req.query("includeGlobal") ?? "").toLowerCase());
    if (includeGlobal) assertHost(c.get("isHost"));
    return cachedListing(c, s, workspace, "plugins", String(includeGlobal), () => listing(workspace.path, includeGlobal));
  });

  app.post("/workspace/:id/plugins", async (c) => {
    const workspace = workspaceOf(c, s);
    const body = await parseBody(c, addSchema);
    const spec = validatePluginSpec(body.spec);
    const before = await readProjectConfig(workspace.path);
    // Validate (and detect a no-op) before anyone is asked: a spec whose name is already present
    // changes nothing, so it needs no approval and leaves no audit entry or reload event.
    s.pipeline.assertWritable();
    if (!planPluginAdd(before, spec).changed) {
      return c.json({ ...(await listing(workspace.path)), changed: false });
    }
    await s.pipeline.run(workspace, actorOf(c), {
      action: "plugins.add",
      target: spec,
      summary: `Add plugin ${spec} to ${before.file}`,
      paths: [before.file],
      reasons: ["plugins"],
      precheck: async () => {
        planPluginAdd(before, spec);
      },
      apply: async () => {
        const current = await readProjectConfig(workspace.path);
        const plan = planPluginAdd(current, spec);
        if (plan.changed) await writeConfigText(current, plan.text);
      },
    });
    return c.json({ ...(await listing(workspace.path)), changed: true });
  });

  // `{.+}` also accepts an unencoded scoped name (`@scope/pkg`); Hono decodes `%2F` and `%40`.
  app.delete("/workspace/:id/plugins/:name{.+}", async (c) => {
    const workspace = workspaceOf(c, s);
    const name = validatePluginSpec(c.req.param("name"), "name");
    const before = await readProjectConfig(workspace.path);
    planPluginRemove(before, name); // 404 / 400 before approval
    await s.pipeline.run(workspace, actorOf(c), {
      action: "plugins.remove",
      target: normalizePluginName(name),
      summary: `Remove plugin ${normalizePluginName(name)} from ${before.file}`,
      paths: [before.file],
      reasons: ["plugins"],
      apply: async () => {
        const current = await readProjectConfig(workspace.path);
        await writeConfigText(current, planPluginRemove(current, name).text);
      },
    });
    return c.json(await listing(workspace.path));
  });

  return app;
}
