// Builds the HTTP app from the services. Order matters: CORS (so preflights and errors carry
// CORS headers), body cap, then auth by route family, then the routes.
import { Hono } from "hono";
import { requireClient, requireHost } from "./http/auth.js";
import { bodyLimit } from "./http/body.js";
import { cors } from "./http/cors.js";
import type { AppEnv } from "./http/env.js";
import { errorHandler, notFoundHandler } from "./http/errors.js";
import { agentsRoutes } from "./routes/agents.js";
import { approvalsRoutes } from "./routes/approvals.js";
import { auditRoutes } from "./routes/audit.js";
import { commandsRoutes } from "./routes/commands.js";
import { configRoutes } from "./routes/config.js";
import { engineRoutes } from "./routes/engine.js";
import { eventsRoutes } from "./routes/events.js";
import { gatewayRoutes } from "./routes/gateway.js";
import { capabilitiesRoutes, healthRoutes } from "./routes/health.js";
import { hostRoutes } from "./routes/host.js";
import { mcpRoutes } from "./routes/mcp.js";
import { openapiRoutes } from "./routes/openapi.js";
import { pluginsRoutes } from "./routes/plugins.js";
import { skillsRoutes } from "./routes/skills.js";
import { transferRoutes } from "./routes/transfer.js";
import { uiRoutes } from "./routes/ui.js";
import { workspacesRoutes } from "./routes/workspaces.js";
import type { Services } from "./services/index.js";

export type App = Hono<AppEnv>;

export function createApp(s: Services): App {
  const app = new Hono<AppEnv>();
  const { settings } = s;

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

  // Open routes. The host page is public; its data calls carry the host token.
  app.route("/", healthRoutes(s));
  app.route("/", openapiRoutes(s));
  app.route("/", uiRoutes());

  // Host routes: the host token.
  app.use("/approvals", requireHost(settings.hostToken));
  app.use("/approvals/*", requireHost(settings.hostToken));
  app.route("/", approvalsRoutes(s));
  app.use("/host/*", requireHost(settings.hostToken));
  app.route("/", hostRoutes(s));

  // Client routes: the bearer token.
  const client = requireClient(settings.token, settings.hostToken);
  for (const path of ["/capabilities", "/workspaces", "/workspace/*", "/opencode", "/opencode/*", "/w/*"]) app.use(path, client);
  app.route("/", capabilitiesRoutes(s));
  app.route("/", workspacesRoutes(s));
  app.route("/", configRoutes(s));
  app.route("/", auditRoutes(s));
  app.route("/", pluginsRoutes(s));
  app.route("/", mcpRoutes(s));
  app.route("/", transferRoutes(s));
  app.route("/", skillsRoutes(s));
  app.route("/", commandsRoutes(s));
  app.route("/", agentsRoutes(s));
  app.route("/", eventsRoutes(s));
  app.route("/", engineRoutes(s));
  app.route("/", gatewayRoutes(s));

  app.onError(errorHandler(s.logger));
  app.notFound(notFoundHandler);
  return app;
}
