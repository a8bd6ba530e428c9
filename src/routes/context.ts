// Small helpers every route uses to turn a request into the pieces the services need.
import type { Context } from "hono";
import type { AppEnv } from "../http/env.js";
import type { Services } from "../services/index.js";
import type { Workspace } from "../workspaces.js";

export function workspaceOf(c: Context<AppEnv>, s: Services): Workspace {
  return s.registry.get(c.req.param("id") ?? "");
}

export function actorOf(c: Context<AppEnv>) {
  return c.get("actor");
}
