// Commands: Markdown files whose YAML frontmatter has `description`, `agent`, `model`, `subtask`
// and whose body is the template. OpenCode reads `.opencode/commands/` and `.opencode/command/`
// (subfolders too: `sub/x.md` is the command `sub/x`); the API writes only
// `.opencode/commands/<name>.md`. OpenCode 1.18 refuses the whole directory for a `null` value or a
// non-boolean `subtask`, and a `name:` key renames the command, so a written file never has any.
// No HTTP here; list functions are pure reads so a cache can wrap them.
import { join } from "node:path";
import { ApiError, badRequest, notFound } from "../errors.js";
import type { FileChange, FileWritePlan } from "./change-set.js";
import { type FrontmatterData, parseFrontmatter, renderFrontmatter } from "./frontmatter.js";
import { mapLimit, READ_CONCURRENCY, readFileIfExists, readListedDir, readPlannedFile } from "./fs-list.js";
import { globalOpencodeDir } from "./layout.js";
import { displayPath, resolveWriteTarget, validateName } from "./paths.js";
import { assertFileSize, FILE_LIMITS, realRoot } from "./safe-fs.js";

export const COMMAND_NAME_PATTERN = /^[A-Za-z0-9_-]+$/;
/** Keeps `<name>.md` well inside every filesystem's file-name limit. */
export const COMMAND_NAME_MAX = 128;
/** The one folder the API writes commands to. */
export const MANAGED_COMMANDS_DIR = ".opencode/commands";
/** Folders listed (relative to `.opencode/` or the global config folder), first wins on duplicates. */
export const COMMAND_DIRS = ["commands", "command"] as const;
/** How deep subfolders are followed when listing. */
export const COMMAND_MAX_DEPTH = 8;

export type CommandScope = "workspace" | "global";

export interface CommandItem {
  name: string;
  description?: string;
  template: string;
  agent?: string;
  /** Always present: null when the command sets no model. */
  model: string | null;
  subtask?: boolean;
  scope: CommandScope;
}

/** What a request (or an import) gives for a command. `content` is a whole command file. */
export interface CommandUpsertInput {
  name?: unknown;
  template?: unknown;
  content?: unknown;
  description?: unknown;
  agent?: unknown;
  model?: unknown;
  subtask?: unknown;
}

/** The fields a command file is made of. Empty or null values are not written. */
export interface CommandFields {
  description?: string | null;
  agent?: string | null;
  model?: string | null;
  subtask?: boolean | null;
  template: string;
}

export interface CommandPlan extends FileWritePlan {
  fields: CommandFields;
}

export interface ListCommandsOptions {
  /**
   * Told about every command file (or folder) that was skipped, and why: frontmatter that does
   * not parse, outside the workspace through a symlink, not a regular file, hard-linked, too large.
   */
  onSkip?: (file: string, reason: string) => void;
}

/**
 * Checks a command name taken from a request and returns it without its leading `/`
 * (the app sends `/name`). 400 invalid_name otherwise.
 */
export function validateCommandName(name: unknown): string {
  return validateName(typeof name === "string" ? name.replace(/^\/+/, "") : name, {
    label: "Command name",
    pattern: COMMAND_NAME_PATTERN,
    max: COMMAND_NAME_MAX,
    must: "hold only letters, digits, '_' and '-'",
  });
}

const hasText = (v: unknown): v is string => typeof v === "string" && v.trim() !== "";

/**
 * The text of a command file: frontmatter with only the keys that have a value (never a null,
 * never a `name:`, `subtask` only as a boolean), then the template. Throws if the result would
 * not read back as the same command (a bug guard).
 */
export function renderCommandFile(fields: CommandFields): string {
  const data: FrontmatterData = {};
  if (hasText(fields.description)) data.description = fields.description.trim();
  if (hasText(fields.agent)) data.agent = fields.agent.trim();
  if (hasText(fields.model)) data.model = fields.model.trim();
  if (typeof fields.subtask === "boolean") data.subtask = fields.subtask;
  const template = fields.template.trim();
  const text = renderFrontmatter(data, `${template}\n`);
  const back = parseFrontmatter(text, { file: "command", source: "request" }); // e.g. a description too long for the frontmatter cap: 400
  const same =
    back.body.trim() === template &&
    Object.keys(back.data).length === Object.keys(data).length &&
    Object.entries(data).every(([k, v]) => back.data[k] === v);
  if (!same) throw new ApiError(500, "internal_error", "Command file did not render faithfully");
  return text;
}

