// Builds the HTTP app from the services. Order matters: CORS (so preflights and errors carry
// CORS headers), body cap, then the contract's operations (each with its own auth, scope and
// validation; src/http/route.ts), the OpenCode gateway, and the host page's static files.
import { Hono } from "hono";
import { bodyLimit } from "./http/body.js";
import { cors } from "./http/cors.js";
import type { AppEnv } from "./http/env.js";
import { errorHandler, notFoundHandler } from "./http/errors.js";
import { type Handlers, registerOperations } from "./http/route.js";
import { agentHandlers } from "./routes/agents.js";
import { approvalHandlers } from "./routes/approvals.js";
import { auditHandlers } from "./routes/audit.js";
import { commandHandlers } from "./routes/commands.js";
import { configHandlers } from "./routes/config.js";
import { engineHandlers } from "./routes/engine.js";
import { eventHandlers } from "./routes/events.js";
import { gatewayRoutes } from "./routes/gateway.js";
import { hostHandlers } from "./routes/host.js";
import { mcpHandlers } from "./routes/mcp.js";
import { pluginHandlers } from "./routes/plugins.js";
import { serverHandlers } from "./routes/server.js";
import { skillHandlers } from "./routes/skills.js";
import { tokenHandlers } from "./routes/tokens.js";
import { transferHandlers } from "./routes/transfer.js";
import { uiRoutes } from "./routes/ui.js";
import type { Services } from "./services/index.js";

export type App = Hono<AppEnv>;

export interface AppOptions {
  /**
   * Check every JSON answer against its operation's schema and turn a mismatch into a 500 (the
   * tests run with this on: OPENWORK_VALIDATE_RESPONSES=1).
   */
  validateResponses?: boolean;
}

export function createApp(s: Services, options: AppOptions = {}): App {
  const app = new Hono<AppEnv>();
  const { settings } = s;
  const validateResponses = options.validateResponses ?? process.env.OPENWORK_VALIDATE_RESPONSES === "1";

  // One line per request at debug level (OPENWORK_LOG_LEVEL=debug); nothing is added otherwise.
  if (s.logger.isLevelEnabled("debug")) {
    app.use("*", async (c, next) => {
      const started = performance.now();
      await next();
      const ms = Math.round((performance.now() - started) * 10) / 10;
      s.logger.debug({ method: c.req.method, path: c.req.path, status: c.res.status, ms }, "request");
    });
  }
  app.use("*", cors(settings.corsOrigins));
  // Only requests that may carry a body pay for the cap.
  app.on(["POST", "PATCH", "PUT", "DELETE"], "*", bodyLimit(settings.bodyLimitBytes));

  const handlers: Handlers = {
    ...serverHandlers(s),
    ...tokenHandlers(s),
    ...approvalHandlers(s),
    ...hostHandlers(s),
    ...configHandlers(s),
    ...auditHandlers(s),
    ...pluginHandlers(s),
    ...mcpHandlers(s),
    ...skillHandlers(s),
    ...commandHandlers(s),
    ...agentHandlers(s),
    ...transferHandlers(s),
    ...eventHandlers(s),
    ...engineHandlers(s),
  };
  registerOperations(app, handlers, {
    auth: s.auth,
    logger: s.logger,
    validateResponses,
    assertServed: (id) => void s.registry.get(id),
    admitWrite: (c, access) => {
      const release = s.approvals.admit(access.actor);
      // Shutdown waits until this answer has left (a waiting write gets its 403, not a cut connection).
      const outgoing = (c.env as { outgoing?: import("node:http").ServerResponse } | undefined)?.outgoing;
      if (outgoing) s.pipeline.track(new Promise((resolve) => outgoing.once("close", resolve)));
      return release;
    },
  });
  // The OpenCode gateway: any method, any engine path, checked against the scope policy.
  app.route("/", gatewayRoutes(s));
  // The host page is public; its data calls carry the host token.
  app.route("/", uiRoutes());

  app.onError(errorHandler(s.logger, { validateResponses }));
  app.notFound(notFoundHandler);
  return app;
}
