// `ANY /opencode/*` (the first workspace with an engine) and `ANY /w/:id/opencode/*`: the OpenCode
// gateway. The handler only picks the workspace and the scope; src/services/gateway.ts forwards.
import { type Context, Hono } from "hono";
import { ApiError } from "../errors.js";
import type { AppEnv } from "../http/env.js";
import { scopeOf } from "../http/scope.js";
import { engineTarget } from "../services/engine.js";
import type { Services } from "../services/index.js";
import type { Workspace } from "../workspaces.js";

export const GATEWAY_MOUNT = "/opencode";

/** The workspace `/opencode/*` serves: the first authorized one with an engine. */
function defaultWorkspace(s: Services): Workspace {
  const found = s.registry.list().find((w) => w.authorized && w.baseUrl);
  if (!found) {
    throw new ApiError(400, "opencode_not_configured", "No OpenCode engine is configured for any workspace", {
      hint: "start the server with --opencode-base-url (or set baseUrl on a workspace in the config file)",
    });
  }
  return found;
}

/** The raw (still percent-encoded) path after `mount`, as the client sent it. */
function pathAfter(c: Context<AppEnv>, mount: string): string {
  const { pathname } = new URL(c.req.url);
  const rest = pathname.slice(mount.length);
  return rest === "" ? "/" : rest;
}

export function gatewayRoutes(s: Services) {
  const app = new Hono<AppEnv>();
  const forward = async (c: Context<AppEnv>, workspace: Workspace, mount: string) => {
    const res = await s.gateway.forward({
      request: c.req.raw,
      enginePath: pathAfter(c, mount),
      mount,
      target: engineTarget(workspace),
      scope: scopeOf(c),
      bodyLimit: c.get("bodyLimit") ?? s.settings.bodyLimitBytes,
    });
    // Through the context, so the headers set before (CORS) are kept; the body stays a stream.
    return c.newResponse(res.body, res as unknown as Parameters<typeof c.newResponse>[1]);
  };

  for (const path of [GATEWAY_MOUNT, `${GATEWAY_MOUNT}/*`]) {
    app.all(path, (c) => forward(c, defaultWorkspace(s), GATEWAY_MOUNT));
  }
  for (const path of ["/w/:id/opencode", "/w/:id/opencode/*"]) {
    app.all(path, (c) => {
      const workspace = s.registry.get(c.req.param("id") ?? "");
      // The id as it appears in the URL (the registry matched it exactly).
      return forward(c, workspace, `/w/${workspace.id}${GATEWAY_MOUNT}`);
    });
  }
  return app;
}
