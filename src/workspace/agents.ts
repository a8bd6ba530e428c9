// Agents (SPEC 10): Markdown files in `.opencode/agents/` and `.opencode/agent/` (name = path
// below the folder without `.md`, subfolders allowed: `team/review`), YAML frontmatter
// (`description`, `mode`, `model`, `temperature`, `tools`, `permission`, ...) and the prompt as
// body; plus the config's `agent` map. The API writes only `.opencode/agents/<name>.md`.
// What is written is checked as OpenCode reads it (agent-schema.ts): one bad agent makes the
// engine refuse the whole directory until it restarts. `---js` frontmatter, which OpenCode 1.18
// EVALUATES as JavaScript inside the engine, is refused by the frontmatter parser.
// No HTTP here; list functions are pure reads so a cache can wrap them.
import { join } from "node:path";
import { type ApiError, badRequest, notFound } from "../errors.js";
import { AGENT_FIELD_CHECKS, agentFieldProblem } from "./agent-schema.js";
import { type FileChange, type FileWritePlan, fileWrite } from "./change-set.js";
import { type FrontmatterData, parseFrontmatter, prependFrontmatterKeys, renderFrontmatter } from "./frontmatter.js";
import { mapLimit, READ_CONCURRENCY, readDirIfExists, readFileIfExists, readPlannedFile } from "./fs-list.js";
import { readProjectConfig } from "./opencode-config.js";
import { displayPath, resolveInside, resolveWriteTarget, validateName } from "./paths.js";
import { FILE_LIMITS } from "./safe-fs.js";

/** One or more `[A-Za-z0-9_-]` segments separated by `/` (a subfolder of the agents folder). */
export const AGENT_NAME_PATTERN = /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+){0,3}$/;
export const AGENT_NAME_MAX = 128;
export const MANAGED_AGENTS_DIR = ".opencode/agents";
/** Folders listed (below `.opencode/`), first wins on duplicate names. */
export const AGENT_DIRS = ["agents", "agent"] as const;
const MAX_DEPTH = 8;

export type AgentSource = "file" | "config";

export interface AgentItem {
  name: string;
  description: string;
  mode?: string;
  model?: string;
  source: AgentSource;
  /** Workspace-relative path of the file (file agents only). */
  path?: string;
}

/** What a request (or an import) gives: a whole file (`content`), or fields and a `prompt`. */
export interface AgentUpsertInput {
  name?: unknown;
  content?: unknown;
  description?: unknown;
  prompt?: unknown;
  [field: string]: unknown;
}

export interface AgentPlan extends FileWritePlan {
  /** Twins in `.opencode/agent/` removed so the written file is the only one. */
  twins: FileChange[];
  existed: boolean;
  item: AgentItem;
}

export function validateAgentName(name: unknown): string {
  return validateName(name, {
    label: "Agent name",
    pattern: AGENT_NAME_PATTERN,
    max: AGENT_NAME_MAX,
    must: "hold only letters, digits, '_' and '-' (with up to three '/' for subfolders)",
  });
}

function itemFrom(name: string, data: FrontmatterData, source: AgentSource, path?: string): AgentItem {
  return {
    name,
    description: typeof data.description === "string" ? data.description : "",
    ...(typeof data.mode === "string" ? { mode: data.mode } : {}),
    ...(typeof data.model === "string" ? { model: data.model } : {}),
    source,
    ...(path !== undefined ? { path } : {}),
  };
}

/** Every `*.md` below `dir` (not following symlinked folders), as [name, file]. */
async function collectMarkdown(dir: string, prefix = "", depth = 0): Promise<Array<[string, string]>> {
  const out: Array<[string, string]> = [];
  const nested: Array<Promise<Array<[string, string]>>> = [];
  for (const entry of await readDirIfExists(dir)) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (depth < MAX_DEPTH) nested.push(collectMarkdown(full, `${prefix}${entry.name}/`, depth + 1));
    } else if ((entry.isFile() || entry.isSymbolicLink()) && entry.name.endsWith(".md") && entry.name.length > 3) {
      out.push([`${prefix}${entry.name.slice(0, -3)}`, full]);
    }
  }
  for (const list of await Promise.all(nested)) out.push(...list);
  return out;
}

