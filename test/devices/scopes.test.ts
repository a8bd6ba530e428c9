// Every kind of credential against every route of the contract, table-driven over ROUTES (and
// each route's /w/:id mount), so a route added to the contract is covered without touching this
// file. A credential below the route's scope gets 403 `insufficient_scope` with
// `details.required`, and the handler never ran: no file changed, no audit entry, no event, no
// token created or revoked. A credential at or above it gets through to the handler.
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { isMounted, mountedPath, OPERATION_IDS, type OperationId, ROUTES, type RouteInfo } from "../../src/contract/routes.js";
import { scopeCovers } from "../../src/services/tokens.js";
import { createHarness, type Harness, json, snapshot } from "../helpers/harness.js";
import { credentials, type Kind, mint, send } from "./helpers.js";

/** Each kind of credential and the scope it must act with. */
const KINDS: Array<{ kind: Kind; scope: "viewer" | "collaborator" | "owner" }> = [
  { kind: "viewer", scope: "viewer" },
  { kind: "collaborator", scope: "collaborator" },
  { kind: "owner", scope: "owner" },
  { kind: "legacy", scope: "collaborator" },
  { kind: "host", scope: "owner" },
];

/** Names the seeded fixture holds, so a delete that slipped through would change a file. */
const SEEDED = { skill: "seeded-skill", command: "seeded-command", plugin: "seeded-plugin", mcp: "seeded-mcp", agent: "seeded-agent" };

interface Sample {
  params?: Record<string, string>;
  body?: (n: number, workspaceId: string) => unknown;
  /** The status an allowed caller gets (default: any 2xx). */
  status?: number;
}

/**
 * A request per operation that does something when it runs (a write lands, a delete removes a
 * seeded item). An operation without a sample is still covered: path parameters default to "x"
 * and the body to `{}`; the check that a lower scope is refused needs neither.
 */
const SAMPLES: Partial<Record<OperationId, Sample>> = {
  createToken: { body: (n) => ({ scope: "viewer", label: `made by the table ${n}` }), status: 201 },
  deleteToken: { params: { id: "tok_unknown" }, status: 404 },
  // A token this server never issued: the handler answers that it has none like it.
  pairingQr: { body: () => ({ url: "http://192.168.1.20:8787", token: `owt_${"C".repeat(32)}` }), status: 404 },
  replyApproval: { params: { id: "apr_unknown" }, body: () => ({ reply: "deny" }), status: 404 },
  patchConfig: { body: (n) => ({ opencode: { theme: `theme-${n}` } }) },
  addPlugin: { body: (n) => ({ spec: `plugin-${n}` }) },
  removePlugin: { params: { name: SEEDED.plugin } },
  addMcp: { body: (n) => ({ name: `mcp-${n}`, config: { type: "local", command: ["echo", String(n)] } }) },
  removeMcp: { params: { name: SEEDED.mcp } },
  getSkill: { params: { name: SEEDED.skill } },
  upsertSkill: { body: (n) => ({ name: `skill-${n}`, content: `# Skill ${n}\n\nDoes thing ${n}.\n` }) },
  deleteSkill: { params: { name: SEEDED.skill } },
  upsertCommand: { body: (n) => ({ name: `command-${n}`, template: `Run ${n}` }) },
  deleteCommand: { params: { name: SEEDED.command } },
  previewImport: { body: (n) => ({ opencode: { imported: n } }) },
  importWorkspace: { body: (n) => ({ opencode: { imported: n } }) },
  // No engine is configured: the handler itself answers that.
  reloadEngine: { status: 400 },
  getAgent: { params: { name: SEEDED.agent } },
  upsertAgent: { body: (n) => ({ name: `agent-${n}`, description: `Agent ${n}`, prompt: `Do ${n}` }) },
  deleteAgent: { params: { name: SEEDED.agent } },
  createGrant: { body: (_n, workspaceId) => ({ tokenId: "legacy", workspaceId, actions: ["skills.upsert"], ttlMs: 60_000 }), status: 201 },
  deleteGrant: { params: { id: "grt_unknown" }, status: 404 },
};

/** What each operation is, for the test names: read, write, approvals, tokens, host. */
function group(route: RouteInfo): string {
  if (route.scope === "public") return "public";
  if (route.path.startsWith("/tokens")) return "tokens";
  if (route.path.startsWith("/approvals")) return "approvals";
  if (route.path.startsWith("/host")) return "host";
  return route.scope === "viewer" ? "read" : route.scope === "collaborator" ? "write" : "owner";
}

