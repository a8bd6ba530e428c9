// Who may call which OpenCode engine route through the gateway (SPEC 9), as data.
// Allow-list first: the engine's API is large and grows, so a route no rule names is owner-only.
// Rules are tried in order and the first match decides, so the owner-only rules (config, the
// machine, credentials) come before the broad read and session rules they carve out of.
// Paths are matched on decoded, lower-cased segments with a trailing slash ignored, i.e. on what
// the engine's router would route, so `/Config/` or `/sessi%6Fn/x/shell` cannot slip past.
// No HTTP here: the gateway asks `decide()` and turns a refusal into 403 `proxy_forbidden`.
import { fileURLToPath } from "node:url";
import type { Scope } from "../contract/routes.js";
import { isContained } from "../workspace/paths.js";
import { scopeCovers as scopeAllows } from "./tokens.js";

export { type Scope, scopeAllows };

/** `read` = GET and HEAD; `write` = every other method; `any` = both. */
export type MethodClass = "read" | "write" | "any";

export interface GatewayRule {
  methods: MethodClass;
  /** Segments: literals, `:param` (one segment), a final `**` (zero or more segments). */
  path: string;
  scope: Scope;
  /** Why the rule is what it is (shown in the README table). */
  why: string;
  /** The approval-gated openwork route to use instead, for owner-only writes that have one. */
  use?: string;
  /**
   * Shows what the engine does for every directory it serves, not one workspace's: refused to a
   * token bound to some workspaces (an engine often serves several).
   */
  engineWide?: boolean;
}

const owner = (methods: MethodClass, path: string, why: string, use?: string): GatewayRule => ({
  methods,
  path,
  scope: "owner",
  why,
  ...(use ? { use } : {}),
});
const viewer = (path: string, why: string): GatewayRule => ({ methods: "read", path, scope: "viewer", why });
const engineWide = (path: string, why: string): GatewayRule => ({ ...viewer(path, why), engineWide: true });
const collaborator = (path: string, why: string): GatewayRule => ({ methods: "write", path, scope: "collaborator", why });

export const GATEWAY_RULES: readonly GatewayRule[] = [
  // Owner-only: what changes the engine's config, credentials or the machine.
  owner("write", "/config", "changes the engine's config without approval, audit or diff", "PATCH /workspace/{id}/config"),
  owner("any", "/global/config", "the host user's global config (read and write)"),
  owner("write", "/global/**", "global dispose, upgrade, config"),
  owner("any", "/auth/**", "provider credentials"),
  owner("write", "/mcp", "adds an MCP server (runs a command)", "POST /workspace/{id}/mcp"),
  owner("any", "/mcp/:name/auth/**", "MCP OAuth credentials"),
  owner("write", "/mcp/:name/connect", "starts an MCP server"),
  owner("write", "/mcp/:name/disconnect", "stops an MCP server"),
  owner("write", "/instance/dispose", "aborts running sessions", "POST /workspace/{id}/engine/reload"),
  owner("any", "/pty/**", "a shell on the host"),
  owner("any", "/api/pty/**", "a shell on the host"),
  owner("any", "/tui/**", "drives the terminal UI on the host"),
  owner("any", "/sync/**", "moves sessions between workspaces"),
  owner("write", "/experimental/**", "experimental writes: worktrees, workspaces, console orgs"),
  owner("write", "/vcs/apply", "applies a patch to the working tree"),
  owner("write", "/session/:id/shell", "runs a shell command with no permission prompt"),
  owner("write", "/provider/:id/oauth/**", "provider credentials"),
  owner("any", "/api/integration/**", "provider credentials"),
  owner("any", "/api/credential/**", "provider credentials"),
  owner("write", "/api/permission/saved/**", "removes a saved permission decision"),
  owner("write", "/project/**", "git init, project settings"),
  owner("write", "/log", "writes to the engine's log"),
  // Viewer: reads.
  viewer("/session/**", "sessions and messages"),
  viewer("/event", "the event stream"),
  engineWide("/global/event", "the event stream of every directory the engine serves"),
  viewer("/global/health", "health"),
  viewer("/config", "the effective config"),
  viewer("/config/providers", "provider list"),
  viewer("/agent", "agents"),
  viewer("/command", "commands"),
  viewer("/skill", "skills"),
  viewer("/provider", "provider list"),
  viewer("/provider/auth", "provider auth methods (no secrets)"),
  viewer("/find/**", "search in the directory"),
  viewer("/file/**", "files of the directory"),
  viewer("/vcs/**", "git status and diffs"),
  viewer("/path", "paths"),
  engineWide("/project/**", "every project the engine knows"),
  viewer("/lsp", "LSP status"),
  viewer("/formatter", "formatter status"),
  viewer("/mcp", "MCP status"),
  viewer("/question", "pending questions"),
  viewer("/permission", "pending permission prompts"),
  engineWide("/experimental/session", "sessions of every directory"),
  viewer("/experimental/capabilities", "feature flags"),
  viewer("/experimental/tool/**", "tool list"),
  viewer("/api/health", "health"),
  viewer("/api/location", "paths"),
  viewer("/api/agent", "agents"),
  viewer("/api/session/**", "sessions and messages"),
  viewer("/api/model", "models"),
  viewer("/api/provider/**", "provider list"),
  viewer("/api/permission/request", "pending permission prompts"),
  viewer("/api/permission/saved", "saved permission decisions"),
  viewer("/api/fs/**", "files of the directory"),
  viewer("/api/command", "commands"),
  viewer("/api/skill", "skills"),
  viewer("/api/event", "the event stream"),
  viewer("/api/question/request", "pending questions"),
  viewer("/api/reference", "references"),
  // Collaborator: drive sessions, answer permission prompts and questions.
  collaborator("/session/**", "drive sessions"),
  collaborator("/permission/**", "answer permission prompts"),
  collaborator("/question/**", "answer questions"),
  collaborator("/api/session/**", "drive sessions"),
  // Named so they are a decision, not an accident: reads that are not for remote clients.
  owner("read", "/experimental/**", "experimental reads: console accounts, worktrees, MCP resources, workspaces"),
];

