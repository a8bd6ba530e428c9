// MCP servers: the `mcp` map of the project config. Entries are written exactly as given (only
// the fields OpenCode checks are validated); `disabledByTools` tells when the config's `tools`
// block switches a server's tools off.
import { ApiError, badRequest, notFound } from "../errors.js";
import { FORBIDDEN_KEYS } from "./jsonc.js";
import { type ConfigEdit, type ConfigFile, type JsonObject, mcpEntryProblems, planProjectConfigEdit } from "./opencode-config.js";
import { validateName } from "./paths.js";
import { compileGlob, compileWildcard, isLiteralGlob, isLiteralWildcard, type Matcher } from "./wildcard.js";

export interface McpItem {
  name: string;
  config: JsonObject;
  source: "config.project";
  disabledByTools?: boolean;
}

export const MCP_NAME = /^[A-Za-z0-9_][A-Za-z0-9_-]*$/;
export const MAX_MCP_NAME_LENGTH = 128;

const isObject = (v: unknown): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v);

/** `^[A-Za-z0-9_-]+$`, not starting with `-`, at most 128 characters, never a prototype key. */
export function validateMcpName(raw: unknown): string {
  return validateName(raw, {
    label: "MCP server name",
    pattern: MCP_NAME,
    max: MAX_MCP_NAME_LENGTH,
    must: "match ^[A-Za-z0-9_-]+$ and not start with '-'",
    reserved: FORBIDDEN_KEYS,
  });
}

const isStringRecord = (v: unknown) => isObject(v) && Object.values(v).every((x) => typeof x === "string");

/**
 * Problems with an MCP entry from a request: a `type` of `local` (non-empty string array
 * `command`) or `remote` (`url`), and the right types for the optional fields OpenCode reads,
 * since a wrong type there makes OpenCode refuse the whole directory. Other fields pass as given.
 */
export function mcpConfigProblems(name: string, config: unknown): string[] {
  if (!isObject(config)) return ["config must be an object"];
  if (config.type !== "local" && config.type !== "remote") return ['config.type must be "local" or "remote"'];
  const problems = mcpEntryProblems(name, config).map((p) => p.replace(`mcp.${name}.`, "config."));
  if (config.type === "remote" && typeof config.url === "string") {
    try {
      new URL(config.url);
    } catch {
      problems.push("config.url must be an absolute URL");
    }
  }
  if ("enabled" in config && typeof config.enabled !== "boolean") problems.push("config.enabled must be a boolean");
  if ("timeout" in config && !(Number.isInteger(config.timeout) && (config.timeout as number) > 0)) {
    problems.push("config.timeout must be a positive integer (milliseconds)");
  }
  if (config.type === "local") {
    if (Array.isArray(config.command) && config.command.some((c) => typeof c === "string" && c.includes("\0"))) {
      problems.push("config.command must not contain NUL bytes");
    }
    if ("environment" in config && !isStringRecord(config.environment)) {
      problems.push("config.environment must map names to strings");
    }
    if ("cwd" in config && typeof config.cwd !== "string") problems.push("config.cwd must be a string");
  } else {
    if ("headers" in config && !isStringRecord(config.headers)) problems.push("config.headers must map names to strings");
    if ("oauth" in config && config.oauth !== false) {
      const oauth = config.oauth;
      if (!isObject(oauth)) problems.push("config.oauth must be an object or false");
      else {
        for (const key of ["clientId", "clientSecret", "scope", "redirectUri"]) {
          if (key in oauth && typeof oauth[key] !== "string") problems.push(`config.oauth.${key} must be a string`);
        }
        if ("callbackPort" in oauth) {
          const port = oauth.callbackPort;
          if (!Number.isInteger(port) || (port as number) < 1 || (port as number) > 65535) {
            problems.push("config.oauth.callbackPort must be an integer between 1 and 65535");
          }
        }
      }
    }
  }
  return problems;
}

export function assertMcpConfig(name: string, config: unknown): JsonObject {
  const problems = mcpConfigProblems(name, config);
  if (problems.length > 0) {
    throw badRequest("invalid_payload", `Invalid MCP config for "${name}": ${problems.join("; ")}`, { name, problems });
  }
  return config as JsonObject;
}

/** The config's `mcp` map; refuses a value that is not an object (OpenCode refuses it too). */
function mcpMap(current: ConfigFile): JsonObject {
  const value = current.value.mcp;
  if (value === undefined || value === null) return {};
  if (!isObject(value)) {
    throw badRequest("invalid_config", `${current.file}: "mcp" must be an object; fix it first`, {
      file: current.file,
      key: "mcp",
    });
  }
  return value;
}

