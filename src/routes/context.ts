// Small helpers every route uses to turn a request into the pieces the services need.
import type { Context } from "hono";
import { type Access, assertScope } from "../http/auth.js";
import type { AppEnv } from "../http/env.js";
import type { Services } from "../services/index.js";
import type { CachedResponse, WholeKind } from "../services/listing-index.js";
import type { WritePlan, WriteRequest } from "../services/write-pipeline.js";
import type { FileChange } from "../workspace/change-set.js";
import { type ConfigFile, readProjectConfig } from "../workspace/opencode-config.js";
import type { Workspace } from "../workspaces.js";

/** The served workspace with this id (404 unknown, 403 outside the authorized roots). */
export function workspaceOf(s: Services, id: string): Workspace {
  return s.registry.get(id);
}

/** Host-scoped data (global skills, plugins and commands) are the host user's own: owner only. */
export function assertOwnerFor(access: Access | undefined, what: string): void {
  if (access) assertScope(access, "owner", what);
}

/** Answers a listing kept whole by the listing index (exact bytes), loading it when it changed. */
export async function cachedListing(
  c: Context<AppEnv>,
  s: Services,
  workspace: Workspace,
  kind: WholeKind,
  variant: string,
  load: () => Promise<unknown>,
) {
  return listingBody(c, await s.listings.of(workspace).get(kind, variant, async () => ({ json: await load() })));
}

/** A listing's bytes as the JSON response. */
export function listingBody(c: Context<AppEnv>, cached: CachedResponse) {
  return c.body(cached.body, 200, { "Content-Type": "application/json" });
}

/**
 * Runs one write through the pipeline for the request's caller. The client's connection goes
 * along: a write whose client leaves while it waits for the host is withdrawn.
 */
export function write<R>(c: Context<AppEnv>, s: Services, workspace: Workspace, request: WriteRequest<R>) {
  return s.pipeline.run(workspace, c.get("actor"), request, () => c.req.raw.signal);
}

/** A file change from a config file as read and the new text planned for it. */
export function configChange(file: ConfigFile, text: string): FileChange {
  return { kind: "file", path: file.file, before: file.text, after: text };
}

/**
 * A plan that edits the project config (plugins, MCP): `edit` makes the new text from the file as
 * it is (throwing ApiError when the edit is invalid), or null when nothing would change.
 */
export function projectConfigPlan<R>(
  root: string,
  summary: (file: string) => string,
  edit: (current: ConfigFile) => { text: string } | null,
  result: () => R | Promise<R>,
): () => Promise<WritePlan<R>> {
  return async () => {
    const current = await readProjectConfig(root);
    const planned = edit(current);
    return { summary: summary(current.file), changes: planned ? [configChange(current, planned.text)] : [], result };
  };
}