/** The agent files, first folder winning on a duplicate name. */
async function agentFiles(root: string): Promise<Map<string, string>> {
  const found = await Promise.all(AGENT_DIRS.map((d) => collectMarkdown(join(root, ".opencode", d))));
  const files = new Map<string, string>();
  for (const list of found) for (const [name, file] of list) if (!files.has(name)) files.set(name, file);
  return files;
}

const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * The workspace's agents: files (a file whose frontmatter does not parse is skipped and reported
 * to `onSkip`), then entries of the config's `agent` map not already given by a file. Sorted by
 * name. A config that does not parse is a 422, as for every config read.
 */
export async function listAgents(root: string, options: { onSkip?: (file: string, reason: string) => void } = {}): Promise<AgentItem[]> {
  const files = await agentFiles(root);
  const fromFiles = await mapLimit([...files], READ_CONCURRENCY, async ([name, file]): Promise<AgentItem | null> => {
    try {
      const text = await readFileIfExists(file, { root, maxBytes: FILE_LIMITS.agent });
      if (text === null) return null;
      const { data } = parseFrontmatter(text, { file });
      return itemFrom(name, data, "file", displayPath(root, file));
    } catch (error) {
      options.onSkip?.(file, (error as Error).message);
      return null;
    }
  });
  const items = fromFiles.filter((i): i is AgentItem => i !== null);
  const seen = new Set(items.map((i) => i.name));
  const config = (await readProjectConfig(root)).value.agent;
  if (config && typeof config === "object" && !Array.isArray(config)) {
    for (const [name, entry] of Object.entries(config as Record<string, unknown>)) {
      if (seen.has(name) || !entry || typeof entry !== "object" || Array.isArray(entry)) continue;
      items.push(itemFrom(name, entry as FrontmatterData, "config"));
    }
  }
  return items.sort(byName);
}

/** One agent: a file's `{ item, content }`, or a config entry's `{ item, config }`. 404 when unknown. */
export async function readAgent(root: string, rawName: unknown): Promise<{ item: AgentItem; content?: string; config?: unknown }> {
  const name = validateAgentName(rawName);
  const file = (await agentFiles(root)).get(name);
  if (file !== undefined) {
    resolveInside(root, displayPath(root, file));
    const content = await readFileIfExists(file, { root, maxBytes: FILE_LIMITS.agent });
    if (content !== null) {
      const { data } = parseFrontmatter(content, { file: displayPath(root, file) });
      return { item: itemFrom(name, data, "file", displayPath(root, file)), content };
    }
  }
  const config = (await readProjectConfig(root)).value.agent as Record<string, unknown> | undefined;
  const entry = config && typeof config === "object" && Object.hasOwn(config, name) ? config[name] : undefined;
  if (entry && typeof entry === "object" && !Array.isArray(entry)) {
    return { item: itemFrom(name, entry as FrontmatterData, "config"), config: entry };
  }
  throw notFound(`Agent "${name}" not found`, { name });
}

const hasText = (v: unknown): v is string => typeof v === "string" && v.trim() !== "";

function requestProblem(field: string, message: string): ApiError {
  return badRequest("invalid_payload", message, { field });
}

/**
 * Checks the exact text to be written as the engine will read it: YAML frontmatter (merge keys
 * and dates as OpenCode's parser sees them), no field of a wrong type or null, a description, and
 * no `name:` other than the file's name. 400 `invalid_payload` naming the field.
 */
export function assertAgentLoadable(text: string, name: string): FrontmatterData {
  if (text.includes("\0")) throw requestProblem("content", "content must not contain NUL bytes");
  const parsed = parseFrontmatter(text, { file: "content", source: "request" });
  const asEngine = parseFrontmatter(text, { file: "content", source: "request", asEngine: true }).data;
  const problem = agentFieldProblem(asEngine);
  if (problem) throw requestProblem(problem.field, `OpenCode would refuse this agent (and the whole directory): ${problem.message}`);
  if (Object.hasOwn(asEngine, "name") && asEngine.name !== name) {
    throw requestProblem("name", `frontmatter name "${String(asEngine.name)}" would rename the agent; it must be "${name}" or left out`);
  }
  if (!hasText(asEngine.description)) throw requestProblem("description", "description is required");
  return parsed.data;
}

