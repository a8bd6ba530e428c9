// The workspace config as one unit: read both files, and plan/apply a PATCH that replaces
// top-level keys of the OpenCode config and shallow-merges OpenWork's own block.
import { ApiError } from "../errors.js";
import {
  assertEditKeyCount,
  type ConfigFile,
  configEtag,
  type JsonObject,
  planKeyEdit,
  planProjectConfigEdit,
  readOpenworkConfig,
  readProjectConfig,
  writeConfigText,
} from "./opencode-config.js";

export interface WorkspaceConfig {
  project: ConfigFile;
  openwork: ConfigFile;
  etag: string;
}

export async function readWorkspaceConfig(root: string): Promise<WorkspaceConfig> {
  const [project, openwork] = await Promise.all([readProjectConfig(root), readOpenworkConfig(root)]);
  return { project, openwork, etag: configEtag(project, openwork) };
}

export interface ConfigPatch {
  opencode?: JsonObject;
  openwork?: JsonObject;
}

/** `null` in a patch removes the key; anything else replaces it whole. */
const toChanges = (patch: JsonObject): JsonObject =>
  Object.fromEntries(Object.entries(patch).map(([k, v]) => [k, v === null ? undefined : v]));

export interface PlannedConfigEdit {
  writes: Array<{ file: ConfigFile; text: string }>;
}

/** Computes the new file texts (validated), or throws 412/400/422. Writes nothing. */
export function planConfigPatch(current: WorkspaceConfig, patch: ConfigPatch, ifMatch?: string): PlannedConfigEdit {
  if (ifMatch !== undefined && !etagMatches(ifMatch, current.etag)) {
    throw new ApiError(412, "conflict", "The config changed since it was read (If-Match does not match)", {
      etag: current.etag,
    });
  }
  assertEditKeyCount(patch.opencode, "opencode");
  assertEditKeyCount(patch.openwork, "openwork");
  const writes: PlannedConfigEdit["writes"] = [];
  if (patch.opencode && Object.keys(patch.opencode).length > 0) {
    const { text } = planProjectConfigEdit(current.project, toChanges(patch.opencode));
    writes.push({ file: current.project, text });
  }
  if (patch.openwork && Object.keys(patch.openwork).length > 0) {
    const { text } = planKeyEdit(current.openwork, toChanges(patch.openwork));
    writes.push({ file: current.openwork, text });
  }
  return { writes };
}

export async function applyConfigEdit(plan: PlannedConfigEdit): Promise<void> {
  for (const { file, text } of plan.writes) await writeConfigText(file, text);
}

/** If-Match may list several tags or `*`; weak tags compare by value. */
function etagMatches(header: string, etag: string): boolean {
  const wanted = header.split(",").map((t) => t.trim().replace(/^W\//, ""));
  return wanted.includes("*") || wanted.includes(etag);
}
