// Caps open connections per remote address and in total, so one client cannot exhaust the
// process's file descriptors (thousands of half-sent requests) and lock everyone else out.
// A connection over a cap is closed as soon as it is accepted: it costs the server one accept
// and one close, never a parser, a timer or a request.
import type { Server, Socket } from "node:net";
import type { Logger } from "../logger.js";
import { isLoopbackHost } from "./host-check.js";

export interface ConnectionCaps {
  maxPerAddress: number;
  maxTotal: number;
}

/** Sent on a refused plain-HTTP connection so a legitimate client (or a proxy) learns why. */
const REFUSED_BODY = JSON.stringify({ code: "too_many_connections", message: "Too many open connections; retry in a moment." });
const REFUSED_RESPONSE = Buffer.from(
  "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\nRetry-After: 5\r\n" +
    `Content-Length: ${Buffer.byteLength(REFUSED_BODY)}\r\n\r\n${REFUSED_BODY}`,
);

/**
 * The connections kept for loopback clients once the total is nearly used up: the host page
 * (approvals) keeps working while LAN clients hold every other connection.
 */
export function loopbackReserve(maxTotal: number): number {
  return Math.min(32, Math.floor(maxTotal / 8));
}

/** `::ffff:10.0.0.2` and `10.0.0.2` are one client. */
export function addressKey(address: string | undefined): string {
  if (!address) return "unknown";
  const lower = address.toLowerCase();
  return lower.startsWith("::ffff:") && lower.includes(".") ? lower.slice(7) : lower;
}

export interface ConnectionLimiter {
  /** Open connections now, per address (for tests and diagnostics). */
  open(): { total: number; byAddress: Map<string, number> };
  /** Connections refused so far. */
  refused(): number;
}

/**
 * Counts connections on `server` as they are accepted (the raw TCP socket, so a TLS handshake
 * counts too) and closes any over a cap. `plainHttp`: a refused connection may get a 503 first
 * (a TLS connection cannot be answered before its handshake, so it is just closed).
 */
export function limitConnections(
  server: Server,
  caps: ConnectionCaps,
  options: { plainHttp: boolean; logger?: Logger },
): ConnectionLimiter {
  const byAddress = new Map<string, number>();
  let total = 0;
  let refusedCount = 0;
  const reserve = loopbackReserve(caps.maxTotal);

  // Per address: when it was last warned about (once a minute, so a flood does not flood the
  // log too) and last sent a 503 (once a second: a client that bumps into the cap learns why,
  // while a flood gets the cheapest answer there is, a close).
  const warnedAt = new Map<string, number>();
  const answeredAt = new Map<string, number>();
  let lastWarning = 0;
  const remember = (map: Map<string, number>, key: string, now: number, every: number) => {
    if (now - (map.get(key) ?? 0) < every) return false;
    if (map.size > 10_000) map.clear();
    map.set(key, now);
    return true;
  };

  const refuse = (socket: Socket, key: string, reason: string) => {
    refusedCount++;
    const now = Date.now();
    // Also at most one a second in all: a client rotating IPv6 addresses is many addresses.
    if (options.logger && now - lastWarning >= 1000 && remember(warnedAt, key, now, 60_000)) {
      lastWarning = now;
      options.logger.warn({ remoteAddress: key, reason, caps }, "connection refused: too many open connections");
    }
    socket.on("error", () => {});
    if (options.plainHttp && remember(answeredAt, key, now, 1000)) {
      // Read nothing (no request of it ever reaches the app); destroyed once the answer is
      // handed to the kernel: no timer, no descriptor kept.
      socket.pause();
      socket.end(REFUSED_RESPONSE, () => socket.destroy());
    } else {
      socket.destroy();
    }
  };

  server.on("connection", (socket: Socket) => {
    const key = addressKey(socket.remoteAddress);
    const mine = byAddress.get(key) ?? 0;
    const ceiling = isLoopbackHost(key) ? caps.maxTotal : caps.maxTotal - reserve;
    if (mine >= caps.maxPerAddress) return refuse(socket, key, "maxPerAddress");
    if (total >= ceiling) return refuse(socket, key, "maxTotal");
    total++;
    byAddress.set(key, mine + 1);
    socket.once("close", () => {
      total--;
      const left = (byAddress.get(key) ?? 1) - 1;
      if (left <= 0) byAddress.delete(key);
      else byAddress.set(key, left);
    });
  });

  return {
    open: () => ({ total, byAddress: new Map(byAddress) }),
    refused: () => refusedCount,
  };
}
