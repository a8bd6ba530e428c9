// Export and import of a workspace's OpenCode setup: the project config, OpenWork's own config,
// the workspace's skills, its commands and its agents. An import is planned whole (every part and every item
// validated, the resulting config checked loadable) before anything is written, so an invalid
// item anywhere leaves every file as it was. Skills and commands are read, validated and written
// by their own modules; this file only combines them. No HTTP here.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { ApiError, badRequest } from "../errors.js";
import { type AgentPlan, agentChanges, listAgents, planAgentDelete, planAgentUpsert } from "./agents.js";
import { fileWrite, folderRemoval, type PlannedChange } from "./change-set.js";
import {
  COMMAND_DIRS,
  type CommandItem,
  type CommandPlan,
  listCommands,
  planCommandDelete,
  planCommandUpsert,
  validateCommandName,
} from "./commands.js";
import { mapLimit, READ_CONCURRENCY, readFileIfExists } from "./fs-list.js";
import {
  assertEditKeyCount,
  type ConfigEdit,
  type JsonObject,
  planKeyEdit,
  planProjectConfigEdit,
  readOpenworkConfig,
  readProjectConfig,
} from "./opencode-config.js";
import { isContained, isInside, resolveInside } from "./paths.js";
import { FILE_LIMITS } from "./safe-fs.js";
import { listSkills, MANAGED_SKILLS_DIR, planSkillUpsert, readSkillFile, type SkillPlan } from "./skills.js";

export type ImportMode = "merge" | "replace";
export const IMPORT_PARTS = ["opencode", "openwork", "skills", "commands", "agents"] as const;
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

export interface ExportedAgent {
  name: string;
  description: string;
  /** The whole agent file. */
  content: string;
}

export interface WorkspaceExport {
  workspaceId: string;
  exportedAt: number;
  opencode: JsonObject;
  openwork: JsonObject;
  skills: ExportedSkill[];
  commands: ExportedCommand[];
  agents: ExportedAgent[];
}

