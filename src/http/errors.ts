// The one error handler: ApiError -> its status and `{ code, message, details? }`;
// anything else is a bug -> 500 with a generic message (logged, never sent to the client).
import { randomUUID } from "node:crypto";
import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { ApiError, isApiError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { AppEnv } from "./env.js";
import { checkErrorBody } from "./route.js";

export function errorHandler(logger: Logger, options: { validateResponses?: boolean } = {}): ErrorHandler<AppEnv> {
  const send = (c: Context, error: ApiError) => {
    if (options.validateResponses) {
      const problem = checkErrorBody(error.toBody());
      if (problem) {
        logger.error({ problem, code: error.code }, "error body does not match the error schema");
        return sendError(c, new ApiError(500, "internal_error", `Error body does not match its schema: ${problem}`));
      }
    }
    return sendError(c, error);
  };
  return (error, c) => {
    if (isApiError(error)) return send(c, error);
    if (error instanceof HTTPException && error.status < 500) {
      return send(c, new ApiError(error.status, error.status === 401 ? "unauthorized" : "invalid_payload", error.message || "Bad request"));
    }
    // The id lets an operator find the logged error from what the client saw.
    const errorId = randomUUID();
    logger.error({ err: error, errorId, method: c.req.method, path: c.req.path }, "unhandled error");
    return sendError(c, new ApiError(500, "internal_error", "Internal server error", { errorId }));
  };
}

export const notFoundHandler: NotFoundHandler<AppEnv> = (c) =>
  sendError(c, new ApiError(404, "not_found", `No route for ${c.req.method} ${c.req.path}`));

export function sendError(c: Context, error: ApiError) {
  const retryAfter = error.details?.retryAfterSeconds;
  if (error.status === 429 && typeof retryAfter === "number") c.header("Retry-After", String(retryAfter));
  return c.json(error.toBody(), error.status as 400);
}
