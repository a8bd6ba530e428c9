// Export and import of a workspace's OpenCode setup: the project config, OpenWork's own config,
// the workspace's skills and its commands. An import is planned whole (every part and every item
// validated, the resulting config checked loadable) before anything is written, so an invalid
// item anywhere leaves every file as it was. Skills and commands are read, validated and written
// by their own modules; this file only combines them. No HTTP here.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { ApiError, badRequest } from "../errors.js";
import {
  COMMAND_DIRS,
  type CommandItem,
  type CommandPlan,
  deleteCommand,
  listCommands,
  planCommandDelete,
  planCommandUpsert,
  validateCommandName,
  writeCommand,
} from "./commands.js";
import { mapLimit, READ_CONCURRENCY, readFileIfExists } from "./fs-list.js";
import {
  assertEditKeyCount,
  type ConfigEdit,
  type ConfigFile,
  type JsonObject,
  planKeyEdit,
  planProjectConfigEdit,
  readOpenworkConfig,
  readProjectConfig,
  writeConfigText,
} from "./opencode-config.js";
import { isContained, isInside, resolveInside } from "./paths.js";
import { FILE_LIMITS } from "./safe-fs.js";
import {
  deleteProjectSkill,
  listSkills,
  MANAGED_SKILLS_DIR,
  planSkillUpsert,
  readSkillFile,
  type SkillPlan,
  writeSkill,
} from "./skills.js";

export type ImportMode = "merge" | "replace";
export const IMPORT_PARTS = ["opencode", "openwork", "skills", "commands"] as const;
export type ImportPart = (typeof IMPORT_PARTS)[number];

export interface ExportedSkill {
  name: string;
  description: string;
  content: string;
}

export interface ExportedCommand {
  name: string;
  description?: string;
  template: string;
  agent?: string;
  model?: string;
  subtask?: boolean;
}

export interface WorkspaceExport {
  workspaceId: string;
  exportedAt: number;
  opencode: JsonObject;
  openwork: JsonObject;
  skills: ExportedSkill[];
  commands: ExportedCommand[];
}

export interface ImportInput {
  opencode?: JsonObject;
  openwork?: JsonObject;
  skills?: Array<{ name?: unknown; content?: unknown; description?: unknown }>;
  commands?: Array<Record<string, unknown>>;
  mode?: Partial<Record<ImportPart, ImportMode>>;
}

export interface PartChanges {
  added: string[];
  changed: string[];
  removed: string[];
}
export type ImportChanges = Record<ImportPart, PartChanges>;

const emptyChanges = (): PartChanges => ({ added: [], changed: [], removed: [] });
const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Commands whose names an import can write back (`sub/x` from a subfolder cannot be). */
function importableCommandName(name: string): boolean {
  try {
    return validateCommandName(name) === name;
  } catch {
    return false;
  }
}

/**
 * Project skills that live inside the workspace folder: not those of a parent up to the git root,
 * and not those reached through a symlink leading out of the workspace (an export must not hand
 * out files from elsewhere on the host).
 */
async function workspaceSkills(root: string) {
  return (await listSkills(root)).filter((item) => item.scope === "project" && isContained(root, item.path));
}

/**
 * Whether the file a workspace command was listed from (the first of `.opencode/commands/`,
 * `.opencode/command/` holding it) lies inside the workspace after symlinks: like skills, an
 * export does not hand out files from elsewhere on the host.
 */
function commandInsideWorkspace(root: string, name: string): boolean {
  for (const dir of COMMAND_DIRS) {
    const file = join(root, ".opencode", dir, `${name}.md`);
    if (existsSync(file)) return isContained(root, file);
  }
  return false;
}

function exportedCommand(item: CommandItem): ExportedCommand {
  return {
    name: item.name,
    ...(item.description !== undefined ? { description: item.description } : {}),
    template: item.template,
    ...(item.agent !== undefined ? { agent: item.agent } : {}),
    ...(typeof item.model === "string" ? { model: item.model } : {}),
    ...(item.subtask !== undefined ? { subtask: item.subtask } : {}),
  };
}

/**
 * The workspace's config, OpenWork config, skills (those inside the workspace) and commands (those
 * an import can write back: nested `sub/x` commands are left out), sorted by name.
 */
export async function exportWorkspace(root: string, workspaceId: string): Promise<WorkspaceExport> {
  const [project, openwork, skills, commands] = await Promise.all([
    readProjectConfig(root),
    readOpenworkConfig(root),
    workspaceSkills(root),
    listCommands(root, "workspace"),
  ]);
  const exportedSkills = await mapLimit(skills, READ_CONCURRENCY, async (item) => ({
    name: item.name,
    description: item.description,
    content: await readSkillFile(item, root),
  }));
  return {
    workspaceId,
    exportedAt: Date.now(),
    opencode: project.value,
    openwork: openwork.value,
    skills: exportedSkills,
    commands: commands.filter((c) => importableCommandName(c.name) && commandInsideWorkspace(root, c.name)).map(exportedCommand),
  };
}