/** The frontmatter fields a request may give instead of `content` (besides `description`). */
const FIELD_KEYS = Object.keys(AGENT_FIELD_CHECKS).filter((k) => k !== "description" && k !== "prompt");

/** A file from fields: only keys with a value (null means "not set" and writes nothing). */
function renderFromFields(input: AgentUpsertInput): string {
  const data: FrontmatterData = {};
  if (input.description !== undefined && input.description !== null) {
    if (typeof input.description !== "string") throw requestProblem("description", "description must be a string");
    data.description = input.description.trim();
  }
  for (const key of FIELD_KEYS) {
    const value = input[key];
    if (value === undefined || value === null) continue;
    data[key] = typeof value === "string" ? value.trim() : value;
  }
  const prompt = input.prompt ?? "";
  if (typeof prompt !== "string") throw requestProblem("prompt", "prompt must be a string");
  return renderFrontmatter(data, `${prompt.trim()}\n`);
}

/**
 * Validates an agent write and returns exactly what will be written, touching nothing.
 * `content` (a whole agent file) is written byte for byte; a `description` given beside content
 * that has none is added to its frontmatter. Without `content`, the file is made from the fields
 * (`description`, `mode`, `model`, `temperature`, `tools`, `permission`, ..., and `prompt`).
 */
export async function planAgentUpsert(root: string, input: AgentUpsertInput): Promise<AgentPlan> {
  const name = validateAgentName(input.name);
  const file = resolveWriteTarget(root, MANAGED_AGENTS_DIR, `${name}.md`);
  let text: string;
  if (input.content !== undefined && input.content !== null) {
    if (typeof input.content !== "string") throw requestProblem("content", "content must be a string");
    text = input.content;
    const parsed = parseFrontmatter(text, { file: "content", source: "request" });
    if (!hasText(parsed.data.description) && hasText(input.description)) {
      const description = input.description.trim();
      text = parsed.hasFrontmatter
        ? (prependFrontmatterKeys(text, { description }) ?? renderFrontmatter({ description, ...parsed.data }, parsed.body, parsed.eol))
        : renderFrontmatter({ description }, text);
    }
  } else {
    text = renderFromFields(input);
  }
  const data = assertAgentLoadable(text, name);
  const before = readPlannedFile(file, { root, maxBytes: FILE_LIMITS.agent });
  const twins: FileChange[] = [];
  for (const dir of AGENT_DIRS.slice(1)) {
    const twin = resolveWriteTarget(root, ".opencode", dir, `${name}.md`);
    const twinText = readPlannedFile(twin, { root, maxBytes: FILE_LIMITS.agent });
    if (twinText !== null) twins.push({ kind: "file", path: displayPath(root, twin), before: twinText, after: null });
  }
  const relativePath = displayPath(root, file);
  return {
    root,
    name,
    file,
    relativePath,
    text,
    before,
    twins,
    existed: before !== null,
    item: itemFrom(name, data, "file", relativePath),
  };
}

/** The planned changes of an agent write: its twins go, its file gets the text. */
export function agentChanges(plan: AgentPlan): FileChange[] {
  return [...plan.twins, fileWrite(plan)];
}

/** Plans a delete: the agent's files in both folders. 404 when it has none (a config-only agent included). */
export async function planAgentDelete(root: string, rawName: unknown): Promise<{ name: string; changes: FileChange[] }> {
  const name = validateAgentName(rawName);
  const changes: FileChange[] = [];
  for (const dir of AGENT_DIRS) {
    const file = resolveWriteTarget(root, ".opencode", dir, `${name}.md`);
    const before = readPlannedFile(file, { root, maxBytes: FILE_LIMITS.agent });
    if (before !== null) changes.push({ kind: "file", path: displayPath(root, file), before, after: null });
  }
  if (changes.length === 0) {
    const config = (await readProjectConfig(root)).value.agent as Record<string, unknown> | undefined;
    const inConfig = !!config && typeof config === "object" && Object.hasOwn(config, name);
    throw notFound(
      `Agent "${name}" has no file in .opencode/agents or .opencode/agent`,
      inConfig ? { name, source: "config", hint: "remove it from the config's agent map with PATCH /workspace/{id}/config" } : { name },
    );
  }
  return { name, changes };
}
