// The configured workspaces, with stable ids derived from their absolute paths.
import { createHash } from "node:crypto";
import { basename } from "node:path";
import type { WorkspaceSettings } from "./config.js";
import { ApiError } from "./errors.js";
import { isInside, realpathLoose } from "./workspace/paths.js";

export interface Workspace {
  id: string;
  name: string;
  /** Absolute path of the workspace folder. */
  path: string;
  workspaceType: "local" | "remote";
  baseUrl?: string;
  directory?: string;
  /** False when the path lies outside every authorized root: listed, but never served. */
  authorized: boolean;
}

export function workspaceId(absolutePath: string): string {
  return `ws_${createHash("sha256").update(absolutePath).digest("hex").slice(0, 12)}`;
}

export class WorkspaceRegistry {
  private readonly items: Workspace[];
  private readonly byId = new Map<string, Workspace>();

  constructor(settings: WorkspaceSettings[], authorizedRoots: string[]) {
    const roots = authorizedRoots.map(realpathLoose);
    this.items = [];
    for (const s of settings) {
      const id = workspaceId(s.path);
      if (this.byId.has(id)) continue; // the same folder named twice is one workspace
      const real = realpathLoose(s.path);
      const workspace: Workspace = {
        id,
        name: s.name ?? (basename(s.path) || s.path),
        path: s.path,
        workspaceType: s.workspaceType,
        authorized: roots.some((root) => isInside(root, real)),
      };
      if (s.baseUrl) workspace.baseUrl = s.baseUrl;
      if (s.directory) workspace.directory = s.directory;
      this.items.push(workspace);
      this.byId.set(id, workspace);
    }
  }

  list(): Workspace[] {
    return this.items;
  }

  /** The workspace a request names: 404 when unknown, 403 when outside the authorized roots. */
  get(id: string): Workspace {
    const workspace = this.byId.get(id);
    if (!workspace) throw new ApiError(404, "workspace_not_found", `Unknown workspace "${id}"`);
    if (!workspace.authorized) {
      throw new ApiError(403, "workspace_unauthorized", `Workspace "${id}" is outside the authorized roots`);
    }
    return workspace;
  }
}

/** The public shape of a workspace in `GET /workspaces`. */
export function describeWorkspace(w: Workspace) {
  const opencode = w.baseUrl || w.directory ? { baseUrl: w.baseUrl, directory: w.directory } : undefined;
  return {
    id: w.id,
    name: w.name,
    path: w.path,
    workspaceType: w.workspaceType,
    ...(w.baseUrl ? { baseUrl: w.baseUrl } : {}),
    ...(w.directory ? { directory: w.directory } : {}),
    ...(opencode ? { opencode } : {}),
  };
}