describe("every route against every kind of credential", () => {
  let h: Harness;
  const tokens: Partial<Record<Kind, string>> = {};
  let counter = 0;

  /** Puts the seeded items back (an allowed delete removed them). */
  async function seed() {
    await writeFile(
      join(h.root, "opencode.json"),
      `${JSON.stringify({ plugin: [SEEDED.plugin], mcp: { [SEEDED.mcp]: { type: "local", command: ["echo"] } } }, null, 2)}\n`,
    );
    await mkdir(join(h.root, ".opencode/skills", SEEDED.skill), { recursive: true });
    await writeFile(
      join(h.root, ".opencode/skills", SEEDED.skill, "SKILL.md"),
      `---\nname: ${SEEDED.skill}\ndescription: A seeded skill\n---\nBody\n`,
    );
    await mkdir(join(h.root, ".opencode/commands"), { recursive: true });
    await writeFile(join(h.root, ".opencode/commands", `${SEEDED.command}.md`), "---\ndescription: seeded\n---\nDo it\n");
    await mkdir(join(h.root, ".opencode/agents"), { recursive: true });
    await writeFile(join(h.root, ".opencode/agents", `${SEEDED.agent}.md`), "---\ndescription: A seeded agent\n---\nHelp.\n");
  }

  before(async () => {
    h = await createHarness();
    for (const { kind, scope } of KINDS) {
      if (kind === "legacy" || kind === "host") continue;
      tokens[kind] = (await mint(h, { scope, label: `table ${kind}` })).token;
    }
  });
  after(() => h.close());

  const state = async () => ({
    files: await snapshot(h.root),
    cursor: h.services.events.cursor,
    tokens: JSON.stringify(h.services.tokens.list().map((t) => t.id)),
  });

  test("the table covers the whole contract, every scope and every group", () => {
    const scopes = new Set(Object.values(ROUTES).map((r) => r.scope));
    assert.deepEqual([...scopes].sort(), ["collaborator", "owner", "public", "viewer"]);
    const groups = new Set(Object.values(ROUTES).map(group));
    for (const g of ["read", "write", "approvals", "tokens"]) assert.ok(groups.has(g), g);
    for (const id of Object.keys(SAMPLES)) assert.ok(id in ROUTES, `sample for unknown operation ${id}`);
  });

  for (const id of OPERATION_IDS) {
    const route: RouteInfo = ROUTES[id];
    if (route.scope === "public") continue;
    const sample = SAMPLES[id] ?? {};
    const paths = [route.path, ...(isMounted(route) ? [mountedPath(route)] : [])];
    for (const template of paths) {
      for (const { kind, scope } of KINDS) {
        const allowed = scopeCovers(scope, route.scope);
        const name = `${group(route)}: ${route.method} ${template} as ${kind} (${scope}) -> ${allowed ? "runs" : `403, needs ${route.scope}`}`;
        test(name, async () => {
          await seed();
          const n = ++counter;
          const path = template.replace(/:(\w+)(\{[^}]*\})?/g, (_, param: string) => {
            if (param === "id" && (template.startsWith("/workspace/") || template.startsWith("/w/"))) return h.wsId;
            return encodeURIComponent(sample.params?.[param] ?? "x");
          });
          const body = route.method === "GET" || route.method === "DELETE" ? undefined : (sample.body?.(n, h.wsId) ?? {});
          const before = await state();
          const res = await send(h, route.method, path, { headers: credentials(kind, tokens), body });
          const out = await json(res);
          if (!allowed) {
            assert.equal(res.status, 403, JSON.stringify(out));
            assert.equal(out.code, "insufficient_scope");
            assert.equal(out.details.required, route.scope);
            assert.equal(out.details.scope, scope);
            assert.deepEqual(await state(), before, "the handler must not have run");
            return;
          }
          assert.notEqual(res.status, 401, JSON.stringify(out));
          assert.ok(!(res.status === 403 && ["insufficient_scope", "workspace_forbidden"].includes(out.code)), JSON.stringify(out));
          if (sample.status !== undefined) assert.equal(res.status, sample.status, JSON.stringify(out));
          else assert.ok(res.status >= 200 && res.status < 300, `${res.status} ${JSON.stringify(out)}`);
        });
      }
      test(`${group(route)}: ${route.method} ${template} without a credential -> 401 missing`, async () => {
        const path = template.replace(/:(\w+)(\{[^}]*\})?/g, (_, param: string) => (param === "id" ? h.wsId : "x"));
        const res = await send(h, route.method, path, { body: route.method === "GET" || route.method === "DELETE" ? undefined : {} });
        assert.equal(res.status, 401);
        assert.equal((await json(res)).details.reason, "missing");
      });
    }
  }
});

describe("owner-only parts of read routes", () => {
  let h: Harness;
  const tokens: Partial<Record<Kind, string>> = {};
  before(async () => {
    h = await createHarness();
    tokens.viewer = (await mint(h, { scope: "viewer" })).token;
    tokens.collaborator = (await mint(h, { scope: "collaborator" })).token;
    tokens.owner = (await mint(h, { scope: "owner" })).token;
  });
  after(() => h.close());

  for (const suffix of ["/skills?includeGlobal=true", "/plugins?includeGlobal=true", "/commands?scope=global"]) {
    for (const { kind, scope } of KINDS) {
      const allowed = scope === "owner";
      test(`GET ${suffix} as ${kind} -> ${allowed ? 200 : "403 insufficient_scope"}`, async () => {
        const res = await send(h, "GET", h.ws(suffix), { headers: credentials(kind, tokens) });
        const out = await json(res);
        if (allowed) assert.equal(res.status, 200, JSON.stringify(out));
        else {
          assert.equal(res.status, 403);
          assert.equal(out.code, "insufficient_scope");
          assert.equal(out.details.required, "owner");
        }
      });
    }
  }
});