/** The decision when no rule matches. */
export const DEFAULT_RULE: GatewayRule = owner("any", "/**", "not listed: unknown engine routes are owner-only");

export const isReadMethod = (method: string) => method === "GET" || method === "HEAD";

/**
 * The path the engine routes on, as lower-cased decoded segments; null when it is not one we
 * forward: empty segments, dot segments, encoded slashes or backslashes, control characters.
 */
export function enginePathSegments(rawPath: string): string[] | null {
  if (!rawPath.startsWith("/")) return null;
  if (/%(2f|5c|00)/i.test(rawPath)) return null;
  const trimmed = rawPath.length > 1 && rawPath.endsWith("/") ? rawPath.slice(0, -1) : rawPath;
  if (trimmed === "/") return [];
  const out: string[] = [];
  for (const raw of trimmed.slice(1).split("/")) {
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return null;
    }
    // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
    if (segment === "" || segment === "." || segment === ".." || /[\u0000-\u001f\u007f\\]/.test(segment)) return null;
    out.push(segment.toLowerCase());
  }
  return out;
}

const patternCache = new Map<string, string[]>();
function patternSegments(pattern: string): string[] {
  let segments = patternCache.get(pattern);
  if (!segments) {
    segments = pattern === "/" ? [] : pattern.slice(1).split("/");
    patternCache.set(pattern, segments);
  }
  return segments;
}

export function matchesPattern(pattern: string, segments: readonly string[]): boolean {
  const parts = patternSegments(pattern);
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (part === "**") return true;
    const segment = segments[i];
    if (segment === undefined) return false;
    if (!part.startsWith(":") && part !== segment) return false;
  }
  return parts.length === segments.length;
}

function methodMatches(rule: GatewayRule, method: string): boolean {
  if (rule.methods === "any") return true;
  return (rule.methods === "read") === isReadMethod(method);
}

/** The rule that decides a request (DEFAULT_RULE when none matches). */
export function ruleFor(method: string, segments: readonly string[]): GatewayRule {
  const upper = method.toUpperCase();
  for (const rule of GATEWAY_RULES) {
    if (methodMatches(rule, upper) && matchesPattern(rule.path, segments)) return rule;
  }
  return DEFAULT_RULE;
}

export type Refusal =
  | { kind: "forbidden"; message: string; details: Record<string, unknown> }
  | { kind: "invalid_path"; message: string; details: Record<string, unknown> };

/**
 * Null when `scope` may make the call, else why not (with the openwork route to use, if any).
 * `bound`: the token reaches only some workspaces, so nothing engine-wide.
 */
export function decide(scope: Scope, method: string, segments: readonly string[], bound = false): Refusal | null {
  const rule = ruleFor(method, segments);
  const path = `/${segments.join("/")}`;
  if (bound && rule.engineWide) {
    return forbidden(`${method} ${path} shows every directory the engine serves; this token is limited to some workspaces`, {
      method,
      path,
      reason: rule.why,
      bound: true,
    });
  }
  if (scopeAllows(scope, rule.scope)) return null;
  return {
    kind: "forbidden",
    message: rule.use
      ? `${method} ${path} needs the owner scope through the gateway; use the approval-gated ${rule.use}`
      : `${method} ${path} needs the ${rule.scope} scope through the gateway (${rule.why})`,
    details: { method, path, required: rule.scope, scope, reason: rule.why, ...(rule.use ? { use: rule.use } : {}) },
  };
}

const forbidden = (message: string, details: Record<string, unknown>): Refusal => ({ kind: "forbidden", message, details });
const leadsOut = (message: string, details: Record<string, unknown>): Refusal => ({ kind: "invalid_path", message, details });

/** Query keys that choose what the engine serves; a non-owner may only name the workspace's own directory. */
const DIRECTORY_KEYS = ["directory", "location[directory]"];
const WORKSPACE_KEYS = ["workspace", "location[workspace]", "location[workspaceID]"];

