// `ANY /opencode/*` (the first workspace with an engine that the caller reaches) and
// `ANY /w/:id/opencode/*`: the OpenCode gateway. The handler authenticates, picks the workspace
// and passes the caller's scope; src/services/gateway.ts checks the policy and forwards.
import { type Context, Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ApiError } from "../errors.js";
import { type Access, assertWorkspace } from "../http/auth.js";
import { nodeExchange } from "../http/body.js";
import type { AppEnv } from "../http/env.js";
import { engineTarget } from "../services/engine.js";
import type { Services } from "../services/index.js";
import type { Workspace } from "../workspaces.js";

export const GATEWAY_MOUNT = "/opencode";

/** The workspace `/opencode/*` serves: the first authorized one with an engine the caller reaches. */
function defaultWorkspace(s: Services, access: Access): Workspace {
  const found = s.registry.list().find((w) => w.authorized && w.baseUrl && (!access.workspaces || access.workspaces.has(w.id)));
  if (!found) {
    throw new ApiError(400, "opencode_not_configured", "No OpenCode engine is configured for any workspace this token reaches", {
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

/**
 * An engine event stream that ends the moment the caller's scoped token is revoked or expires, as
 * the server's own streams do.
 */
function endsWithToken(s: Services, access: Access, body: ReadableStream<Uint8Array> | null): ReadableStream<Uint8Array> | null {
  const tokenId = access.actor.tokenId;
  if (!body || !tokenId) return body;
  const reader = body.getReader();
  let unsubscribe = () => {};
  let ended = false;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      unsubscribe = s.tokens.onEnd((id) => {
        if (id !== tokenId || ended) return;
        ended = true;
        unsubscribe();
        reader.cancel().catch(() => {});
        controller.close();
      });
    },
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (ended) return;
        if (done) {
          ended = true;
          unsubscribe();
          controller.close();
        } else controller.enqueue(value);
      } catch (error) {
        if (ended) return;
        ended = true;
        unsubscribe();
        controller.error(error);
      }
    },
    cancel(reason) {
      unsubscribe();
      return reader.cancel(reason);
    },
  });
}

export function gatewayRoutes(s: Services) {
  const app = new Hono<AppEnv>();
  const authenticate = (c: Context<AppEnv>) => {
    const access = s.auth.authenticate(c);
    c.set("access", access);
    c.set("actor", access.actor);
    return access;
  };
  const forward = async (c: Context<AppEnv>, access: Access, workspace: Workspace, mount: string) => {
    const answer = await s.gateway.forward({
      request: c.req.raw,
      node: nodeExchange(c),
      enginePath: pathAfter(c, mount),
      mount,
      target: engineTarget(workspace),
      scope: access.actor.scope,
      bound: access.workspaces !== null,
      bodyLimit: c.get("bodyLimit") ?? s.settings.bodyLimitBytes,
    });
    const eventStream = answer.body instanceof ReadableStream && answer.headers.get("content-type")?.startsWith("text/event-stream");
    const body = eventStream ? endsWithToken(s, access, answer.body as ReadableStream<Uint8Array>) : answer.body;
    // Through the context, so the headers set before (CORS) are kept; a stream stays a stream.
    return c.newResponse(body, { status: answer.status as ContentfulStatusCode, headers: answer.headers });
  };

  for (const path of [GATEWAY_MOUNT, `${GATEWAY_MOUNT}/*`]) {
    app.all(path, (c) => {
      const access = authenticate(c);
      return forward(c, access, defaultWorkspace(s, access), GATEWAY_MOUNT);
    });
  }
  for (const path of ["/w/:id/opencode", "/w/:id/opencode/*"]) {
    app.all(path, (c) => {
      const access = authenticate(c);
      const id = c.req.param("id") ?? "";
      assertWorkspace(access, id);
      const workspace = s.registry.get(id);
      // The id as it appears in the URL (the registry matched it exactly).
      return forward(c, access, workspace, `/w/${workspace.id}${GATEWAY_MOUNT}`);
    });
  }
  return app;
}