export interface ImportInput {
  opencode?: JsonObject;
  openwork?: JsonObject;
  skills?: Array<{ name?: unknown; content?: unknown; description?: unknown }>;
  commands?: Array<Record<string, unknown>>;
  agents?: Array<Record<string, unknown>>;
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

/** Agent files inside the workspace (after symlinks), as whole files; config agents travel in `opencode`. */
async function workspaceAgents(root: string): Promise<ExportedAgent[]> {
  const out: ExportedAgent[] = [];
  for (const item of await listAgents(root)) {
    if (item.source !== "file" || item.path === undefined) continue;
    const file = join(root, item.path);
    if (!isContained(root, file)) continue;
    const content = await readFileIfExists(file, { root, maxBytes: FILE_LIMITS.agent });
    if (content !== null) out.push({ name: item.name, description: item.description, content });
  }
  return out;
}

/**
 * The workspace's config, OpenWork config, skills (those inside the workspace), commands (those
 * an import can write back: nested `sub/x` commands are left out) and agent files, sorted by name.
 */
export async function exportWorkspace(root: string, workspaceId: string): Promise<WorkspaceExport> {
  const [project, openwork, skills, commands, agents] = await Promise.all([
    readProjectConfig(root),
    readOpenworkConfig(root),
    workspaceSkills(root),
    listCommands(root, "workspace"),
    workspaceAgents(root),
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
    agents,
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
  /** What changes, per part, by name (the preview's answer). */
  changes: ImportChanges;
  /**
   * Every file the import writes or removes, in order: config files, removed skill folders,
   * skill files, removed command files (a replace's, and the `.opencode/command/` twins of
   * rewritten ones), command files, removed agent files, agent files (their twins first).
   */
  planned: PlannedChange[];
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
    throw badRequest("invalid_payload", "Import needs at least one of: opencode, openwork, skills, commands, agents");
  }
  assertEditKeyCount(input.opencode, "opencode");
  assertEditKeyCount(input.openwork, "openwork");
  const mode = (part: ImportPart): ImportMode => input.mode?.[part] ?? "merge";
  const changes: ImportChanges = {
    opencode: emptyChanges(),
    openwork: emptyChanges(),
    skills: emptyChanges(),
    commands: emptyChanges(),
    agents: emptyChanges(),
  };
  const plan: ImportPlan = { root, changes, planned: [], paths: [], reasons: [], summary: "" };
  const skillWrites: SkillPlan[] = [];
  const skillRemovals: PlannedChange[] = [];
  const commandWrites: CommandPlan[] = [];
  const commandRemovals: PlannedChange[] = [];
  const agentWrites: AgentPlan[] = [];
  const agentRemovals: PlannedChange[] = [];

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
      plan.planned.push({ kind: "file", path: current.file, before: current.text, after: planned.text });
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
      plan.planned.push({ kind: "file", path: current.file, before: current.text, after: planned.text });
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
      if (planned.before === null) changes.skills.added.push(planned.name);
      else if (planned.before !== planned.text) changes.skills.changed.push(planned.name);
      else continue; // identical: nothing to write
      skillWrites.push(planned);
      plan.paths.push(planned.relativePath);
    }
    if (mode("skills") === "replace") {
      const managed = resolveInside(root, MANAGED_SKILLS_DIR);
      for (const item of await workspaceSkills(root)) {
        if (seen.has(item.name) || !isInside(managed, item.path)) continue;
        skillRemovals.push(await folderRemoval(root, `${MANAGED_SKILLS_DIR}/${item.name}`));
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
        planned = await planCommandUpsert(root, { ...item, name: item.name });
      } catch (error) {
        inItem(error, "commands", index, item.name);
      }
      if (seen.has(planned.name)) {
        inItem(badRequest("invalid_payload", "the same command name appears twice"), "commands", index, planned.name);
      }
      seen.add(planned.name);
      const onDisk = planned.before;
      const twinPath = `.opencode/command/${planned.name}.md`;
      const twin = await readFileIfExists(resolveInside(root, twinPath), { root, maxBytes: FILE_LIMITS.command });
      if (!existing.has(planned.name) && onDisk === null) changes.commands.added.push(planned.name);
      else if (onDisk !== planned.text || twin !== null) changes.commands.changed.push(planned.name);
      else continue;
      // A twin in `.opencode/command/` would survive the write (and win over it): it goes.
      if (twin !== null) {
        commandRemovals.push({ kind: "file", path: twinPath, before: twin, after: null });
        plan.paths.push(twinPath);
      }
      commandWrites.push(planned);
      plan.paths.push(planned.relativePath);
    }
    if (mode("commands") === "replace") {
      // Both folders are replaced: refuse (path_escape) when one leads out of the workspace.
      for (const dir of COMMAND_DIRS) resolveInside(root, ".opencode", dir);
      for (const name of existing.keys()) {
        if (seen.has(name) || !importableCommandName(name)) continue;
        const removal = await planCommandDelete(root, name);
        commandRemovals.push(...removal.changes);
        changes.commands.removed.push(name);
        plan.paths.push(...removal.changes.map((c) => c.path));
      }
    }
    if (isChanged(changes.commands)) plan.reasons.push("commands");
  }

  if (input.agents !== undefined) {
    const existing = new Map((await listAgents(root)).filter((a) => a.source === "file").map((a) => [a.name, a]));
    const seen = new Set<string>();
    for (const [index, item] of input.agents.entries()) {
      let planned: AgentPlan;
      try {
        planned = await planAgentUpsert(root, item);
      } catch (error) {
        inItem(error, "agents", index, item.name);
      }
      if (seen.has(planned.name)) {
        inItem(badRequest("invalid_payload", "the same agent name appears twice"), "agents", index, planned.name);
      }
      seen.add(planned.name);
      const onDisk = planned.before;
      if (!existing.has(planned.name) && onDisk === null) changes.agents.added.push(planned.name);
      else if (onDisk !== planned.text || planned.twins.length > 0) changes.agents.changed.push(planned.name);
      else continue;
      agentWrites.push(planned);
      plan.paths.push(...planned.twins.map((t) => t.path), planned.relativePath);
    }
    if (mode("agents") === "replace") {
      for (const name of existing.keys()) {
        if (seen.has(name)) continue;
        const removal = await planAgentDelete(root, name);
        agentRemovals.push(...removal.changes);
        changes.agents.removed.push(name);
        plan.paths.push(...removal.changes.map((c) => c.path));
      }
    }
    if (isChanged(changes.agents)) plan.reasons.push("agents");
  }

  for (const part of IMPORT_PARTS) {
    const c = changes[part];
    c.added.sort(byName);
    c.changed.sort(byName);
    c.removed.sort(byName);
  }
  plan.planned.push(
    ...skillRemovals,
    ...skillWrites.map(fileWrite),
    ...commandRemovals,
    ...commandWrites.map(fileWrite),
    ...agentRemovals,
    ...agentWrites.flatMap(agentChanges),
  );
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
