// One error type for every layer. Workspace modules throw it without knowing about HTTP;
// the HTTP error handler turns it into `{ code, message, details? }` with its status.
// ERROR_CODES is the closed list the API answers with (the contract's error schema is built
// from it, so an undocumented code fails the response-schema check in the tests).

export const ERROR_CODES = [
  "invalid_payload",
  "invalid_json",
  "invalid_name",
  "invalid_path",
  "path_escape",
  "invalid_config",
  "unauthorized",
  "insufficient_scope",
  "workspace_forbidden",
  "rate_limited",
  "write_denied",
  "read_only",
  "workspace_unauthorized",
  "workspace_not_found",
  "not_found",
  "token_not_found",
  "conflict",
  "changed_since_approval",
  "too_many_pending",
  "change_too_large",
  "payload_too_large",
  "unsupported_media_type",
  "invalid_file",
  "symlink_in_path",
  "unprocessable",
  "proxy_forbidden",
  "opencode_not_configured",
  "opencode_unreachable",
  "opencode_reload_failed",
  "opencode_timeout",
  "opencode_busy",
  "misdirected_host",
  "too_many_connections",
  "internal_error",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = "ApiError";
  }

  toBody(): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

export const badRequest = (code: ErrorCode, message: string, details?: Record<string, unknown>) =>
  new ApiError(400, code, message, details);

export const notFound = (message: string, details?: Record<string, unknown>) => new ApiError(404, "not_found", message, details);

export function isApiError(value: unknown): value is ApiError {
  return value instanceof ApiError;
}