/** Adds where an error came from (part, index, name) to a validation error, keeping its status and code. */
function inItem(error: unknown, part: ImportPart, index?: number, name?: unknown): never {
  if (!(error instanceof ApiError)) throw error;
  const label = index === undefined ? part : `${part}[${index}]`;
  const shownName = typeof name === "string" ? name.slice(0, 200) : undefined;
  const where = shownName !== undefined ? `${label} ("${shownName}")` : label;
  throw new ApiError(error.status, error.code, `${where}: ${error.message}`, {
    ...(error.details ?? {}),
    part,
    ...(index !== undefined ? { index } : {}),
    ...(shownName !== undefined ? { name: shownName } : {}),
  });
}

function keyChanges(before: JsonObject, after: JsonObject): PartChanges {
  const changes = emptyChanges();
  for (const key of Object.keys(after)) {
    if (!Object.hasOwn(before, key)) changes.added.push(key);
    else if (!isDeepStrictEqual(before[key], after[key])) changes.changed.push(key);
  }
  for (const key of Object.keys(before)) if (!Object.hasOwn(after, key)) changes.removed.push(key);
  return changes;
}

/** The top-level key edits that turn `current` into the import (merge: its keys; replace: exactly it). */
function configChanges(current: JsonObject, incoming: JsonObject, mode: ImportMode): JsonObject {
  const changes: JsonObject = { ...incoming };
  if (mode === "replace") {
    for (const key of Object.keys(current)) if (!Object.hasOwn(incoming, key)) changes[key] = undefined;
  }
  return changes;
}

const isChanged = (c: PartChanges) => c.added.length + c.changed.length + c.removed.length > 0;

export interface ImportPlan {
  root: string;
  changes: ImportChanges;
  /** New texts of the config files that change. */
  configWrites: Array<{ file: ConfigFile; text: string }>;
  skillWrites: SkillPlan[];
  /** Project skills (in `.opencode/skills/`) a replace removes. */
  skillRemovals: string[];
  commandWrites: CommandPlan[];
  /** Workspace commands removed first: by a replace, and the twins of rewritten ones. */
  commandRemovals: string[];
  /** Workspace-relative paths the import touches, for the approver. */
  paths: string[];
  /** Reload reasons for the parts that change. */
  reasons: Array<"config" | "plugins" | "mcp" | "commands" | "agents" | "skills">;
  summary: string;
}

/**
 * Validates a whole import against the workspace as it is now and works out every write, without
 * touching a file. Throws the first problem (400/422, details naming the part and item).
 */
