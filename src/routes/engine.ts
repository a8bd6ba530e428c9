// `POST /workspace/:id/engine/reload`: make the OpenCode engine re-read the workspace's files.
// Approval-gated and audited like a write, but allowed on a read-only server (it changes no file).
import type { Handlers } from "../http/route.js";
import { engineTarget } from "../services/engine.js";
import type { Services } from "../services/index.js";
import { workspaceOf, write } from "./context.js";

export function engineHandlers(s: Services) {
  return {
    reloadEngine: async (c, { params, query }) => {
      const workspace = workspaceOf(s, params.id);
      const { force, waitMs } = query;
      // Checked before approval is asked: no engine, nothing to approve.
      const target = engineTarget(workspace);
      let reloadedAt = 0;
      await write(c, s, workspace, {
        action: "engine.reload",
        target: target.directory,
        reasons: [],
        allowWhenReadOnly: true,
        // The wait for busy sessions (up to `waitMs`) must not hold the workspace's write lock:
        // writes that land meanwhile are picked up by the dispose that follows anyway.
        beforeLock: force ? undefined : () => s.engine.waitUntilIdle(target, waitMs),
        plan: async () => ({
          summary: `Reload the OpenCode engine for ${target.directory}${force ? " (force: running sessions are aborted)" : ""}`,
          changes: [],
          effect: async () => {
            reloadedAt = await s.engine.dispose(target);
          },
          result: () => undefined,
        }),
      });
      return { ok: true as const, reloadedAt };
    },
  } satisfies Partial<Handlers>;
}
