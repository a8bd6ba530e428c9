// The one error the client throws for an answer that is not a success: the server's own
// `{ code, message, details? }` with the HTTP status (and Retry-After for a 429), or
// `unexpected_response` for something that is not such a body (a proxy's HTML page, a cut stream).
// Network failures and aborts are not wrapped: fetch's own errors reach the caller unchanged.
import type { ErrorCode } from "../errors.js";

/** A code the server answers with, or the client's own `unexpected_response`. */
export type OpenworkErrorCode = ErrorCode | "unexpected_response";

export class OpenworkError extends Error {
  override readonly name = "OpenworkError";

  constructor(
    /** The HTTP status (0 when there was no answer to speak of, e.g. a stream that ended). */
    readonly status: number,
    readonly code: OpenworkErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    /** From `Retry-After` (a 429, a 503): seconds to wait before trying again. */
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}

/** `Retry-After`: delta-seconds or an HTTP date, as whole seconds from now. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** Reads a failed answer into an OpenworkError (consuming its body). */
export async function errorFromResponse(response: Response): Promise<OpenworkError> {
  const retryAfter = parseRetryAfter(response.headers.get("Retry-After"));
  let text = "";
  try {
    text = await response.text();
  } catch {}
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {}
  if (isObject(body) && typeof body.code === "string" && typeof body.message === "string") {
    const details = isObject(body.details) ? body.details : undefined;
    // The body says it too (a browser may not be allowed to read the header of another origin).
    const fromBody = typeof details?.retryAfterSeconds === "number" ? details.retryAfterSeconds : undefined;
    return new OpenworkError(response.status, body.code as ErrorCode, body.message, details, retryAfter ?? fromBody);
  }
  const reason = `${response.status}${response.statusText ? ` ${response.statusText}` : ""}`;
  return new OpenworkError(
    response.status,
    "unexpected_response",
    `HTTP ${reason}: not an openwork-server error body`,
    text ? { body: text.slice(0, 500) } : undefined,
    retryAfter,
  );
}
