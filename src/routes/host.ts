// Host-only reads for the host page: everything a host needs to pair a client. The client token
// is revealed here, and only to the holder of the host token.
import { Hono } from "hono";
import type { AppEnv } from "../http/env.js";
import type { Services } from "../services/index.js";
import { describeWorkspace } from "../workspaces.js";

export function hostRoutes(s: Services) {
  return new Hono<AppEnv>().get("/host/pairing", (c) => {
    // The listening URLs are known once the server is bound; in-process (tests) fall back to the
    // address this request came in on.
    const urls = s.publicUrls.length > 0 ? s.publicUrls : [new URL(c.req.url).origin];
    c.header("Cache-Control", "no-store");
    return c.json({
      urls,
      token: s.settings.token,
      workspaces: s.registry.list().map((w) => ({ ...describeWorkspace(w), authorized: w.authorized })),
      approval: { mode: s.settings.approval.mode, timeoutMs: s.settings.approval.timeoutMs },
      readOnly: s.settings.readOnly,
      version: s.version,
    });
  });
}
