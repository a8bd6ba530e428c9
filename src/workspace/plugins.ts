// OpenCode plugins: specs in the config's `plugin` key (a string or an array of strings) and
// plugin files (`*.js`, `*.ts`) in `.opencode/plugins/` (project) and the global OpenCode folder.
// Adding and removing edit only the project config's `plugin` array; plugin files are listed,
// never written.
import { join } from "node:path";
import { ApiError, badRequest, notFound } from "../errors.js";
import { readFileIfExists, readListedDir } from "./fs-list.js";
import { parseJsoncObject } from "./jsonc.js";
import { globalOpencodeDir } from "./layout.js";
import { type ConfigEdit, type ConfigFile, type JsonObject, planProjectConfigEdit } from "./opencode-config.js";
import { displayPath } from "./paths.js";
import { FILE_LIMITS, resolvesInside } from "./safe-fs.js";

export type PluginSource = "config" | "dir.project" | "dir.global";
export interface PluginItem {
  spec: string;
  source: PluginSource;
  scope: "project" | "global";
  path?: string;
}

export const PLUGIN_LOAD_ORDER = ["config.global", "config.project", "dir.global", "dir.project"] as const;

/** Folders OpenCode scans for plugin files, relative to `.opencode/` or the global folder. */
const PLUGIN_DIRS = ["plugins", "plugin"] as const;
const PLUGIN_FILE = /\.(js|ts)$/;
export const MAX_PLUGIN_SPEC_LENGTH = 1024;

/**
 * The name a spec is compared by: an npm spec loses its version (`pkg@1.2` -> `pkg`,
 * `@scope/pkg@^1` -> `@scope/pkg`); URLs and paths are kept as they are.
 */
export function normalizePluginName(spec: string): string {
  const s = spec.trim();
  if (/^[a-z][a-z0-9+.-]*:/i.test(s) && !s.toLowerCase().startsWith("npm:")) return s; // URL (file:, https:, git+ssh:...)
  if (/^[./~\\]/.test(s) || /^[A-Za-z]:[\\/]/.test(s)) return s; // path
  const bare = s.toLowerCase().startsWith("npm:") ? s.slice(4) : s;
  if (bare.startsWith("@")) {
    const slash = bare.indexOf("/");
    if (slash < 0) return bare;
    const at = bare.indexOf("@", slash + 1);
    return at < 0 ? bare : bare.slice(0, at);
  }
  const at = bare.indexOf("@");
  return at <= 0 ? bare : bare.slice(0, at);
}

/**
 * A plugin spec (body) or name (URL) from a request: a single-line, non-empty string of sane
 * length. Body problems are `invalid_payload`, URL name problems `invalid_name`.
 */
export function validatePluginSpec(raw: unknown, what: "spec" | "name" = "spec"): string {
  const code = what === "spec" ? "invalid_payload" : "invalid_name";
  if (typeof raw !== "string") throw badRequest(code, `${what} must be a string`);
  const spec = raw.trim();
  if (spec === "") throw badRequest(code, `${what} must not be empty`);
  if (spec.length > MAX_PLUGIN_SPEC_LENGTH) {
    throw badRequest(code, `${what} is longer than ${MAX_PLUGIN_SPEC_LENGTH} characters`);
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(spec)) throw badRequest(code, `${what} must not contain control characters`);
  return spec;
}

/** The config's `plugin` value as a list; refuses a value OpenCode itself would refuse. */
export function configPluginSpecs(config: JsonObject, file: string): string[] {
  const value = config.plugin;
  if (value === undefined || value === null) return [];
  if (typeof value === "string") return [value];
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value as string[];
  throw badRequest("invalid_config", `${file}: "plugin" must be a string or an array of strings; fix it first`, {
    file,
    key: "plugin",
  });
}

/** Like configPluginSpecs, but for listing: skips what is not a string instead of failing. */
function listedSpecs(config: JsonObject): string[] {
  const value = config.plugin;
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === "string");
  return [];
}

/** Plugin file names in `dir`; only what lies inside `root` (a symlinked folder or file may lead anywhere). */
async function pluginFiles(dir: string, root: string): Promise<string[]> {
  const names: string[] = [];
  for (const e of await readListedDir(dir, root)) {
    if (!PLUGIN_FILE.test(e.name) || !(e.isFile() || e.isSymbolicLink())) continue;
    if (e.isSymbolicLink() && !(await resolvesInside(root, join(dir, e.name)))) continue;
    names.push(e.name);
  }
  return names.sort();
}

/** The global OpenCode config's plugin specs (a broken global file is skipped, not fatal). */
async function globalConfigSpecs(): Promise<string[]> {
  const dir = globalOpencodeDir();
  const specs: string[] = [];
  for (const file of ["config.json", "opencode.json", "opencode.jsonc"]) {
    try {
      const text = await readFileIfExists(join(dir, file), { root: dir, rootLabel: dir, label: file, maxBytes: FILE_LIMITS.config });
      if (text !== null) specs.push(...listedSpecs(parseJsoncObject(text, file)));
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
    }
  }
  return specs;
}

/** Every plugin, in OpenCode's load order. Global ones only when asked. */
export async function listPlugins(root: string, project: ConfigFile, includeGlobal: boolean): Promise<PluginItem[]> {
  const items: PluginItem[] = [];
  if (includeGlobal) {
    for (const spec of await globalConfigSpecs()) items.push({ spec, source: "config", scope: "global" });
  }
  for (const spec of listedSpecs(project.value)) items.push({ spec, source: "config", scope: "project" });
  if (includeGlobal) {
    const globalDir = globalOpencodeDir();
    for (const sub of PLUGIN_DIRS) {
      for (const name of await pluginFiles(join(globalDir, sub), globalDir)) {
        items.push({ spec: name, source: "dir.global", scope: "global", path: join(globalDir, sub, name) });
      }
    }
  }
  for (const sub of PLUGIN_DIRS) {
    const dir = join(root, ".opencode", sub);
    for (const name of await pluginFiles(dir, root)) {
      items.push({ spec: name, source: "dir.project", scope: "project", path: displayPath(root, join(dir, name)) });
    }
  }
  return items;
}

/** Plans adding `spec` to the project config; null (a no-op) when a spec of that name is there. */
export function planPluginAdd(current: ConfigFile, spec: string): ConfigEdit | null {
  const specs = configPluginSpecs(current.value, current.file);
  const name = normalizePluginName(spec);
  if (specs.some((s) => normalizePluginName(s) === name)) return null;
  return planProjectConfigEdit(current, { plugin: [...specs, spec] });
}

/** Plans removing every spec with the normalised name of `name`; 404 when there is none. */
export function planPluginRemove(current: ConfigFile, name: string): ConfigEdit {
  const specs = configPluginSpecs(current.value, current.file);
  const wanted = normalizePluginName(name);
  const kept = specs.filter((s) => normalizePluginName(s) !== wanted);
  if (kept.length === specs.length) {
    throw notFound(`Plugin "${name}" is not in ${current.file}`, { name });
  }
  return planProjectConfigEdit(current, { plugin: kept });
}
