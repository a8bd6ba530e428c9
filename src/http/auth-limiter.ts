// Failed authentication is limited per remote address: after `limit` failures within `windowMs`
// the address gets 429 (with Retry-After) for every request that needs a credential, valid or
// not, until its oldest failure ages out. Blocking valid credentials too is deliberate: otherwise
// a blocked guesser would still learn from each answer which guess was right. Successful requests
// cost one map lookup and are never delayed.
import { ApiError } from "../errors.js";

export interface AuthLimiterOptions {
  /** Failures allowed per address within the window (default 20). */
  limit?: number;
  /** The window in ms (default 10 s). */
  windowMs?: number;
  /** Addresses remembered at most; the stalest are forgotten first (default 10,000). */
  maxAddresses?: number;
}

export const AUTH_LIMIT_DEFAULTS = { limit: 20, windowMs: 10_000, maxAddresses: 10_000 };

export class AuthFailureLimiter {
  /** Address -> times of its recent failures, oldest first (at most `limit`). */
  private readonly failures = new Map<string, number[]>();
  private readonly options: Required<AuthLimiterOptions>;

  constructor(
    options: AuthLimiterOptions = {},
    private readonly now: () => number = Date.now,
  ) {
    this.options = { ...AUTH_LIMIT_DEFAULTS, ...options };
  }

  /** Throws 429 `rate_limited` while `address` is blocked. */
  check(address: string | undefined): void {
    if (address === undefined) return;
    const times = this.failures.get(address);
    if (!times || times.length < this.options.limit) return;
    const retryAt = times[0]! + this.options.windowMs;
    const waitMs = retryAt - this.now();
    if (waitMs <= 0) return;
    throw new ApiError(429, "rate_limited", "Too many failed authentication attempts from this address; wait before retrying", {
      retryAfterSeconds: Math.ceil(waitMs / 1000),
    });
  }

  /** Records one failed attempt from `address`. */
  fail(address: string | undefined): void {
    if (address === undefined) return;
    const now = this.now();
    const times = (this.failures.get(address) ?? []).filter((t) => t > now - this.options.windowMs);
    times.push(now);
    if (times.length > this.options.limit) times.splice(0, times.length - this.options.limit);
    this.failures.delete(address); // re-inserted last: the map's order is staleness order
    this.failures.set(address, times);
    while (this.failures.size > this.options.maxAddresses) {
      const stalest = this.failures.keys().next().value as string;
      this.failures.delete(stalest);
    }
  }
}
