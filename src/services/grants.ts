// Grants (SPEC 8): an owner lets one credential's writes of some actions in one workspace through
// without asking, for at most an hour. Narrow on purpose: kept in memory only (a restart ends
// them all), ended at once when the token is revoked, and never covering a write that runs code
// or widens permissions (the pipeline asks for those whatever the grants say).
import { randomUUID } from "node:crypto";
import { MAX_GRANT_TTL_MS } from "../contract/actions.js";
import type { Actor } from "../http/auth.js";

/** The credential a grant names: a scoped token's id, or `legacy` for the server's client token. */
export const LEGACY_GRANTEE = "legacy";
export { MAX_GRANT_TTL_MS };

export interface Grant {
  id: string;
  tokenId: string;
  workspaceId: string;
  actions: string[];
  createdAt: number;
  expiresAt: number;
  createdBy: Actor;
}

export function granteeOf(actor: Actor): string | undefined {
  if (actor.type === "token") return actor.tokenId;
  if (actor.type === "legacy") return LEGACY_GRANTEE;
  return undefined; // the host never needs one
}

export class GrantStore {
  private readonly grants = new Map<string, Grant>();

  constructor(private readonly now: () => number = Date.now) {}

  create(input: Omit<Grant, "id" | "createdAt" | "expiresAt"> & { ttlMs: number }): Grant {
    const createdAt = this.now();
    const { ttlMs, ...rest } = input;
    const grant: Grant = {
      id: `grt_${randomUUID()}`,
      ...rest,
      actions: [...new Set(rest.actions)],
      createdAt,
      expiresAt: createdAt + ttlMs,
    };
    this.grants.set(grant.id, grant);
    return grant;
  }

  /** Active grants, oldest first. */
  list(): Grant[] {
    this.prune();
    return [...this.grants.values()];
  }

  get(id: string): Grant | undefined {
    this.prune();
    return this.grants.get(id);
  }

  revoke(id: string): boolean {
    return this.grants.delete(id);
  }

  /** Ends every grant of a credential (its token was revoked or expired). */
  revokeFor(tokenId: string): void {
    for (const [id, grant] of this.grants) if (grant.tokenId === tokenId) this.grants.delete(id);
  }

  /** The grant that lets this write through, if any. */
  match(actor: Actor, workspaceId: string, action: string): Grant | undefined {
    const grantee = granteeOf(actor);
    if (grantee === undefined) return undefined;
    this.prune();
    for (const grant of this.grants.values()) {
      if (grant.tokenId === grantee && grant.workspaceId === workspaceId && grant.actions.includes(action)) return grant;
    }
    return undefined;
  }

  private prune(): void {
    const now = this.now();
    for (const [id, grant] of this.grants) if (grant.expiresAt <= now) this.grants.delete(id);
  }
}