/** The listed item (keys in a stable order, for clients that diff responses; wrong-typed values left out). */
function itemFrom(name: string, data: FrontmatterData, body: string, scope: CommandScope): CommandItem {
  return {
    name,
    ...(typeof data.description === "string" ? { description: data.description } : {}),
    template: body.trim(),
    ...(typeof data.agent === "string" ? { agent: data.agent } : {}),
    model: typeof data.model === "string" ? data.model : null,
    ...(typeof data.subtask === "boolean" ? { subtask: data.subtask } : {}),
    scope,
  };
}

/**
 * Every `*.md` below `dir` (following subfolders, not symlinked ones), as [name, file]. The folder
 * itself is read only when it lies inside `root` (a symlinked `.opencode/commands` may lead anywhere).
 * `prefix` and `depth` say where `dir` lies below a commands folder (for re-reading one subfolder).
 */
export async function collectMarkdown(
  dir: string,
  root: string,
  onSkip?: ListCommandsOptions["onSkip"],
  prefix = "",
  depth = 0,
): Promise<Array<[string, string]>> {
  const out: Array<[string, string]> = [];
  const entries = await readListedDir(dir, depth === 0 ? root : null, onSkip, scopeRootLabel(root));
  const nested: Array<Promise<Array<[string, string]>>> = [];
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (depth < COMMAND_MAX_DEPTH) nested.push(collectMarkdown(full, root, onSkip, `${prefix}${entry.name}/`, depth + 1));
    } else if ((entry.isFile() || entry.isSymbolicLink()) && entry.name.endsWith(".md") && entry.name.length > 3) {
      out.push([`${prefix}${entry.name.slice(0, -3)}`, full]);
    }
  }
  for (const list of await Promise.all(nested)) out.push(...list);
  return out;
}

/** The folders a scope lists, in first-wins order. */
export function commandDirs(root: string, scope: CommandScope): string[] {
  const base = scope === "global" ? globalOpencodeDir() : join(root, ".opencode");
  return COMMAND_DIRS.map((d) => join(base, d));
}

/** The folder a scope's command files must stay inside: the workspace, or the global folder. */
function scopeRoot(root: string, scope: CommandScope): string {
  return scope === "global" ? globalOpencodeDir() : root;
}

const scopeRootLabel = (root: string) => (root === globalOpencodeDir() ? root : "the workspace");

/**
 * The command in `file` (named `name`), or null when there is none there or it does not count
 * (reported to `onSkip`: bad frontmatter, outside `root` through a symlink, not a regular file,
 * hard-linked, too large). The one place a listing reads a command, so an index can re-read one.
 */
export async function readCommandEntry(
  file: string,
  name: string,
  scope: CommandScope,
  root: string,
  onSkip?: ListCommandsOptions["onSkip"],
  realRootPath?: string,
): Promise<CommandItem | null> {
  try {
    const text = await readFileIfExists(file, {
      root,
      rootLabel: scopeRootLabel(root),
      label: file,
      maxBytes: FILE_LIMITS.command,
      ...(realRootPath ? { realRoot: realRootPath } : {}),
    });
    if (text === null) return null;
    const { data, body } = parseFrontmatter(text, { file });
    return itemFrom(name, data, body, scope);
  } catch (error) {
    onSkip?.(file, (error as Error).message);
    return null;
  }
}

/**
 * The commands of a scope: the workspace's `.opencode/commands/` and `.opencode/command/`, or
 * the global `~/.config/opencode/commands/` and `command/`. First found wins, sorted by name.
 * A file whose frontmatter does not parse is skipped (and reported to `onSkip`), never fatal.
 */
