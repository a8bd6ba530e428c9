// What the host page needs to pair a client. The legacy client token is revealed here, to owners
// only (the host page, or a device holding an owner token), and never to a workspace-bound owner:
// that token reaches every workspace, so handing it out would undo the binding.
import { ApiError } from "../errors.js";
import type { Handlers } from "../http/route.js";
import type { Services } from "../services/index.js";
import { describeWorkspace } from "../workspaces.js";

export function hostHandlers(s: Services) {
  return {
    getPairing: (c, { access }) => {
      if (access?.workspaces) {
        throw new ApiError(
          403,
          "workspace_forbidden",
          "The pairing details hold the server's client token, which reaches every workspace; this token is limited to some",
          { workspaces: [...access.workspaces] },
        );
      }
      // The listening URLs are known once the server is bound; in-process (tests) fall back to the
      // address this request came in on.
      const urls = s.publicUrls.length > 0 ? s.publicUrls : [new URL(c.req.url).origin];
      c.header("Cache-Control", "no-store");
      return {
        urls,
        token: s.settings.token,
        workspaces: s.registry.list().map((w) => ({ ...describeWorkspace(w), authorized: w.authorized })),
        approval: { mode: s.settings.approval.mode, timeoutMs: s.settings.approval.timeoutMs },
        readOnly: s.settings.readOnly,
        version: s.version,
      };
    },
  } satisfies Partial<Handlers>;
}