export async function planImport(root: string, input: ImportInput): Promise<ImportPlan> {
  const present = IMPORT_PARTS.filter((p) => input[p] !== undefined);
  if (present.length === 0) {
    throw badRequest("invalid_payload", "Import needs at least one of: opencode, openwork, skills, commands");
  }
  assertEditKeyCount(input.opencode, "opencode");
  assertEditKeyCount(input.openwork, "openwork");
  const mode = (part: ImportPart): ImportMode => input.mode?.[part] ?? "merge";
  const changes: ImportChanges = {
    opencode: emptyChanges(),
    openwork: emptyChanges(),
    skills: emptyChanges(),
    commands: emptyChanges(),
  };
  const plan: ImportPlan = {
    root,
    changes,
    configWrites: [],
    skillWrites: [],
    skillRemovals: [],
    commandWrites: [],
    commandRemovals: [],
    paths: [],
    reasons: [],
    summary: "",
  };

  if (input.opencode !== undefined) {
    const current = await readProjectConfig(root);
    const edits = configChanges(current.value, input.opencode, mode("opencode"));
    let planned: ConfigEdit;
    try {
      planned = planProjectConfigEdit(current, edits);
    } catch (error) {
      inItem(error, "opencode");
    }
    changes.opencode = keyChanges(current.value, planned.value);
    if (isChanged(changes.opencode)) {
      plan.configWrites.push({ file: current, text: planned.text });
      plan.paths.push(current.file);
      plan.reasons.push("config");
      const touched = [...changes.opencode.added, ...changes.opencode.changed, ...changes.opencode.removed];
      if (touched.includes("plugin")) plan.reasons.push("plugins");
      if (touched.includes("mcp")) plan.reasons.push("mcp");
      if (touched.includes("command")) plan.reasons.push("commands");
      if (touched.includes("agent")) plan.reasons.push("agents");
    }
  }

  if (input.openwork !== undefined) {
    const current = await readOpenworkConfig(root);
    const edits = configChanges(current.value, input.openwork, mode("openwork"));
    let planned: ConfigEdit;
    try {
      planned = planKeyEdit(current, edits);
    } catch (error) {
      inItem(error, "openwork");
    }
    changes.openwork = keyChanges(current.value, planned.value);
    if (isChanged(changes.openwork)) {
      plan.configWrites.push({ file: current, text: planned.text });
      plan.paths.push(current.file);
      plan.reasons.push("config");
    }
  }

  if (input.skills !== undefined) {
    const seen = new Set<string>();
    for (const [index, item] of input.skills.entries()) {
      let planned: SkillPlan;
      try {
        planned = await planSkillUpsert(root, { name: item.name, content: item.content, description: item.description });
      } catch (error) {
        inItem(error, "skills", index, item.name);
      }
      if (seen.has(planned.name)) {
        inItem(badRequest("invalid_payload", "the same skill name appears twice"), "skills", index, planned.name);
      }
      seen.add(planned.name);
      const existing = planned.existed ? await readFileIfExists(planned.file, { root, maxBytes: FILE_LIMITS.skill }) : null;
      if (existing === null) changes.skills.added.push(planned.name);
      else if (existing !== planned.text) changes.skills.changed.push(planned.name);
      else continue; // identical: nothing to write
      plan.skillWrites.push(planned);
      plan.paths.push(planned.relativePath);
    }
    if (mode("skills") === "replace") {
      const managed = resolveInside(root, MANAGED_SKILLS_DIR);
      for (const item of await workspaceSkills(root)) {
        if (seen.has(item.name) || !isInside(managed, item.path)) continue;
        plan.skillRemovals.push(item.name);
        changes.skills.removed.push(item.name);
        plan.paths.push(`${MANAGED_SKILLS_DIR}/${item.name}/`);
      }
    }
    if (isChanged(changes.skills)) plan.reasons.push("skills");
  }

  if (input.commands !== undefined) {
    const existing = new Map((await listCommands(root, "workspace")).map((c) => [c.name, c]));
    const seen = new Set<string>();
    for (const [index, item] of input.commands.entries()) {
      let planned: CommandPlan;
      try {
        planned = planCommandUpsert(root, { ...item, name: item.name });
      } catch (error) {
        inItem(error, "commands", index, item.name);
      }
      if (seen.has(planned.name)) {
        inItem(badRequest("invalid_payload", "the same command name appears twice"), "commands", index, planned.name);
      }
      seen.add(planned.name);
      const onDisk = await readFileIfExists(planned.file, { root, maxBytes: FILE_LIMITS.command });
      const twinFile = resolveInside(root, ".opencode", "command", `${planned.name}.md`);
      const twin = await readFileIfExists(twinFile, { root, maxBytes: FILE_LIMITS.command });
      if (!existing.has(planned.name) && onDisk === null) changes.commands.added.push(planned.name);
      else if (onDisk !== planned.text || twin !== null) changes.commands.changed.push(planned.name);
      else continue;
      // A twin in `.opencode/command/` would survive the write; remove it (and the old file) first.
      if (twin !== null) {
        plan.commandRemovals.push(planned.name);
        plan.paths.push(...(await planCommandDelete(root, planned.name)).relativePaths);
      }
      plan.commandWrites.push(planned);
      plan.paths.push(planned.relativePath);
    }
    if (mode("commands") === "replace") {
      // Both folders are replaced: refuse (path_escape) when one leads out of the workspace.
      for (const dir of COMMAND_DIRS) resolveInside(root, ".opencode", dir);
      for (const name of existing.keys()) {
        if (seen.has(name) || !importableCommandName(name)) continue;
        plan.commandRemovals.push(name);
        changes.commands.removed.push(name);
        plan.paths.push(...(await planCommandDelete(root, name)).relativePaths);
      }
    }
    if (isChanged(changes.commands)) plan.reasons.push("commands");
  }

  for (const part of IMPORT_PARTS) {
    const c = changes[part];
    c.added.sort(byName);
    c.changed.sort(byName);
    c.removed.sort(byName);
  }
  plan.reasons = [...new Set(plan.reasons)];
  plan.paths = [...new Set(plan.paths)];
  plan.summary = `Import ${
    present
      .map((p) => {
        const c = changes[p];
        return `${p} (${mode(p)}: +${c.added.length} ~${c.changed.length} -${c.removed.length})`;
      })
      .join(", ") || "nothing"
  }`;
  return plan;
}

export function importChangesAnything(plan: ImportPlan): boolean {
  return IMPORT_PARTS.some((p) => isChanged(plan.changes[p]));
}

/**
 * Carries out a plan made under the workspace lock: config files, then skill removals and
 * writes, then command removals and writes. Every input was validated when the plan was made.
 */
export async function applyImport(plan: ImportPlan): Promise<void> {
  for (const { file, text } of plan.configWrites) await writeConfigText(file, text);
  for (const name of plan.skillRemovals) await deleteProjectSkill(plan.root, name);
  for (const skill of plan.skillWrites) await writeSkill(skill);
  for (const name of plan.commandRemovals) await deleteCommand(plan.root, name);
  for (const command of plan.commandWrites) await writeCommand(command);
}