/** Longest `tools` pattern that is considered; a longer one never matches. */
export const MAX_TOOLS_PATTERN_LENGTH = 256;
/**
 * Most matcher steps (pattern states x characters) one listing may spend on `disabledByTools`.
 * A real config needs a few thousand; a `tools` block that needs more is a 422 invalid_file.
 */
export const MAX_TOOLS_MATCH_STEPS = 10_000_000;

/** Which servers a config's `tools` block turns off; built once per listing. */
export interface ToolsPolicy {
  disables(name: string): boolean;
}

/**
 * The `tools` block compiled for matching (see mcpDisabledByTools). Every pattern is matched in
 * linear time (src/workspace/wildcard.ts) and the whole listing within MAX_TOOLS_MATCH_STEPS;
 * literal `deny` entries are a set lookup. `file` names the config in the 422.
 */
export function toolsPolicy(tools: unknown, file = "opencode.json"): ToolsPolicy {
  if (!isObject(tools)) return { disables: () => false };
  const literals = new Set<string>();
  const globs: Matcher[] = [];
  const wildcards: Matcher[] = [];
  const usable = (p: unknown): p is string => typeof p === "string" && p !== "" && p.length <= MAX_TOOLS_PATTERN_LENGTH;
  const deny = tools.deny;
  if (Array.isArray(deny)) {
    for (const pattern of new Set(deny.filter(usable))) {
      if (isLiteralGlob(pattern)) literals.add(pattern);
      else globs.push(compileGlob(pattern));
    }
  }
  for (const [key, value] of Object.entries(tools)) {
    // A key without `*` or `?` names one tool, never all of a server's (`<name>_*`).
    if (value === false && key !== "deny" && usable(key) && !isLiteralWildcard(key)) wildcards.push(compileWildcard(key));
  }
  let steps = 0;
  const run = (matcher: Matcher, text: string) => {
    if (!text.startsWith(matcher.prefix)) return false;
    steps += matcher.cost(text);
    if (steps > MAX_TOOLS_MATCH_STEPS) {
      throw new ApiError(422, "invalid_file", `${file}: the "tools" patterns are too costly to check against the MCP servers`, {
        file,
        key: "tools",
        maxSteps: MAX_TOOLS_MATCH_STEPS,
      });
    }
    return matcher.matches(text);
  };
  // `mcp.*` and `mcp:*` are the same for every server: decided once.
  const all = ["mcp.*", "mcp:*"].some((c) => literals.has(c) || globs.some((g) => run(g, c)));
  return {
    disables(name: string): boolean {
      if (all) return true;
      const candidates = [`mcp.${name}`, `mcp.${name}.*`, `mcp:${name}`, `mcp:${name}:*`];
      if (candidates.some((c) => literals.has(c))) return true;
      // Names the API could never have written are not matched (their cost would be unbounded).
      if (name.length > MAX_MCP_NAME_LENGTH) return false;
      if (globs.some((g) => candidates.some((c) => run(g, c)))) return true;
      const tool = `${name}_*`;
      return wildcards.some((w) => run(w, tool));
    },
  };
}

/**
 * True when the config's `tools` block turns the server off:
 * - SPEC form `tools.deny: [glob...]`: a glob matching `mcp.<name>`, `mcp.<name>.*`,
 *   `mcp:<name>`, `mcp:<name>:*`, `mcp.*` or `mcp:*`;
 * - OpenCode's map form `tools: { "<name>_*": false }` (MCP tools are named `<server>_<tool>`):
 *   a key set to false whose wildcard covers every tool of the server.
 */
export function mcpDisabledByTools(name: string, tools: unknown): boolean {
  return toolsPolicy(tools).disables(name);
}

export function listMcp(current: ConfigFile): McpItem[] {
  const value = current.value.mcp;
  if (!isObject(value)) return [];
  const policy = toolsPolicy(current.value.tools, current.file);
  return Object.entries(value)
    .filter((entry): entry is [string, JsonObject] => isObject(entry[1]))
    .map(([name, config]) => {
      const item: McpItem = { name, config, source: "config.project" };
      if (policy.disables(name)) item.disabledByTools = true;
      return item;
    });
}

/** Adds or replaces one server; the whole resulting config must still load. */
export function planMcpAdd(current: ConfigFile, name: string, config: JsonObject): ConfigEdit {
  const map = mcpMap(current);
  return planProjectConfigEdit(current, { mcp: { ...map, [name]: config } });
}

export function planMcpRemove(current: ConfigFile, name: string): ConfigEdit {
  const map = mcpMap(current);
  if (!Object.hasOwn(map, name)) throw notFound(`MCP server "${name}" is not in ${current.file}`, { name });
  const { [name]: _removed, ...rest } = map;
  return planProjectConfigEdit(current, { mcp: rest });
}
