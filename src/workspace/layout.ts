// Where things live inside a workspace (and in the user's global OpenCode folders).
import { homedir } from "node:os";
import { join } from "node:path";

export const OPENWORK_CONFIG = ".opencode/openwork.json";
export const AUDIT_LOG = ".opencode/openwork/audit.jsonl";
export const PROJECT_CONFIG_FILES = ["opencode.jsonc", "opencode.json"] as const;

/** The user's global OpenCode config folder (XDG_CONFIG_HOME aware, like OpenCode itself). */
export function globalOpencodeDir(): string {
  const base = process.env.XDG_CONFIG_HOME || join(homedir(), ".config");
  return join(base, "opencode");
}

export function globalClaudeDir(): string {
  return join(homedir(), ".claude");
}
