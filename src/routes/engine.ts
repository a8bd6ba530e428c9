// `POST /workspace/:id/engine/reload`: make the OpenCode engine re-read the workspace's files.
// Approval-gated and audited like a write, but allowed on a read-only server (it changes no file).
import type { Handlers } from "../http/route.js";
import { engineTarget } from "../services/engine.js";
import type { Services } from "../services/index.js";
import { actorOf, workspaceOf } from "./context.js";

export function engineHandlers(s: Services) {
  return {
    reloadEngine: async (c, { params, query }) => {
      const workspace = workspaceOf(s, params.id);
      const { force, waitMs } = query;
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
        beforeLock: force ? undefined : () => s.engine.waitUntilIdle(target, waitMs),
        apply: () => s.engine.dispose(target),
      });
      return { ok: true as const, reloadedAt };
    },
  } satisfies Partial<Handlers>;
}
