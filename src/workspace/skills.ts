// Skills: folders holding a SKILL.md (Markdown with YAML frontmatter `name` and `description`).
// Discovery follows OpenCode: `.opencode/skills`, `.opencode/skill`, `.claude/skills` and
// `.agents/skills` in the workspace and each parent up to the first folder holding `.git`, plus the
// global folders on request. Writes only ever touch `.opencode/skills/<name>/` of the workspace.
// No HTTP here; list functions are pure reads so a cache can wrap them.
import { lstat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { ApiError, badRequest, notFound } from "../errors.js";
import { isNotFound, pathExists } from "./atomic-file.js";
import { type FileWritePlan, type FolderRemoval, folderRemoval } from "./change-set.js";
import { type FrontmatterData, parseFrontmatter, prependFrontmatterKeys, renderFrontmatter } from "./frontmatter.js";
import { mapLimit, READ_CONCURRENCY, readFileIfExists, readListedDir, readPlannedFile } from "./fs-list.js";
import { globalClaudeDir, globalOpencodeDir } from "./layout.js";
import { displayPath, resolveInside, resolveWriteTarget, validateName } from "./paths.js";
import { assertFileSize, FILE_LIMITS, realRoot } from "./safe-fs.js";

export const SKILL_NAME_PATTERN = /^[a-z0-9]+(-[a-z0-9]+)*$/;
export const SKILL_NAME_MAX = 64;
export const SKILL_DESCRIPTION_MAX = 1024;
export const SKILL_FILE = "SKILL.md";
/** The one folder the API writes skills to. */
export const MANAGED_SKILLS_DIR = ".opencode/skills";
/** Folders OpenCode reads skills from, in the order a duplicate name is decided (first wins). */
export const PROJECT_SKILL_DIRS = [".opencode/skills", ".opencode/skill", ".claude/skills", ".agents/skills"] as const;

export type SkillScope = "project" | "global";

export interface SkillItem {
  name: string;
  /** Absolute path of the SKILL.md file. */
  path: string;
  description: string;
  scope: SkillScope;
}

export interface ListSkillsOptions {
  includeGlobal?: boolean;
  /**
   * Told about every SKILL.md (or skill folder) that was skipped, and why: bad frontmatter, wrong
   * name, no description, outside its root through a symlink, not a regular file, hard-linked,
   * too large.
   */
  onSkip?: (file: string, reason: string) => void;
}

export interface SkillUpsertInput {
  name?: unknown;
  content?: unknown;
  description?: unknown;
}

/** A skill write: `file` is its SKILL.md. */
export interface SkillPlan extends FileWritePlan {
  /** Absolute path of the skill folder. */
  dir: string;
  description: string;
  /** Whether a SKILL.md already exists there (the write replaces it). */
  existed: boolean;
  item: SkillItem;
}

/** Checks a skill name taken from a request; returns it unchanged. 400 invalid_name otherwise. */
export function validateSkillName(name: unknown): string {
  return validateName(name, {
    label: "Skill name",
    pattern: SKILL_NAME_PATTERN,
    max: SKILL_NAME_MAX,
    must: "be lower-case letters and digits separated by single hyphens",
  });
}

/** Why a parsed SKILL.md does not count as a skill, or null when it does. */
function skillProblem(data: FrontmatterData, folder: string): string | null {
  const { name, description } = data;
  if (typeof name !== "string") return "frontmatter has no string `name`";
  if (name !== folder) return `frontmatter name "${name}" differs from folder name "${folder}"`;
  if (name.length > SKILL_NAME_MAX || !SKILL_NAME_PATTERN.test(name)) return `name "${name}" is not a valid skill name`;
  if (typeof description !== "string" || description.trim() === "") return "frontmatter has no `description`";
  if (description.length > SKILL_DESCRIPTION_MAX) return `description is longer than ${SKILL_DESCRIPTION_MAX} characters`;
  return null;
}

/** The user's global skill folders (listed with `includeGlobal`). */
export function globalSkillDirs(): string[] {
  return [join(globalOpencodeDir(), "skills"), join(globalClaudeDir(), "skills")];
}

/**
 * The folder a skills folder's files must stay inside after symlinks: for a project folder its
 * workspace or parent folder (every PROJECT_SKILL_DIRS entry is two levels deep), for a global one
 * its global config folder.
 */
export function skillFolderRoot(dir: string, scope: SkillScope): string {
  return scope === "project" ? resolve(dir, "..", "..") : dirname(resolve(dir));
}

/** The workspace and its parents up to and including the first one holding `.git` (else up to /). */
export async function projectAncestors(root: string): Promise<string[]> {
  const out: string[] = [];
  let current = resolve(root);
  for (;;) {
    out.push(current);
    if (await pathExists(join(current, ".git")).catch(() => false)) break;
    const parent = dirname(current);
    if (parent === current) break;
    current = parent;
  }
  return out;
}

/**
 * The project's skill folders in first-wins order: each of PROJECT_SKILL_DIRS in the workspace,
 * then in each parent up to the git root. A folder that is also a global one is left out (a
 * workspace under $HOME with no .git would otherwise list ~/.claude/skills as a project's).
 */
export async function projectSkillDirs(root: string): Promise<string[]> {
  const globalSet = new Set(globalSkillDirs().map((d) => resolve(d)));
  const dirs: string[] = [];
  for (const ancestor of await projectAncestors(root)) {
    for (const sub of PROJECT_SKILL_DIRS) {
      const dir = join(ancestor, sub);
      if (!globalSet.has(resolve(dir))) dirs.push(dir);
    }
  }
  return dirs;
}

export interface SkillReadOptions {
  onSkip?: ListSkillsOptions["onSkip"];
  /** The workspace being listed: its own folders' root is named "the workspace" in skip reasons. */
  workspace?: string;
  /** The root's real path, when the caller has it (a folder scan: one realpath, not one per skill). */
  realRoot?: string;
}

/** How a skills folder's root is named in skip reasons. */
function rootLabel(root: string, workspace: string | undefined): string {
  return workspace !== undefined && resolve(workspace) === root ? "the workspace" : root;
}

/**
 * The skill in folder `<dir>/<name>`, or null when there is none there or it does not count
 * (reported to `onSkip`, with why: bad frontmatter, wrong name, no description, outside its root
 * through a symlink, not a regular file, hard-linked, too large). The one place a listing reads a
 * skill, so an index can re-read one.
 */
export async function readSkillEntry(
  dir: string,
  name: string,
  scope: SkillScope,
  options: SkillReadOptions = {},
): Promise<SkillItem | null> {
  const { onSkip } = options;
  const file = join(dir, name, SKILL_FILE);
  const root = skillFolderRoot(dir, scope);
  let text: string | null;
  try {
    text = await readFileIfExists(file, {
      root,
      rootLabel: rootLabel(root, options.workspace),
      label: file,
      maxBytes: FILE_LIMITS.skill,
      ...(options.realRoot ? { realRoot: options.realRoot } : {}),
    });
  } catch (error) {
    onSkip?.(file, `unreadable: ${(error as Error).message}`);
    return null;
  }
  if (text === null) return null;
  try {
    const { data } = parseFrontmatter(text, { file });
    const problem = skillProblem(data, name);
    if (problem) {
      onSkip?.(file, problem);
      return null;
    }
    return { name, path: file, description: (data.description as string).trim(), scope };
  } catch (error) {
    onSkip?.(file, (error as Error).message);
    return null;
  }
}

/** The names of the sub-folders of `dir` that may hold a skill (none when `dir` leads out of its root). */
export async function skillFolderNames(dir: string, scope: SkillScope = "project", options: SkillReadOptions = {}): Promise<string[]> {
  const root = skillFolderRoot(dir, scope);
  const entries = await readListedDir(dir, root, options.onSkip, rootLabel(root, options.workspace));
  return entries.filter((e) => e.isDirectory() || e.isSymbolicLink()).map((e) => e.name);
}

/** Every skill directly in `dir` (one per sub-folder holding a valid SKILL.md). */
export async function readSkillFolder(dir: string, scope: SkillScope, options: SkillReadOptions = {}): Promise<SkillItem[]> {
  const names = await skillFolderNames(dir, scope, options);
  const withRoot = names.length > 0 ? { ...options, realRoot: await realRoot(skillFolderRoot(dir, scope)) } : options;
  const found = await mapLimit(names, READ_CONCURRENCY, (name) => readSkillEntry(dir, name, scope, withRoot));
  return found.filter((item): item is SkillItem => item !== null);
}

/** Lists in first-wins order merged into one, first found winning on a duplicate name, sorted by name. */
export function mergeSkillLists(lists: SkillItem[][]): SkillItem[] {
  const byName = new Map<string, SkillItem>();
  for (const list of lists) {
    for (const item of list) if (!byName.has(item.name)) byName.set(item.name, item);
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The user's global skills (for `includeGlobal`), in first-wins order. */
export async function listGlobalSkills(onSkip?: ListSkillsOptions["onSkip"]): Promise<SkillItem[][]> {
  return Promise.all(globalSkillDirs().map((dir) => readSkillFolder(dir, "global", { onSkip })));
}

/**
 * Every skill OpenCode would see for this workspace: project ones (workspace, then each parent up
 * to the git root), then global ones when `includeGlobal`. First found wins on a duplicate name.
 * Sorted by name. Files that do not parse are skipped (and reported to `onSkip`), never fatal.
 */
export async function listSkills(root: string, options: ListSkillsOptions = {}): Promise<SkillItem[]> {
  const dirs = await projectSkillDirs(root);
  const lists = await Promise.all(dirs.map((dir) => readSkillFolder(dir, "project", { onSkip: options.onSkip, workspace: root })));
  if (options.includeGlobal) lists.push(...(await listGlobalSkills(options.onSkip)));
  return mergeSkillLists(lists);
}

/** `.opencode/skills/<name>/` and its SKILL.md; `forWrite` refuses any symlink on the way (resolveWriteTarget). */
function managedPaths(root: string, name: string, forWrite = false) {
  const resolvePath = forWrite ? resolveWriteTarget : resolveInside;
  const dir = resolvePath(root, MANAGED_SKILLS_DIR, name);
  const file = resolvePath(root, MANAGED_SKILLS_DIR, name, SKILL_FILE);
  return { dir, file, relativePath: displayPath(root, file) };
}

/**
 * The workspace's own skill `<name>` at `.opencode/skills/<name>/SKILL.md` (the folder the API
 * writes). 400 for a bad name or a path that escapes, 404 when absent, 422 when the file does not
 * parse or is not a valid skill.
 */
export async function readProjectSkill(root: string, name: unknown): Promise<{ item: SkillItem; content: string }> {
  const valid = validateSkillName(name);
  const { file, relativePath } = managedPaths(root, valid);
  const content = await readFileIfExists(file, { root, label: relativePath, maxBytes: FILE_LIMITS.skill });
  if (content === null) throw notFound(`Skill "${valid}" not found`, { name: valid });
  const { data } = parseFrontmatter(content, { file: relativePath });
  const problem = skillProblem(data, valid);
  if (problem) throw new ApiError(422, "invalid_file", `${relativePath} is not a valid skill: ${problem}`, { file: relativePath });
  return { item: { name: valid, path: file, description: (data.description as string).trim(), scope: "project" }, content };
}

/** The text of a skill found by `listSkills` in the workspace `root` (for export). */
export async function readSkillFile(item: SkillItem, root: string): Promise<string> {
  const content = await readFileIfExists(item.path, { root, label: displayPath(root, item.path), maxBytes: FILE_LIMITS.skill });
  if (content === null) throw notFound(`Skill "${item.name}" not found`, { name: item.name });
  return content;
}

/** The first paragraph line of a Markdown body that is not a heading, rule or code (for a description). */
export function deriveDescription(body: string): string | null {
  let fence: string | null = null;
  for (const raw of body.split(/\r?\n/)) {
    const line = raw.trim();
    const fenceMatch = /^(```+|~~~+)/.exec(line);
    if (fence) {
      if (fenceMatch && fenceMatch[1]!.startsWith(fence)) fence = null;
      continue;
    }
    if (fenceMatch) {
      fence = fenceMatch[1]!;
      continue;
    }
    if (line === "" || line.startsWith("#") || line.startsWith("<!--") || /^([-*_])(\s*\1){2,}$/.test(line)) continue;
    const text = line.replace(/^(>\s*)+/, "").trim();
    if (text === "") continue;
    return text.length > SKILL_DESCRIPTION_MAX ? text.slice(0, SKILL_DESCRIPTION_MAX).trimEnd() : text;
  }
  return null;
}

function optionalString(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw badRequest("invalid_payload", `${field} must be a string`, { field });
  return value.trim() === "" ? undefined : value;
}

/**
 * Validates a skill write and returns exactly what will be written, touching nothing.
 * 400: bad name, path escape, content that is not a string or has unparsable / non-YAML
 * frontmatter, a frontmatter `name` other than `name`, a description over 1024 characters.
 * 422 `unprocessable`: no description in the frontmatter, the request, or the body.
 */
export async function planSkillUpsert(root: string, input: SkillUpsertInput): Promise<SkillPlan> {
  const name = validateSkillName(input.name);
  if (typeof input.content !== "string") throw badRequest("invalid_payload", "content must be a string", { field: "content" });
  if (input.content.includes("\0")) throw badRequest("invalid_payload", "content must not contain NUL bytes", { field: "content" });
  const content = input.content;
  const requested = optionalString(input.description, "description");
  const { dir, file, relativePath } = managedPaths(root, name, true);

  const parsed = parseFrontmatter(content, { file: "content", source: "request" });
  const { data } = parsed;
  const fmName = data.name;
  if (fmName !== undefined && fmName !== null && fmName !== name) {
    throw badRequest("invalid_payload", `Frontmatter name "${String(fmName)}" does not match the skill name "${name}"`, {
      field: "content",
      name,
      frontmatterName: fmName,
    });
  }
  if (data.description !== undefined && data.description !== null && typeof data.description !== "string") {
    throw badRequest("invalid_payload", "Frontmatter description must be a string", { field: "content" });
  }
  const fmDescription = typeof data.description === "string" && data.description.trim() !== "" ? data.description : undefined;
  const description = (fmDescription ?? requested ?? deriveDescription(parsed.body))?.trim();
  if (!description) {
    throw new ApiError(
      422,
      "unprocessable",
      "Skill needs a description: give one in the frontmatter, in `description`, or as a first paragraph",
      {
        field: "description",
      },
    );
  }
  if (description.includes("\0")) {
    throw badRequest("invalid_payload", "Skill description must not contain NUL bytes", { field: "description" });
  }
  if (description.length > SKILL_DESCRIPTION_MAX) {
    throw badRequest("invalid_payload", `Skill description is longer than ${SKILL_DESCRIPTION_MAX} characters`, {
      field: "description",
      max: SKILL_DESCRIPTION_MAX,
    });
  }

  const rerender = () => {
    const rest: FrontmatterData = {};
    for (const [k, v] of Object.entries(data)) if (k !== "name" && k !== "description") rest[k] = v;
    return renderFrontmatter({ name, description, ...rest }, parsed.body, parsed.eol);
  };
  let text: string;
  if (!parsed.hasFrontmatter) {
    text = rerender(); // a BOM stays out of the body; the fences take the content's line breaks
  } else if (fmName === name && fmDescription !== undefined) {
    text = content; // already complete: written byte for byte
  } else {
    const additions: FrontmatterData = {};
    let inPlace = true;
    if (fmName !== name) {
      if ("name" in data) inPlace = false;
      else additions.name = name;
    }
    if (fmDescription === undefined) {
      if ("description" in data) inPlace = false;
      else additions.description = description;
    }
    text = (inPlace && prependFrontmatterKeys(content, additions)) || rerender();
  }
  // What we write must be a skill OpenCode (and our own listing) accepts; check before writing.
  const accepted = (candidate: string) => {
    try {
      // The request's own text was parsed above; a rewritten one is parsed as the listing will.
      const check = candidate === content ? data : parseFrontmatter(candidate, { file: relativePath }).data;
      return skillProblem(check, name) === null && (check.description as string).trim() === description;
    } catch {
      return false;
    }
  };
  if (!accepted(text)) {
    text = rerender();
    if (!accepted(text)) throw badRequest("invalid_payload", "content cannot be turned into a valid SKILL.md", { field: "content" });
  }
  assertFileSize(text, FILE_LIMITS.skill, relativePath);
  const before = readPlannedFile(file, { root, maxBytes: FILE_LIMITS.skill });
  return {
    root,
    name,
    dir,
    file,
    relativePath,
    text,
    description,
    existed: before !== null,
    before,
    item: { name, path: file, description, scope: "project" },
  };
}

/**
 * Plans removing `.opencode/skills/<name>/` with everything in it: 400 bad name / path escape
 * (also a link on the way, or the skill folder itself being a link), 404 when it is absent.
 */
export async function planSkillDelete(root: string, name: unknown): Promise<{ name: string; change: FolderRemoval }> {
  const valid = validateSkillName(name);
  const relative = `${MANAGED_SKILLS_DIR}/${valid}`;
  const dir = resolveWriteTarget(root, relative);
  let isFolder = false;
  try {
    isFolder = (await lstat(dir)).isDirectory();
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  if (!isFolder) throw notFound(`Skill "${valid}" not found in ${MANAGED_SKILLS_DIR}`, { name: valid });
  return { name: valid, change: await folderRemoval(root, relative) };
}
