// One error type for every layer. Workspace modules throw it without knowing about HTTP;
// the HTTP error handler turns it into `{ code, message, details? }` with its status.

export type ErrorCode =
  | "invalid_payload"
  | "invalid_json"
  | "invalid_name"
  | "invalid_path"
  | "path_escape"
  | "invalid_config"
  | "unauthorized"
  | "write_denied"
  | "read_only"
  | "workspace_unauthorized"
  | "workspace_not_found"
  | "not_found"
  | "conflict"
  | "payload_too_large"
  | "unsupported_media_type"
  | "invalid_file"
  | "symlink_in_path"
  | "unprocessable"
  | "opencode_not_configured"
  | "opencode_unreachable"
  | "opencode_reload_failed"
  | "opencode_timeout"
  | "opencode_busy"
  | "internal_error";

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
