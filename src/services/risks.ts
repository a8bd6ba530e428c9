// What a planned write means, in plain words, for the approver (SPEC 8): code it makes run
// (local MCP servers, plugins, formatter/LSP commands, shell in command templates), hosts it
// connects to, permissions it widens, items it removes, and secrets it sets (shown masked).
// Read from the planned bytes themselves, never from what the client says it is doing.

import { isDeepStrictEqual } from "node:util";
import { type Node, parse, parseTree } from "jsonc-parser";
import { MASK, type PlannedChange, type TextMask } from "../workspace/change-set.js";
import { parseFrontmatter } from "../workspace/frontmatter.js";

export const RISK_KINDS = ["executes_code", "network", "permission", "removes", "secrets"] as const;
export type RiskKind = (typeof RISK_KINDS)[number];

export interface Risk {
  kind: RiskKind;
  message: string;
}

/** Risks that a grant never lets through: these are always asked. */
export const ALWAYS_ASKED: ReadonlySet<RiskKind> = new Set(["executes_code", "permission"]);

const MESSAGE_CAP = 400;
const MAX_RISKS = 60;
/** A key whose value (and everything below it) is a secret wherever it appears in a config. */
const SECRET_KEY = /(api[_-]?key|token|secret|password|passwd|credential|private[_-]?key|authorization|cookie)/i;
const CONFIG_FILE = /^(\.opencode\/)?opencode\.jsonc?$/;
const COMMAND_FILE = /^\.opencode\/commands?\/(.+)\.md$/;
const AGENT_FILE = /^\.opencode\/agents?\/(.+)\.md$/;
const SKILL_PATH = /^\.opencode\/skills?\/([^/]+)(\/SKILL\.md)?$/;
const SHELL_IN_TEMPLATE = /!`[^`]*`/;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

function parseConfig(text: string | null): Json {
  if (text === null) return {};
  try {
    const value = parse(text, [], { allowTrailingComma: true, disallowComments: false });
    return isObject(value) ? value : {};
  } catch {
    return {};
  }
}

/** A command line as a person would type it. */
function commandLine(command: unknown): string {
  if (!Array.isArray(command)) return String(command);
  return command.map((part) => (typeof part === "string" && /^[\w@%+=:,./-]+$/.test(part) ? part : JSON.stringify(part))).join(" ");
}

const show = (value: unknown) => (typeof value === "string" ? JSON.stringify(value) : (JSON.stringify(value) ?? "nothing"));

/**
 * Whether the value at this path of a config is a secret: the key holding it names one (`apiKey`,
 * `GITHUB_TOKEN`, `Authorization`, `password`, ...), in an MCP server's environment or headers or
 * anywhere else. Masking goes by position, never by value, and only by the key right above the
 * value: a value that equals a secret elsewhere (a command line) is shown, and an entry's own name
 * (an MCP server called "token-helper") never hides what it runs or where it connects. Other
 * environment values are shown: `NODE_OPTIONS` or `AWS_PROFILE=prod` is what the approver must see.
 */
export function isSecretPosition(path: readonly string[]): boolean {
  for (let i = path.length - 1; i >= 0; i--) {
    if (!/^\d+$/.test(path[i]!)) return SECRET_KEY.test(path[i]!);
  }
  return false;
}

/** Environment variables that make a program load or run other code. */
const CODE_LOADING_ENV =
  /^(NODE_OPTIONS|NODE_PATH|LD_PRELOAD|LD_LIBRARY_PATH|DYLD_\w+|BASH_ENV|ENV|PATH|PYTHONPATH|PYTHONSTARTUP|PERL5OPT|PERL5LIB|RUBYOPT|RUBYLIB|JAVA_TOOL_OPTIONS|GIT_SSH_COMMAND)$/i;

/** A config's text with every string in a secret position replaced by the mask; comments and layout kept. */
export function maskConfigText(text: string): string {
  let tree: Node | undefined;
  try {
    tree = parseTree(text, [], { allowTrailingComma: true, disallowComments: false });
  } catch {
    return text;
  }
  if (!tree) return text;
  const ranges: Array<[number, number]> = [];
  // Iterative: a hostile file may nest deeply.
  const stack: Array<[Node, string[]]> = [[tree, []]];
  while (stack.length > 0) {
    const [node, path] = stack.pop()!;
    if (node.type === "string" && isSecretPosition(path)) ranges.push([node.offset, node.offset + node.length]);
    else if (node.type === "object") {
      for (const property of node.children ?? []) {
        const [key, value] = property.children ?? [];
        if (key && value) stack.push([value, [...path, String(key.value)]]);
      }
    } else if (node.type === "array") {
      for (const item of node.children ?? []) stack.push([item, path]);
    }
  }
  ranges.sort((a, b) => b[0] - a[0]);
  let out = text;
  for (const [start, end] of ranges) out = `${out.slice(0, start)}"${MASK}"${out.slice(end)}`;
  return out;
}

const CONFIG_FILE_NAME = /(^|\/)opencode\.jsonc?$|(^|\/)openwork\.json$/;

/** What the approver is shown of a file: a config's secrets masked, any other file as it is. */
export const maskForApprover: TextMask = (path, text) => (CONFIG_FILE_NAME.test(path) ? maskConfigText(text) : text);

/** The secret-position strings of a config, by dotted path. */
function secretValues(config: Json): Map<string, string> {
  const out = new Map<string, string>();
  const stack: Array<[unknown, string[]]> = [[config, []]];
  while (stack.length > 0) {
    const [value, path] = stack.pop()!;
    if (typeof value === "string" && isSecretPosition(path)) out.set(path.join("."), value);
    else if (Array.isArray(value)) for (const [i, item] of value.entries()) stack.push([item, [...path, String(i)]]);
    else if (isObject(value) && path.length < 32) for (const [k, v] of Object.entries(value)) stack.push([v, [...path, k]]);
  }
  return out;
}

/** Leaf paths of a value, for "permission.bash becomes ..." messages. */
function leaves(value: unknown, prefix: string, out: Map<string, unknown>, depth = 0): void {
  if (isObject(value) && depth < 8) {
    for (const [k, v] of Object.entries(value)) leaves(v, `${prefix}.${k}`, out, depth + 1);
  } else out.set(prefix, value);
}

function permissionChanges(before: unknown, after: unknown, prefix: string, risks: Risk[]): void {
  if (isDeepStrictEqual(before, after)) return;
  const was = new Map<string, unknown>();
  const now = new Map<string, unknown>();
  leaves(before, prefix, was);
  leaves(after, prefix, now);
  for (const [path, value] of now) {
    if (value === undefined || isDeepStrictEqual(was.get(path), value)) continue;
    const previous = was.has(path) && was.get(path) !== undefined ? ` (was ${show(was.get(path))})` : "";
    risks.push({ kind: "permission", message: `${path} becomes ${show(value)}${previous}` });
  }
  for (const [path, value] of was) {
    if (value !== undefined && !now.has(path)) risks.push({ kind: "permission", message: `${path} is removed (was ${show(value)})` });
  }
}

function configRisks(file: string, beforeText: string | null, afterText: string | null, risks: Risk[]): void {
  const before = parseConfig(beforeText);
  const after = parseConfig(afterText);
  // A secret that changes changes no visible line of the masked diff: say so. (MCP servers' own
  // environment and headers are named with the server below.)
  const secretsBefore = secretValues(before);
  for (const [path, value] of secretValues(after)) {
    if (!path.startsWith("mcp.") && secretsBefore.get(path) !== value) {
      risks.push({ kind: "secrets", message: `Sets ${path} (value masked)` });
    }
  }

  const mcpBefore = isObject(before.mcp) ? before.mcp : {};
  const mcpAfter = isObject(after.mcp) ? after.mcp : {};
  for (const [name, entry] of Object.entries(mcpAfter)) {
    if (!isObject(entry) || isDeepStrictEqual(mcpBefore[name], entry)) continue;
    const off = entry.enabled === false ? " (disabled for now)" : "";
    // Its environment or headers, as shown to the approver: secret-named values masked.
    const settings = (field: "environment" | "headers") => {
      const map = isObject(entry[field]) ? (entry[field] as Json) : {};
      const shown = Object.entries(map).map(([k, v]) => `${k}=${SECRET_KEY.test(k) ? MASK : show(v)}`);
      return { map, shown, secret: Object.keys(map).some((k) => SECRET_KEY.test(k)) };
    };
    const environment = settings("environment");
    const headers = settings("headers");
    if (entry.type === "local") {
      const env = environment.shown.length > 0 ? ` with ${environment.shown.join(", ")}` : "";
      risks.push({ kind: "executes_code", message: `MCP server "${name}" runs: ${commandLine(entry.command)}${env}${off}` });
      if (typeof entry.cwd === "string") risks.push({ kind: "executes_code", message: `MCP server "${name}" runs in ${entry.cwd}` });
      for (const [k, v] of Object.entries(environment.map)) {
        if (CODE_LOADING_ENV.test(k)) {
          risks.push({ kind: "executes_code", message: `MCP server "${name}" sets ${k}=${show(v)}, which can make it load other code` });
        }
      }
    } else if (entry.type === "remote") {
      const sent = headers.shown.length > 0 ? ` sending ${headers.shown.join(", ")}` : "";
      risks.push({ kind: "network", message: `MCP server "${name}" connects to ${String(entry.url)}${sent}${off}` });
    }
    for (const [field, { shown, secret }] of [
      ["environment", environment],
      ["headers", headers],
    ] as const) {
      if (secret) risks.push({ kind: "secrets", message: `MCP server "${name}" gets ${field} ${shown.join(", ")} (secrets masked)` });
    }
  }
  for (const name of Object.keys(mcpBefore)) {
    if (!(name in mcpAfter)) risks.push({ kind: "removes", message: `Removes MCP server "${name}" from ${file}` });
  }

  const specs = (v: unknown) => (typeof v === "string" ? [v] : Array.isArray(v) ? v.filter((s): s is string => typeof s === "string") : []);
  const pluginsBefore = new Set(specs(before.plugin));
  const pluginsAfter = new Set(specs(after.plugin));
  for (const spec of pluginsAfter) {
    if (!pluginsBefore.has(spec)) risks.push({ kind: "executes_code", message: `Loads the plugin ${spec}: its code runs inside OpenCode` });
  }
  for (const spec of pluginsBefore) if (!pluginsAfter.has(spec)) risks.push({ kind: "removes", message: `Removes the plugin ${spec}` });

  for (const group of ["formatter", "lsp"] as const) {
    const was = isObject(before[group]) ? before[group] : {};
    const now = isObject(after[group]) ? after[group] : {};
    for (const [name, entry] of Object.entries(now)) {
      if (isObject(entry) && entry.command !== undefined && !isDeepStrictEqual((was as Json)[name], entry)) {
        risks.push({ kind: "executes_code", message: `${group} "${name}" runs: ${commandLine(entry.command)}` });
      }
    }
  }

  const commandsBefore = isObject(before.command) ? before.command : {};
  for (const [name, entry] of Object.entries(isObject(after.command) ? after.command : {})) {
    const template = isObject(entry) ? entry.template : undefined;
    if (typeof template === "string" && SHELL_IN_TEMPLATE.test(template) && !isDeepStrictEqual(commandsBefore[name], entry)) {
      risks.push({ kind: "executes_code", message: `Command /${name} runs shell when used: ${template.match(SHELL_IN_TEMPLATE)![0]}` });
    }
  }

  permissionChanges(before.permission, after.permission, "permission", risks);
  permissionChanges(before.tools, after.tools, "tools", risks);
  const agentsBefore = isObject(before.agent) ? before.agent : {};
  const agentsAfter = isObject(after.agent) ? after.agent : {};
  for (const name of new Set([...Object.keys(agentsBefore), ...Object.keys(agentsAfter)])) {
    const was = isObject(agentsBefore[name]) ? (agentsBefore[name] as Json) : {};
    const now = isObject(agentsAfter[name]) ? (agentsAfter[name] as Json) : {};
    permissionChanges(was.permission, now.permission, `agent.${name}.permission`, risks);
    permissionChanges(was.tools, now.tools, `agent.${name}.tools`, risks);
  }

  for (const key of Object.keys(before)) {
    if (!(key in after) && key !== "mcp" && key !== "plugin")
      risks.push({ kind: "removes", message: `Removes the key "${key}" from ${file}` });
  }
}

function frontmatterOf(text: string | null): Json {
  if (text === null) return {};
  try {
    return parseFrontmatter(text, { file: "planned" }).data;
  } catch {
    return {};
  }
}

/** The risks of a plan, in plain words (secret values never in them). */
export function analyzeChanges(changes: PlannedChange[]): Risk[] {
  const risks: Risk[] = [];
  for (const change of changes) {
    if (change.kind === "folder") {
      const skill = SKILL_PATH.exec(change.path);
      risks.push({
        kind: "removes",
        message: skill
          ? `Removes the skill "${skill[1]}" (${change.entries.length} files and folders)`
          : `Removes the folder ${change.path}/`,
      });
      continue;
    }
    const { path, before, after } = change;
    if (CONFIG_FILE.test(path)) {
      configRisks(path, before, after, risks);
      continue;
    }
    const command = COMMAND_FILE.exec(path);
    const agent = AGENT_FILE.exec(path);
    const skill = SKILL_PATH.exec(path);
    if (after === null) {
      const what = command ? `the command /${command[1]}` : agent ? `the agent "${agent[1]}"` : skill ? `the skill "${skill[1]}"` : path;
      risks.push({ kind: "removes", message: `Removes ${what} (${path})` });
      continue;
    }
    if (command && SHELL_IN_TEMPLATE.test(after) && !(before !== null && SHELL_IN_TEMPLATE.test(before) && before === after)) {
      risks.push({ kind: "executes_code", message: `Command /${command[1]} runs shell when used: ${after.match(SHELL_IN_TEMPLATE)![0]}` });
    }
    if (agent) {
      const was = frontmatterOf(before);
      const now = frontmatterOf(after);
      permissionChanges(was.permission, now.permission, `agent ${agent[1]}: permission`, risks);
      permissionChanges(was.tools, now.tools, `agent ${agent[1]}: tools`, risks);
    }
  }
  const shown = risks.slice(0, MAX_RISKS).map((r) => ({ kind: r.kind, message: capMessage(r.message) }));
  const omitted = risks.slice(MAX_RISKS);
  // One line per kind that did not fit, so no kind of risk is ever hidden by the cap.
  for (const kind of RISK_KINDS) {
    const count = omitted.filter((r) => r.kind === kind).length;
    if (count > 0) shown.push({ kind, message: `… and ${count} more of this kind` });
  }
  return shown;
}

function capMessage(message: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters never reach the approver
  const clean = message.replace(/[\u0000-\u001f\u007f]+/g, " ");
  return clean.length > MESSAGE_CAP ? `${clean.slice(0, MESSAGE_CAP)}…` : clean;
}
