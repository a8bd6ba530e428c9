import { Hono } from "hono";
import type { AppEnv } from "../http/env.js";
import type { Services } from "../services/index.js";

export function healthRoutes(s: Services) {
  return new Hono<AppEnv>().get("/health", (c) => c.json({ ok: true, version: s.version, uptimeMs: Date.now() - s.startedAt }));
}

export function capabilitiesRoutes(s: Services) {
  const write = !s.settings.readOnly;
  return new Hono<AppEnv>().get("/capabilities", (c) =>
    c.json({
      skills: { read: true, write, source: "openwork" },
      plugins: { read: true, write },
      mcp: { read: true, write },
      commands: { read: true, write },
      config: { read: true, write },
    }),
  );
}
