// What the host page needs to pair a client. The legacy client token is revealed here, to owners
// only (the host page, or a device holding an owner token), and never to a workspace-bound owner:
// that token reaches every workspace, so handing it out would undo the binding.
import { ApiError, badRequest } from "../errors.js";
import type { Handlers } from "../http/route.js";
import type { Services } from "../services/index.js";
import { pairingCode, pairingPayload } from "../services/pairing.js";
import { SCOPED_TOKEN_PATTERN } from "../services/tokens.js";
import { describeWorkspace } from "../workspaces.js";
import { within } from "./tokens.js";

const URL_MAX = 2048;

/** An http(s) URL without credentials, query or fragment: what a device should connect to. */
function serverUrl(raw: string): string {
  const url = raw.trim();
  const parsed = url.length <= URL_MAX && URL.canParse(url) ? new URL(url) : null;
  if (!parsed || !["http:", "https:"].includes(parsed.protocol) || parsed.username || parsed.password || parsed.search || parsed.hash) {
    throw badRequest("invalid_payload", "url must be an http or https URL of this server, without credentials, query or fragment", {
      field: "url",
    });
  }
  return url.replace(/\/+$/, "");
}

export function hostHandlers(s: Services) {
  return {
    getPairing: (c, { access }) => {
      if (access?.workspaces) {
        throw new ApiError(
          403,
          "workspace_forbidden",
          "The pairing details hold the server's client token, which reaches every workspace; this token is limited to some",
          { workspaces: [...access.workspaces] },
        );
      }
      // The listening URLs are known once the server is bound; in-process (tests) fall back to the
      // address this request came in on.
      const urls = s.publicUrls.length > 0 ? s.publicUrls : [new URL(c.req.url).origin];
      c.header("Cache-Control", "no-store");
      return {
        urls,
        token: s.settings.token,
        workspaces: s.registry.list().map((w) => ({ ...describeWorkspace(w), authorized: w.authorized })),
        approval: { mode: s.settings.approval.mode, timeoutMs: s.settings.approval.timeoutMs },
        readOnly: s.settings.readOnly,
        version: s.version,
      };
    },

    // The QR code a device scans. Only for a token the caller could list: the code is no oracle
    // for other tokens, and a typo cannot become a code that never works.
    pairingQr: async (c, { body, access }) => {
      const url = serverUrl(body.url);
      const found = SCOPED_TOKEN_PATTERN.test(body.token) ? s.tokens.resolve(body.token) : null;
      if (!found?.ok || !within(access!, found.record.workspaces)) {
        throw new ApiError(
          404,
          "token_not_found",
          "No active scoped token like that on this server (it may have been revoked or have expired)",
        );
      }
      const bound = found.record.workspaces;
      c.header("Cache-Control", "no-store");
      return pairingCode(pairingPayload({ url, token: body.token, ...(bound?.length === 1 ? { workspace: bound[0] } : {}) }));
    },
  } satisfies Partial<Handlers>;
}
