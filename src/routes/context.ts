// Small helpers every route uses to turn a request into the pieces the services need.
import type { Context } from "hono";
import type { AppEnv } from "../http/env.js";
import type { Services } from "../services/index.js";
import type { CachedResponse, WholeKind } from "../services/listing-index.js";
import type { WriteOperation } from "../services/write-pipeline.js";
import { type ConfigFile, readProjectConfig, writeConfigText } from "../workspace/opencode-config.js";
import type { Workspace } from "../workspaces.js";

export function workspaceOf(c: Context<AppEnv>, s: Services): Workspace {
  return s.registry.get(c.req.param("id") ?? "");
}

export function actorOf(c: Context<AppEnv>) {
  return c.get("actor");
}

/** A boolean query flag such as `?includeGlobal=true`: `true`, `1` or `yes` (any case); else false. */
export function queryFlag(c: Context<AppEnv>, name: string): boolean {
  return ["true", "1", "yes"].includes((c.req.query(name) ?? "").toLowerCase());
}

/** Answers a listing kept by the listing index (exact bytes), loading it when it changed. */
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
