// Every credential resolves to one Actor with a scope (SPEC 7):
//   X-OpenWork-Host-Token: <host token>   -> host, owner
//   Authorization: Bearer <client token>  -> legacy, collaborator
//   Authorization: Bearer owt_...          -> a scoped token from the store, its own scope
// A valid host token wins (the OpenWork app sends both tokens on every request). Fixed secrets
// are compared by hashing both sides and comparing the digests in constant time, so neither
// length nor content leaks through timing and tokens of any length or encoding are a plain 401.
// 401 bodies say why (`details.reason`: missing, malformed, unknown, revoked, expired) without
// saying anything about the secrets themselves. Routes declare the scope they need; nothing
// else checks tokens.
import { createHash, timingSafeEqual } from "node:crypto";
import type { Context } from "hono";
import { ApiError } from "../errors.js";
import { SCOPED_TOKEN_PATTERN, type Scope, scopeCovers, TOKEN_PREFIX, type TokenStore } from "../services/tokens.js";
import type { AuthFailureLimiter } from "./auth-limiter.js";
import type { AppEnv } from "./env.js";

export const HOST_TOKEN_HEADER = "X-OpenWork-Host-Token";
export const CLIENT_ID_HEADER = "X-OpenWork-Client-Id";

export type ActorType = "token" | "legacy" | "host";

/** Who made a request, as shown in approvals, audit entries and events. */
export interface Actor {
  type: ActorType;
  scope: Scope;
  /** The scoped token's id and label (from the store: trustworthy). */
  tokenId?: string;
  label?: string;
  /** `X-OpenWork-Client-Id`: self-declared by the client, never proof of anything. */
  clientId?: string;
}

/** What a request may reach: its actor, and the workspaces a bound token is limited to. */
export interface Access {
  actor: Actor;
  /** null: every workspace. */
  workspaces: ReadonlySet<string> | null;
}

export type UnauthorizedReason = "missing" | "malformed" | "unknown" | "revoked" | "expired";

const REASON_MESSAGES: Record<UnauthorizedReason, string> = {
  missing: "Missing Authorization header: send Authorization: Bearer <token>",
  malformed: "Malformed Authorization header: expected 'Bearer <token>'",
  unknown: "Unknown token: check that it was copied whole and belongs to this server",
  revoked: "This token was revoked on the host; ask the host for a new one",
  expired: "This token has expired; ask the host for a new one",
};

export const unauthorized = (reason: UnauthorizedReason, message = REASON_MESSAGES[reason]) =>
  new ApiError(401, "unauthorized", message, { reason });

const digest = (value: string) => createHash("sha256").update(value, "utf8").digest();

/** A fixed secret kept as its digest, so each request hashes only what it was given. */
class Secret {
  private readonly expected: Buffer;
  constructor(value: string) {
    this.expected = digest(value);
  }
  matches(given: string): boolean {
    return timingSafeEqual(digest(given), this.expected);
  }
}

/** The token of an `Authorization: Bearer <token>` header. */
export function bearerToken(header: string): string {
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  if (!match?.[1]) throw unauthorized("malformed");
  return match[1];
}

function clientId(header: string | undefined): string | undefined {
  if (!header) return undefined;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are dropped on purpose
  const printable = header.replace(/[\u0000-\u001f\u007f]/g, "");
  const trimmed = printable.trim().slice(0, 128);
  return trimmed === "" ? undefined : trimmed;
}

/** The address a request came from (undefined in-process, where nothing is rate-limited). */
export function remoteAddress(c: Context<AppEnv>): string | undefined {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  return env?.incoming?.socket?.remoteAddress;
}

export interface AuthenticatorDeps {
  token: string;
  hostToken: string;
  tokens: TokenStore;
  limiter: AuthFailureLimiter;
}

export class Authenticator {
  private readonly legacy: Secret;
  private readonly host: Secret;

  constructor(private readonly deps: AuthenticatorDeps) {
    this.legacy = new Secret(deps.token);
    this.host = new Secret(deps.hostToken);
  }

  /** Resolves the request's credentials (401 / 429 otherwise). */
  authenticate(c: Context<AppEnv>): Access {
    const address = remoteAddress(c);
    this.deps.limiter.check(address);
    try {
      return this.resolve(c.req.header("Authorization"), c.req.header(HOST_TOKEN_HEADER), clientId(c.req.header(CLIENT_ID_HEADER)));
    } catch (error) {
      // A request with no credential guesses nothing; counting it would only lock out a client
      // that has not been paired yet (and anyone sharing its address, the host page included).
      if (!(error instanceof ApiError && error.details?.reason === "missing")) this.deps.limiter.fail(address);
      throw error;
    }
  }

  private resolve(authorization: string | undefined, hostHeader: string | undefined, client: string | undefined): Access {
    const withClient = (actor: Actor): Actor => (client ? { ...actor, clientId: client } : actor);
    if (hostHeader && this.host.matches(hostHeader)) {
      return { actor: withClient({ type: "host", scope: "owner" }), workspaces: null };
    }
    if (authorization === undefined || authorization === "") {
      // A host header alone that did not match is a wrong credential, not a missing one.
      throw hostHeader ? unauthorized("unknown", "Invalid host token") : unauthorized("missing");
    }
    const token = bearerToken(authorization);
    // The legacy token first: an operator may have chosen one that starts with the scoped prefix.
    if (this.legacy.matches(token)) return { actor: withClient({ type: "legacy", scope: "collaborator" }), workspaces: null };
    if (token.startsWith(TOKEN_PREFIX)) {
      if (!SCOPED_TOKEN_PATTERN.test(token)) throw unauthorized("malformed", "Malformed token: it does not look like an owt_ token");
      const found = this.deps.tokens.resolve(token);
      if (!found.ok) throw unauthorized(found.reason);
      const { record } = found;
      this.deps.tokens.touch(record);
      return {
        actor: withClient({ type: "token", scope: record.scope, tokenId: record.id, label: record.label }),
        workspaces: record.workspaces ? new Set(record.workspaces) : null,
      };
    }
    throw unauthorized("unknown", "Invalid bearer token");
  }
}

/** 403 `insufficient_scope` unless `access` reaches `required`. */
export function assertScope(access: Access, required: Scope, what = "This request"): void {
  if (scopeCovers(access.actor.scope, required)) return;
  throw new ApiError(403, "insufficient_scope", `${what} needs the ${required} scope; this credential is ${access.actor.scope}`, {
    required,
    scope: access.actor.scope,
  });
}

/** 403 `workspace_forbidden` unless the token may reach this workspace. */
export function assertWorkspace(access: Access, workspaceId: string): void {
  if (access.workspaces === null || access.workspaces.has(workspaceId)) return;
  throw new ApiError(403, "workspace_forbidden", "This token is not allowed to reach that workspace", { workspaceId });
}
