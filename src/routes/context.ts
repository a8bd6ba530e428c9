// Small helpers every route uses to turn a request into the pieces the services need.
import type { Context } from "hono";
import type { AppEnv } from "../http/env.js";
import type { Services } from "../services/index.js";
import type { ListingKind } from "../services/listing-cache.js";
import type { Workspace } from "../workspaces.js";

export function workspaceOf(c: Context<AppEnv>, s: Services): Workspace {
  return s.registry.get(c.req.param("id") ?? "");
}

export function actorOf(c: Context<AppEnv>) {
  return c.get("actor");
}

/** Answers a listing from the per-workspace cache (exact bytes), loading it on a miss. */
export async function cachedListing(
  c: Context<AppEnv>,
  s: Services,
  workspace: Workspace,
  kind: ListingKind,
  variant: string,
  load: () => Promise<unknown>,
) {
  const cached = await s.listings.get(workspace.id, kind, variant, async () => ({ json: await load() }));
  return c.body(cached.body, 200, { "Content-Type": "application/json" });
}