export async function listCommands(root: string, scope: CommandScope, options: ListCommandsOptions = {}): Promise<CommandItem[]> {
  const fileRoot = scopeRoot(root, scope);
  const found = await Promise.all(commandDirs(root, scope).map((dir) => collectMarkdown(dir, fileRoot, options.onSkip)));
  const files: Array<[string, string]> = [];
  const seen = new Set<string>();
  for (const list of found) {
    for (const [name, file] of list) {
      if (seen.has(name)) continue;
      seen.add(name);
      files.push([name, file]);
    }
  }
  const rootReal = files.length > 0 ? await realRoot(fileRoot) : fileRoot;
  const items = await mapLimit(files, READ_CONCURRENCY, ([name, file]) =>
    readCommandEntry(file, name, scope, fileRoot, options.onSkip, rootReal),
  );
  return items.filter((i): i is CommandItem => i !== null).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function optionalText(value: unknown, field: string): string | null | undefined {
  if (value === undefined || value === null) return value as undefined | null;
  if (typeof value !== "string") throw badRequest("invalid_payload", `${field} must be a string`, { field });
  if (value.includes("\0")) throw badRequest("invalid_payload", `${field} must not contain NUL bytes`, { field });
  return value;
}

function optionalBoolean(value: unknown, field: string): boolean | null | undefined {
  if (value === undefined || value === null) return value as undefined | null;
  if (typeof value !== "boolean") throw badRequest("invalid_payload", `${field} must be true or false`, { field });
  return value;
}

/**
 * Validates a command write and returns exactly what will be written, touching nothing.
 * `template` is the body; an import may instead give `content`, a whole command file whose
 * frontmatter supplies fields the input leaves out (its `name:` key is ignored).
 * 400: bad name, path escape, wrong field types, blank template, unparsable `content`.
 */
export async function planCommandUpsert(root: string, input: CommandUpsertInput): Promise<CommandPlan> {
  const name = validateCommandName(input.name);
  const file = resolveWriteTarget(root, MANAGED_COMMANDS_DIR, `${name}.md`);
  let fromContent: FrontmatterData = {};
  let template = optionalText(input.template, "template");
  if ((template === undefined || template === null) && input.content !== undefined && input.content !== null) {
    if (typeof input.content !== "string") throw badRequest("invalid_payload", "content must be a string", { field: "content" });
    if (input.content.includes("\0")) throw badRequest("invalid_payload", "content must not contain NUL bytes", { field: "content" });
    const parsed = parseFrontmatter(input.content, { file: "content", source: "request" });
    fromContent = parsed.data;
    template = parsed.body;
  }
  if (!hasText(template)) throw badRequest("invalid_payload", "template is required and must not be blank", { field: "template" });
  const pick = (key: "description" | "agent" | "model") =>
    input[key] !== undefined ? optionalText(input[key], key) : optionalText(fromContent[key], key);
  const fields: CommandFields = {
    description: pick("description"),
    agent: pick("agent"),
    model: pick("model"),
    subtask: input.subtask !== undefined ? optionalBoolean(input.subtask, "subtask") : optionalBoolean(fromContent.subtask, "subtask"),
    template,
  };
  const relativePath = displayPath(root, file);
  const text = renderCommandFile(fields);
  assertFileSize(text, FILE_LIMITS.command, relativePath);
  return { root, name, file, relativePath, text, before: readPlannedFile(file, { root, maxBytes: FILE_LIMITS.command }), fields };
}

/**
 * Plans deleting a workspace command from both folders OpenCode reads, so it is really gone (not
 * replaced by a twin in `.opencode/command/`). 404 when neither file exists.
 */
export async function planCommandDelete(root: string, name: unknown): Promise<{ name: string; changes: FileChange[] }> {
  const valid = validateCommandName(name);
  const changes: FileChange[] = [];
  for (const dir of COMMAND_DIRS) {
    const file = resolveWriteTarget(root, ".opencode", dir, `${valid}.md`);
    const before = readPlannedFile(file, { root, maxBytes: FILE_LIMITS.command });
    if (before !== null) changes.push({ kind: "file", path: displayPath(root, file), before, after: null });
  }
  if (changes.length === 0) throw notFound(`Command "${valid}" not found`, { name: valid });
  return { name: valid, changes };
}