/** Routes whose `path` query (or path tail) names a file or folder of the directory. */
function fileTarget(segments: readonly string[], query: URLSearchParams): string | null {
  const [a, b] = segments;
  if (a === "file" && (segments.length === 1 || b === "content")) return query.get("path");
  if (a === "api" && b === "fs" && segments[2] === "list") return query.get("path");
  if (a === "api" && b === "fs" && segments[2] === "read") return segments.slice(3).join("/");
  return null;
}

/** A path a non-owner names must stay inside the directory: no `..`, not absolute, no symlink out. */
function pathInside(directory: string, target: string): boolean {
  if (target === "" || target === ".") return true;
  if (target.startsWith("/") || target.startsWith("\\") || /^[A-Za-z]:/.test(target)) return false;
  if (target.split(/[\\/]/).some((s) => s === "..")) return false;
  return isContained(directory, `${directory}/${target}`);
}

const samePath = (a: string, b: string) => a.replace(/\/+$/, "") === b.replace(/\/+$/, "");

/**
 * Checks a non-owner's query and headers: the engine serves whatever `?directory=` names (it wins
 * over the header), so another directory, an experimental workspace, or a file path leading out
 * of the directory is refused. The engine itself refuses `..`, absolute and symlinked paths in
 * 1.18.33 (as a 500); this keeps that true whatever the engine does.
 */
export function checkRequestTarget(
  directory: string,
  segments: readonly string[],
  query: URLSearchParams,
  headers: Headers,
): Refusal | null {
  for (const key of DIRECTORY_KEYS) {
    for (const value of query.getAll(key)) {
      if (!samePath(value, directory)) {
        return forbidden(`Only the workspace's own directory can be served through the gateway`, { field: key });
      }
    }
  }
  const headerDir = headers.get("x-opencode-directory");
  if (headerDir !== null) {
    let decoded = headerDir;
    try {
      decoded = decodeURIComponent(headerDir);
    } catch {}
    if (!samePath(decoded, directory)) {
      return forbidden(`Only the workspace's own directory can be served through the gateway`, { field: "x-opencode-directory" });
    }
  }
  if (WORKSPACE_KEYS.some((k) => query.has(k)) || headers.has("x-opencode-workspace")) {
    return forbidden("Experimental engine workspaces need the owner scope", { field: "workspace" });
  }
  const target = fileTarget(segments, query);
  if (target !== null && !pathInside(directory, target)) {
    return leadsOut("Path resolves outside the workspace directory", { path: target });
  }
  return null;
}

function fileUrlsInside(value: unknown, directory: string, depth = 0): string | null {
  if (depth > 64) return "(too deep)";
  if (typeof value === "string") {
    if (!/^file:/i.test(value)) return null;
    let path: string;
    try {
      path = fileURLToPath(value);
    } catch {
      return value;
    }
    return isContained(directory, path) ? null : value;
  }
  if (value && typeof value === "object") {
    for (const child of Object.values(value)) {
      const bad = fileUrlsInside(child, directory, depth + 1);
      if (bad !== null) return bad;
    }
  }
  return null;
}

/**
 * Checks the JSON body of a non-owner's write (session, permission and question routes). Measured
 * on the real engine (1.18.33): a `file://` URL in a prompt part is read from disk with no
 * permission prompt and stored in the message, so it must stay inside the directory; a session's
 * `permission` ruleset and a prompt's `tools: {x: true}` add allow rules that win over the
 * project's config, so only an owner may send them; `location` / `workspaceID` pick another
 * directory.
 */
export function checkRequestBody(directory: string, body: unknown): Refusal | null {
  const badUrl = fileUrlsInside(body, directory);
  if (badUrl !== null) return leadsOut("A file URL in the body leads outside the workspace directory", { url: badUrl.slice(0, 300) });
  if (!body || typeof body !== "object" || Array.isArray(body)) return null;
  const fields = body as Record<string, unknown>;
  if (fields.permission !== undefined) {
    return forbidden("A session permission ruleset widens what the agent may do; it needs the owner scope", {
      field: "permission",
      use: "PATCH /workspace/{id}/config",
    });
  }
  const tools = fields.tools;
  if (tools && typeof tools === "object" && Object.values(tools).some((v) => v !== false)) {
    return forbidden("Enabling tools per prompt widens what the agent may do; only `false` values are allowed", {
      field: "tools",
      use: "PATCH /workspace/{id}/config",
    });
  }
  if (fields.workspaceID !== undefined) return forbidden("Experimental engine workspaces need the owner scope", { field: "workspaceID" });
  const location = fields.location;
  if (location !== undefined) {
    const loc = location as { directory?: unknown; workspaceID?: unknown } | null;
    if (
      !loc ||
      typeof loc !== "object" ||
      loc.workspaceID !== undefined ||
      typeof loc.directory !== "string" ||
      !samePath(loc.directory, directory)
    ) {
      return forbidden(`Only the workspace's own directory can be served through the gateway`, { field: "location" });
    }
  }
  return null;
}
