// Listings (skills, commands, agents, plugins, MCP) and the config read, cached per workspace as the exact
// response bytes (serialised and UTF-8 encoded once), so a read of a workspace with thousands of
// skills costs no disk I/O and no serialisation. Our own writes and the file watcher invalidate
// entries; each entry also expires after `ttlMs` as a safety net for sources no watcher sees
// (parent folders, global folders, `.opencode/openwork.json`).
export type ListingKind = "skills" | "commands" | "plugins" | "mcp" | "config" | "agents";

export interface CachedResponse {
  body: Uint8Array<ArrayBuffer>;
  etag?: string;
}

interface Entry {
  body: Promise<CachedResponse>;
  expires: number;
  generation: number;
}

export class ListingCache {
  private readonly entries = new Map<string, Entry>();
  /** Bumped by every invalidation, so a load that raced one is not stored. */
  private readonly generations = new Map<string, number>();

  constructor(private readonly ttlMs = 2000) {}

  private key(workspaceId: string, kind: ListingKind, variant: string): string {
    return `${workspaceId}\0${kind}\0${variant}`;
  }

  private generation(workspaceId: string, kind: ListingKind): number {
    return this.generations.get(`${workspaceId}\0${kind}`) ?? 0;
  }

  /**
   * The cached body, or the result of `load` serialised. Concurrent misses share one load, and a
   * load that an invalidation overtook is not kept.
   */
  get(
    workspaceId: string,
    kind: ListingKind,
    variant: string,
    load: () => Promise<{ json: unknown; etag?: string }>,
  ): Promise<CachedResponse> {
    const key = this.key(workspaceId, kind, variant);
    const now = Date.now();
    const generation = this.generation(workspaceId, kind);
    const hit = this.entries.get(key);
    if (hit && hit.expires > now && hit.generation === generation) return hit.body;
    const body = load().then(({ json, etag }) => {
      const bytes = new TextEncoder().encode(JSON.stringify(json));
      return etag === undefined ? { body: bytes } : { body: bytes, etag };
    });
    const entry: Entry = { body, expires: now + this.ttlMs, generation };
    this.entries.set(key, entry);
    body.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key); // errors are not cached
    });
    return body;
  }

  invalidate(workspaceId: string, kinds: readonly ListingKind[] = ["skills", "commands", "plugins", "mcp", "config", "agents"]): void {
    for (const kind of kinds) {
      const gen = `${workspaceId}\0${kind}`;
      this.generations.set(gen, (this.generations.get(gen) ?? 0) + 1);
    }
  }

  clear(): void {
    this.entries.clear();
    this.generations.clear();
  }
}

/** Which listings a change of the given reload reason can affect. */
export function kindsForReason(reason: string): ListingKind[] {
  switch (reason) {
    case "skills":
      return ["skills"];
    case "commands":
      return ["commands"];
    case "plugins":
      return ["plugins"];
    case "mcp":
      return ["mcp"];
    case "agents":
      return ["agents"];
    case "config":
      // The config holds plugin specs, MCP servers, `command` and `agent` entries and `tools.deny`.
      return ["config", "plugins", "mcp", "commands", "skills", "agents"];
    default:
      return [];
  }
}
