// `POST /workspace/:id/engine/reload`: make the OpenCode engine re-read the workspace's files.
// Approval-gated and audited like a write, but allowed on a read-only server (it changes no file).
import { Hono } from "hono";
import { badRequest } from "../errors.js";
import type { AppEnv } from "../http/env.js";
import { engineTarget } from "../services/engine.js";
import type { Services } from "../services/index.js";
import { actorOf, workspaceOf } from "./context.js";

export const RELOAD_MAX_WAIT_MS = 120_000;

function parseFlag(value: string | undefined, name: string): boolean {
  if (value === undefined) return false;
  if (/^(|1|true|yes)$/i.test(value)) return true;
  if (/^(0|false|no)$/i.test(value)) return false;
  throw badRequest("invalid_payload", `${name} must be true or false`, { [name]: value });
}

export function engineRoutes(s: Services) {
  return new Hono<AppEnv>().post("/workspace/:id/engine/reload", async (c) => {
    const workspace = workspaceOf(c, s);
    const force = parseFlag(c.req.query("force"), "force");
    const waitParam = c.req.query("waitMs");
    let idleWaitMs: number | undefined;
    if (waitParam !== undefined) {
      if (!/^\d+$/.test(waitParam) || Number(waitParam) > RELOAD_MAX_WAIT_MS) {
        throw badRequest("invalid_payload", `waitMs must be an integer from 0 to ${RELOAD_MAX_WAIT_MS}`, { waitMs: waitParam });
      }
      idleWaitMs = Number(waitParam);
    }
    // Checked before approval is asked: no engine, nothing to approve.
    const target = engineTarget(workspace);
    const { result: reloadedAt } = await s.pipeline.run(workspace, actorOf(c), {
      action: "engine.reload",
      target: target.directory,
      summary: `Reload the OpenCode engine for ${target.directory}${force ? " (force: running sessions are aborted)" : ""}`,
      paths: [],
      reasons: [],
      allowWhenReadOnly: true,
      // The wait for busy sessions (up to `waitMs`) must not hold the workspace's write lock:
      // writes that land meanwhile are picked up by the dispose that follows anyway.
      beforeLock: force ? undefined : () => s.engine.waitUntilIdle(target, idleWaitMs),
      apply: () => s.engine.dispose(target),
    });
    return c.json({ ok: true, reloadedAt });
  });
}
