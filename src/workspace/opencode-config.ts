// The project's OpenCode config (`opencode.jsonc`, else `opencode.json`) and OpenWork's own
// `.opencode/openwork.json`. Reads parse JSONC; writes are top-level key edits that keep comments.
import { createHash } from "node:crypto";
import { badRequest } from "../errors.js";
import { agentMapProblems } from "./agent-schema.js";
import { writeFileAtomic } from "./atomic-file.js";
import { parseJsoncObject, setTopLevelKeys } from "./jsonc.js";
import { OPENWORK_CONFIG, PROJECT_CONFIG_FILES } from "./layout.js";
import { resolveInside } from "./paths.js";
import { assertFileSize, FILE_LIMITS, readRegularFile } from "./safe-fs.js";

export type JsonObject = Record<string, unknown>;

export interface ConfigFile {
  /** Workspace-relative name, e.g. `opencode.json`. */
  file: string;
  absolute: string;
  /** The bytes on disk, or null when the file does not exist yet. */
  text: string | null;
  value: JsonObject;
}

/**
 * A config file's text, or null when it does not exist; 422 invalid_file when it is a folder, a
 * FIFO or other special file, hard-linked, or over FILE_LIMITS.config (see safe-fs).
 */
async function readConfigText(root: string, absolute: string, file: string): Promise<string | null> {
  return readRegularFile(absolute, { root, label: file, maxBytes: FILE_LIMITS.config });
}

/** Most top-level keys one edit (a PATCH part, an import part) may set or remove. */
export const MAX_EDIT_KEYS = 1000;

/** 400 invalid_payload when a config part of a request names more than MAX_EDIT_KEYS keys. */
export function assertEditKeyCount(part: JsonObject | undefined, name: string): void {
  if (part === undefined) return;
  let count = 0;
  for (const _ in part) {
    if (++count > MAX_EDIT_KEYS) {
      throw badRequest("invalid_payload", `${name} has more than ${MAX_EDIT_KEYS} top-level keys`, { part: name, maxKeys: MAX_EDIT_KEYS });
    }
  }
}

/**
 * `opencode.jsonc` when it exists, else `opencode.json` (which new writes create). A config file
 * that resolves outside the workspace (a symlink) is refused with 400 path_escape: it is neither
 * read (it would hand out a file from elsewhere) nor written through.
 */
export async function readProjectConfig(root: string): Promise<ConfigFile> {
  for (const file of PROJECT_CONFIG_FILES) {
    const absolute = resolveInside(root, file);
    const text = await readConfigText(root, absolute, file);
    if (text !== null) return { file, absolute, text, value: parseJsoncObject(text, file) };
  }
  const file = "opencode.json";
  return { file, absolute: resolveInside(root, file), text: null, value: {} };
}

export async function readOpenworkConfig(root: string): Promise<ConfigFile> {
  const absolute = resolveInside(root, OPENWORK_CONFIG);
  const text = await readConfigText(root, absolute, OPENWORK_CONFIG);
  return { file: OPENWORK_CONFIG, absolute, text, value: text === null ? {} : parseJsoncObject(text, OPENWORK_CONFIG) };
}

/** A strong ETag over both files the config endpoint returns. */
export function configEtag(project: ConfigFile, openwork: ConfigFile): string {
  const hash = createHash("sha256");
  hash
    .update(project.file)
    .update("\0")
    .update(project.text ?? "\u0000missing");
  hash.update("\0").update(openwork.text ?? "\u0000missing");
  return `"${hash.digest("hex").slice(0, 32)}"`;
}

const isObject = (v: unknown): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The checks OpenCode makes that, when they fail, make it refuse the whole directory until it
 * restarts. We refuse such a write instead. Returns a list of problems (empty when loadable).
 */
export function engineConfigProblems(config: JsonObject): string[] {
  const problems: string[] = [];
  if ("plugin" in config) {
    const plugin = config.plugin;
    if (!Array.isArray(plugin) || plugin.some((p) => typeof p !== "string")) {
      problems.push("plugin must be an array of strings");
    }
  }
  if ("mcp" in config) {
    if (!isObject(config.mcp)) problems.push("mcp must be an object");
    else {
      for (const [name, entry] of Object.entries(config.mcp)) {
        problems.push(...mcpEntryProblems(name, entry));
      }
    }
  }
  if ("command" in config) {
    if (!isObject(config.command)) problems.push("command must be an object");
    else {
      for (const [name, entry] of Object.entries(config.command)) {
        if (!isObject(entry) || typeof entry.template !== "string") {
          problems.push(`command.${name} needs a string template`);
        }
      }
    }
  }
  if ("tools" in config && !isObject(config.tools)) problems.push("tools must be an object");
  if ("agent" in config) problems.push(...agentMapProblems(config.agent));
  return problems;
}

export function mcpEntryProblems(name: string, entry: unknown): string[] {
  if (!isObject(entry)) return [`mcp.${name} must be an object`];
  // OpenCode accepts a bare `{ enabled }` entry that only toggles a server defined elsewhere.
  if (entry.type === undefined && Object.keys(entry).every((k) => k === "enabled")) return [];
  if (entry.type === "local") {
    const command = entry.command;
    if (!Array.isArray(command) || command.length === 0 || command.some((c) => typeof c !== "string")) {
      return [`mcp.${name}.command must be a non-empty array of strings`];
    }
    return [];
  }
  if (entry.type === "remote") {
    return typeof entry.url === "string" && entry.url.length > 0 ? [] : [`mcp.${name}.url must be a string`];
  }
  return [`mcp.${name}.type must be "local" or "remote"`];
}

export function assertEngineLoadable(config: JsonObject, file: string): void {
  const problems = engineConfigProblems(config);
  if (problems.length > 0) {
    throw badRequest("invalid_config", `OpenCode would refuse ${file}: ${problems.join("; ")}`, { file, problems });
  }
}

/** A planned edit of a config file: the new text and its parsed value. */
export interface ConfigEdit {
  text: string;
  value: JsonObject;
}

/**
 * Applies top-level key replacements (undefined removes a key) to a config file and returns the
 * new text and value. Does not write. For `.opencode/openwork.json`, which OpenCode never reads.
 */
export function planKeyEdit(current: ConfigFile, changes: JsonObject): ConfigEdit {
  const text = setTopLevelKeys(current.text ?? "{}\n", changes);
  if (text !== current.text) assertFileSize(text, FILE_LIMITS.config, current.file);
  return { text, value: parseJsoncObject(text, current.file) };
}

/** planKeyEdit for the project config, after checking OpenCode would still load the result. */
export function planProjectConfigEdit(current: ConfigFile, changes: JsonObject): ConfigEdit {
  const edit = planKeyEdit(current, changes);
  assertEngineLoadable(edit.value, current.file);
  return edit;
}

export async function writeConfigText(file: ConfigFile, text: string): Promise<void> {
  if (text === file.text) return;
  await writeFileAtomic(file.absolute, text);
}
