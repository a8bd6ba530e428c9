// Plugins: list config specs and plugin files (global ones with ?includeGlobal=true, owner only),
// add and remove config specs. Writes are project-config edits through the write pipeline.
import type { Handlers } from "../http/route.js";
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
import { assertOwnerFor, cachedListing, projectConfigPlan, workspaceOf, write } from "./context.js";

export function pluginHandlers(s: Services) {
  const listing = async (root: string, includeGlobal = false) => {
    const project = await readProjectConfig(root);
    return { items: await listPlugins(root, project, includeGlobal), loadOrder: [...PLUGIN_LOAD_ORDER] };
  };

  return {
    listPlugins: (c, { params, query, access }) => {
      const workspace = workspaceOf(s, params.id);
      if (query.includeGlobal) assertOwnerFor(access, "includeGlobal=true");
      return cachedListing(c, s, workspace, "plugins", String(query.includeGlobal), () => listing(workspace.path, query.includeGlobal));
    },

    addPlugin: async (c, { params, body }) => {
      const workspace = workspaceOf(s, params.id);
      s.pipeline.assertWritable();
      const spec = validatePluginSpec(body.spec);
      // A spec whose name is already present changes nothing: no approval, audit entry or event.
      const { applied } = await write(c, s, workspace, {
        action: "plugins.add",
        target: spec,
        reasons: ["plugins"],
        plan: projectConfigPlan(
          workspace.path,
          (file) => `Add plugin ${spec} to ${file}`,
          (current) => planPluginAdd(current, spec),
          () => undefined,
        ),
      });
      return { ...(await listing(workspace.path)), changed: applied };
    },

    // `{.+}` also accepts an unencoded scoped name (`@scope/pkg`); Hono decodes `%2F` and `%40`.
    removePlugin: async (c, { params }) => {
      const workspace = workspaceOf(s, params.id);
      s.pipeline.assertWritable();
      const name = validatePluginSpec(params.name, "name");
      await write(c, s, workspace, {
        action: "plugins.remove",
        target: normalizePluginName(name),
        reasons: ["plugins"],
        plan: projectConfigPlan(
          workspace.path,
          (file) => `Remove plugin ${normalizePluginName(name)} from ${file}`,
          (current) => planPluginRemove(current, name),
          () => undefined,
        ),
      });
      return listing(workspace.path);
    },
  } satisfies Partial<Handlers>;
}
