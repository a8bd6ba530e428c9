// The caller's scope (SPEC 7), in one place until scoped tokens land: the host token is an owner,
// the legacy client token a collaborator. The lead's auth replaces this with `actor.scope`.
import type { Context } from "hono";
import type { Scope } from "../services/gateway-policy.js";
import type { AppEnv } from "./env.js";

export function scopeOf(c: Context<AppEnv>): Scope {
  return c.get("actor")?.type === "host" ? "owner" : "collaborator";
}
