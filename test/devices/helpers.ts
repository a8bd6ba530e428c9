// Shared pieces of the device tests: minting scoped tokens through the API, calling as a given
// credential, and reading a live stream until the server ends it.
import assert from "node:assert/strict";
import type { Harness } from "../helpers/harness.js";
import { HOST_TOKEN, json, TOKEN } from "../helpers/harness.js";

export type Kind = "viewer" | "collaborator" | "owner" | "legacy" | "host";

export interface Minted {
  id: string;
  token: string;
  scope: string;
  label: string;
  createdAt: number;
  expiresAt?: number;
  workspaces?: string[];
}

/** Creates a scoped token with the host token; fails the test unless it is a 201. */
export async function mint(
  h: Harness,
  body: { scope: string; label?: string; expiresInMs?: number; workspaces?: string[] },
  headers?: Record<string, string>,
): Promise<Minted> {
  const res = await h.app.request("/tokens", {
    method: "POST",
    headers: { "Content-Type": "application/json", ...(headers ?? { "X-OpenWork-Host-Token": HOST_TOKEN }) },
    body: JSON.stringify({ label: `${body.scope} device`, ...body }),
  });
  const out = await json(res);
  assert.equal(res.status, 201, JSON.stringify(out));
  return out as Minted;
}

export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/** The headers of each kind of credential (scoped tokens from `tokens`). */
export function credentials(kind: Kind, tokens: Partial<Record<Kind, string>> = {}): Record<string, string> {
  if (kind === "legacy") return bearer(TOKEN);
  if (kind === "host") return { "X-OpenWork-Host-Token": HOST_TOKEN };
  const token = tokens[kind];
  assert.ok(token, `no ${kind} token minted`);
  return bearer(token);
}

/** One request to the in-process app; `address` stands for the socket's remote address. */
export function send(
  h: Harness,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: unknown; address?: string; signal?: AbortSignal } = {},
): Promise<Response> {
  const init: RequestInit = { method, headers: { ...options.headers } };
  if (options.signal) init.signal = options.signal;
  if (options.body !== undefined) {
    init.body = JSON.stringify(options.body);
    (init.headers as Record<string, string>)["Content-Type"] = "application/json";
  }
  const env = options.address ? { incoming: { socket: { remoteAddress: options.address } } } : undefined;
  return Promise.resolve(h.app.request(path, init, env));
}

/** Asserts a 401 with `details.reason`. */
export async function expectReason(res: Response, reason: string) {
  const body = await json(res);
  assert.equal(res.status, 401, JSON.stringify(body));
  assert.equal(body.code, "unauthorized");
  assert.equal(body.details?.reason, reason, JSON.stringify(body));
  assert.equal(typeof body.message, "string");
  return body;
}

/**
 * Reads an SSE response in the background. `ended` resolves with the time the server closed the
 * stream; `text()` is everything received so far.
 */
export function drain(res: Response) {
  assert.equal(res.status, 200);
  assert.match(res.headers.get("Content-Type") ?? "", /^text\/event-stream/);
  assert.ok(res.body);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let done = false;
  const ended = (async () => {
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) break;
      text += decoder.decode(chunk.value, { stream: true });
    }
    done = true;
    return performance.now();
  })();
  return {
    ended,
    text: () => text,
    get done() {
      return done;
    },
    cancel: () => reader.cancel().catch(() => {}),
  };
}

/** Resolves with `promise`, or rejects after `ms` (so a stream that never ends fails the test). */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
