// Bearer and host-token checks. Secrets are compared by hashing both sides to a fixed length and
// comparing the digests in constant time, so neither length nor content leaks through timing,
// and tokens of any length or encoding are a plain 401, never a crash.
import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { ApiError } from "../errors.js";
import type { Actor } from "../services/audit.js";
import type { AppEnv } from "./env.js";

export const HOST_TOKEN_HEADER = "X-OpenWork-Host-Token";
export const CLIENT_ID_HEADER = "X-OpenWork-Client-Id";

const digest = (value: string) => createHash("sha256").update(value, "utf8").digest();

/** A secret kept as its digest, so each request hashes only what it was given. */
class Secret {
  private readonly expected: Buffer;
  constructor(value: string) {
    this.expected = digest(value);
  }
  /** The digest of `given` when it matches, else null. */
  match(given: string): Buffer | null {
    const hashed = digest(given);
    return timingSafeEqual(hashed, this.expected) ? hashed : null;
  }
}

const unauthorized = (message: string) => new ApiError(401, "unauthorized", message);

export function bearerToken(header: string | undefined): string {
  if (header === undefined) throw unauthorized("Missing Authorization header");
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  if (!match?.[1]) throw unauthorized("Malformed Authorization header: expected 'Bearer <token>'");
  return match[1];
}

function clientId(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const trimmed = header.trim().slice(0, 128);
  return trimmed === "" ? undefined : trimmed;
}

/** Client routes: a valid bearer token. A valid host token alongside marks the actor as the host. */
export function requireClient(token: string, hostToken: string): MiddlewareHandler<AppEnv> {
  const client = new Secret(token);
  const host = new Secret(hostToken);
  return async (c, next) => {
    const matched = client.match(bearerToken(c.req.header("Authorization")));
    if (matched === null) throw unauthorized("Invalid bearer token");
    const hostHeader = c.req.header(HOST_TOKEN_HEADER);
    const isHost = hostHeader !== undefined && host.match(hostHeader) !== null;
    // The fingerprint is the same digest we just compared: sha256(token), first 12 hex digits.
    const actor: Actor = { type: isHost ? "host" : "remote", tokenHash: matched.toString("hex").slice(0, 12) };
    const id = clientId(c.req.header(CLIENT_ID_HEADER));
    if (id) actor.clientId = id;
    c.set("actor", actor);
    c.set("isHost", isHost);
    await next();
  };
}

/** Host routes: the host token in X-OpenWork-Host-Token. */
export function requireHost(hostToken: string): MiddlewareHandler<AppEnv> {
  const host = new Secret(hostToken);
  return async (c, next) => {
    const given = c.req.header(HOST_TOKEN_HEADER);
    if (given === undefined || given === "") throw unauthorized(`Missing ${HOST_TOKEN_HEADER} header`);
    if (host.match(given) === null) throw unauthorized("Invalid host token");
    const actor: Actor = { type: "host" };
    const id = clientId(c.req.header(CLIENT_ID_HEADER));
    if (id) actor.clientId = id;
    c.set("actor", actor);
    c.set("isHost", true);
    await next();
  };
}

/** For a client route that reads host-scoped data: also demand the host token. */
export function assertHost(isHost: boolean | undefined): void {
  if (!isHost) throw unauthorized(`This scope needs the ${HOST_TOKEN_HEADER} header`);
}
