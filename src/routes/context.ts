// Small helpers every route uses to turn a request into the pieces the services need.
import type { Context } from "hono";
import { type Access, assertScope } from "../http/auth.js";
import type { AppEnv } from "../http/env.js";
import type { Services } from "../services/index.js";
import type { ListingKind } from "../services/listing-cache.js";
import type { WriteOperation } from "../services/write-pipeline.js";
import { type ConfigFile, readProjectConfig, writeConfigText } from "../workspace/opencode-config.js";
import type { Workspace } from "../workspaces.js";

/** The served workspace with this id (404 unknown, 403 outside the authorized roots). */
export function workspaceOf(s: Services, id: string): Workspace {
  return s.registry.get(id);
}

export function actorOf(c: Context<AppEnv>) {
  return c.get("actor");
}

/** Host-scoped data (global skills, plugins and commands) are the host user's own: owner only. */
export function assertOwnerFor(access: Access | undefined, what: string): void {
  if (access) assertScope(access, "owner", what);
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

export interface ProjectConfigWrite extends Pick<WriteOperation<boolean>, "action" | "target" | "reasons"> {
  /** One line for the approver and the audit log; `file` is the config file's name. */
  summary: (file: string) => string;
  /**
   * The new config text made from `current` (throwing ApiError when the edit is invalid), or null
   * when nothing would change.
   */
  plan: (current: ConfigFile) => { text: string } | null;
}

/**
 * An edit of the project config (plugins, MCP): planned against the file as it is now (so a bad
 * edit is answered before approval is asked), then re-read and re-planned under the workspace
 * lock, so a write that landed meanwhile is kept. Returns whether the file was changed: false,
 * without approval, audit entry or event, when the plan changes nothing to begin with.
 * Routes call `s.pipeline.assertWritable()` first.
 */
export async function writeProjectConfig(c: Context<AppEnv>, s: Services, workspace: Workspace, op: ProjectConfigWrite) {
  const before = await readProjectConfig(workspace.path);
  if (op.plan(before) === null) return false;
  const { result } = await s.pipeline.run(workspace, actorOf(c), {
    action: op.action,
    target: op.target,
    summary: op.summary(before.file),
    paths: [before.file],
    reasons: op.reasons,
    apply: async () => {
      const current = await readProjectConfig(workspace.path);
      const planned = op.plan(current);
      if (planned) await writeConfigText(current, planned.text);
      return planned !== null;
    },
  });
  return result;
}
