import { Hono } from "hono";
import type { AppEnv } from "../http/env.js";
import type { Services } from "../services/index.js";
import { describeWorkspace } from "../workspaces.js";

export function workspacesRoutes(s: Services) {
  return new Hono<AppEnv>().get("/workspaces", (c) => c.json({ items: s.registry.list().map(describeWorkspace) }));
}
