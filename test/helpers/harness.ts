// Builds an in-process app over a temporary workspace, with helpers to call it like a client.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { createApp } from "../../src/app.js";
import { createClient, type OpenworkClient } from "../../src/client/index.js";
import type { ServerSettings } from "../../src/config.js";
import { createServices, type Services, type ServicesOptions } from "../../src/services/index.js";
import { workspaceId } from "../../src/workspaces.js";

export const TOKEN = "client-token-for-tests";
export const HOST_TOKEN = "host-token-for-tests";

export async function tempDir(prefix = "ows-"): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export interface Harness {
  app: ReturnType<typeof createApp>;
  services: Services;
  root: string;
  wsId: string;
  /** Client request with the bearer token (JSON body when `body` is given). */
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Response>;
  /** Host request with only the host token. */
  host(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Response>;
  /** `/workspace/<id>` + suffix. */
  ws(suffix: string): string;
  /** The published client over `app.request`, with the client token (a collaborator). */
  client: OpenworkClient;
  /** The published client over `app.request`, with only the host token (owner). */
  hostClient: OpenworkClient;
  close(): Promise<void>;
}

/** Server settings for tests: one workspace at `root`, known tokens, auto approval. */
export function testSettings(root: string, overrides: Partial<ServerSettings> = {}): ServerSettings {
  return {
    host: "127.0.0.1",
    port: 0,
    token: TOKEN,
    hostToken: HOST_TOKEN,
    generated: { token: false, hostToken: false },
    approval: { mode: "auto", timeoutMs: 30_000 },
    workspaces: [{ path: root, workspaceType: "local" }],
    corsOrigins: "*",
    authorizedRoots: [root],
    readOnly: false,
    bodyLimitBytes: 1024 * 1024,
    configFile: null,
    tokenStorePath: null,
    ...overrides,
  };
}

export async function createHarness(
  overrides: Partial<ServerSettings> = {},
  options: { root?: string; services?: ServicesOptions } = {},
): Promise<Harness> {
  const root = options.root ?? (await tempDir());
  const settings = testSettings(root, overrides);
  const services = createServices(settings, undefined, options.services);
  const app = createApp(services);
  const send =
    (auth: Record<string, string>) =>
    (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
      const init: RequestInit = { method, headers: { ...auth, ...headers } };
      if (body !== undefined) {
        init.body = typeof body === "string" ? body : JSON.stringify(body);
        (init.headers as Record<string, string>)["Content-Type"] ??= "application/json";
      }
      return Promise.resolve(app.request(path, init));
    };
  const wsId = workspaceId(settings.workspaces[0]!.path);
  const fetch = (url: string, init: RequestInit) => app.request(url, init);
  return {
    app,
    services,
    root,
    wsId,
    call: send({ Authorization: `Bearer ${TOKEN}` }),
    host: send({ "X-OpenWork-Host-Token": HOST_TOKEN }),
    ws: (suffix: string) => `/workspace/${wsId}${suffix}`,
    client: createClient({ baseUrl: "http://localhost", token: TOKEN, fetch }),
    hostClient: createClient({ baseUrl: "http://localhost", hostToken: HOST_TOKEN, fetch }),
    async close() {
      await services.close();
      if (!options.root) await rm(root, { recursive: true, force: true });
    },
  };
}

/** A temp folder for workspaces that sit beside a file no request may touch. */
export interface Sandbox {
  parent: string;
  /** `<parent>/outside.txt`, holding "outside\n". */
  outside: string;
  /** A harness over the new folder `<parent>/<name>` (the caller closes it). */
  workspace(name?: string, overrides?: Partial<ServerSettings>): Promise<Harness>;
  /** Removes the parent folder (close the harnesses first). */
  close(): Promise<void>;
}

export async function createSandbox(prefix = "ows-sandbox-"): Promise<Sandbox> {
  const parent = await tempDir(prefix);
  const outside = join(parent, "outside.txt");
  await writeFile(outside, "outside\n");
  return {
    parent,
    outside,
    async workspace(name = "ws", overrides = {}) {
      const root = join(parent, name);
      await mkdir(root, { recursive: true });
      return createHarness(overrides, { root });
    },
    close: () => rm(parent, { recursive: true, force: true }),
  };
}

/**
 * Every file below `root` (relative path -> content), for byte-identical before/after checks. The
 * audit log is left out: every request that reaches a decision is audited, denied ones too (check
 * it with `auditEntries`).
 */
export async function snapshot(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function walk(dir: string) {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile() && !full.endsWith(AUDIT_FILE)) out[relative(root, full)] = await readFile(full, "utf8");
    }
  }
  try {
    await stat(root);
    await walk(root);
  } catch {}
  return out;
}

const AUDIT_FILE = join(".opencode", "openwork", "audit.jsonl");

/** The audit log of a workspace folder, oldest first ([] when there is none). */
export async function auditEntries(root: string): Promise<any[]> {
  let text = "";
  try {
    text = await readFile(join(root, AUDIT_FILE), "utf8");
  } catch {}
  return text
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

export async function json<T = any>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

/** Writes `text` to `file`, creating its folders. */
export async function putFile(file: string, text: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, text);
}

/** Asserts an error answer: its status, its code, a message and no stack trace. Returns the body. */
export async function expectError(res: Response, status: number, code: string) {
  assert.equal(res.status, status, `expected ${status} ${code}`);
  const body = await json(res);
  assert.equal(body.code, code, JSON.stringify(body));
  assert.equal(typeof body.message, "string");
  assert.ok(!/\bat .+:\d+:\d+/.test(JSON.stringify(body)), "no stack trace");
  return body;
}

/** Polls `check` until it returns a truthy value or `ms` pass. */
export async function waitFor<T>(check: () => T | Promise<T>, ms = 5000, step = 20): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error("waitFor: timed out");
    await new Promise((r) => setTimeout(r, step));
  }
}
