// The write actions (audit `action`, approval `action`, what a grant covers) and the longest a
// grant may last. Plain data, shared by the contract and the services.

export const WRITE_ACTIONS = [
  "config.patch",
  "plugins.add",
  "plugins.remove",
  "skills.upsert",
  "skills.delete",
  "mcp.add",
  "mcp.remove",
  "commands.upsert",
  "commands.delete",
  "agents.upsert",
  "agents.delete",
  "config.import",
  "engine.reload",
] as const;
export type WriteAction = (typeof WRITE_ACTIONS)[number];

export const MAX_GRANT_TTL_MS = 60 * 60 * 1000;
