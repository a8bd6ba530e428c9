// Server settings: CLI flag > environment variable > config file > default.
// Anything invalid stops startup with a ConfigError naming the flag, variable, file or key
// (the CLI prints it and exits with code 2).
import { randomBytes } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";

export class ConfigError extends Error {
  override name = "ConfigError";
}

export type ApprovalMode = "manual" | "auto";

export interface WorkspaceSettings {
  /** Absolute path of the workspace folder. */
  path: string;
  name?: string;
  workspaceType: "local" | "remote";
  /** The OpenCode engine serving this workspace, if any. */
  baseUrl?: string;
  directory?: string;
}

export interface ServerSettings {
  host: string;
  port: number;
  token: string;
  hostToken: string;
  /** Which tokens were generated (and so may be printed once). */
  generated: { token: boolean; hostToken: boolean };
  approval: { mode: ApprovalMode; timeoutMs: number };
  workspaces: WorkspaceSettings[];
  /** `"*"` or an allow-list of origins. */
  corsOrigins: "*" | string[];
  authorizedRoots: string[];
  readOnly: boolean;
  /** Engine HTTP basic auth, shared by every workspace's engine. */
  opencodeAuth?: { username: string; password: string };
  bodyLimitBytes: number;
  /** The config file that was read, or null when none existed. */
  configFile: string | null;
  /** Where scoped device tokens are stored; null keeps them in memory (in-process tests). */
  tokenStorePath: string | null;
}

export const DEFAULTS = {
  host: "127.0.0.1",
  port: 8787,
  approvalMode: "manual" as ApprovalMode,
  approvalTimeoutMs: 30_000,
  bodyLimitBytes: 1024 * 1024,
};

export const USAGE = `Usage: openwork-server [options]

Options:
  --workspace PATH           Workspace folder to serve (repeatable; default: current directory)
  --config FILE              Config file (default: ~/.config/openwork/server.json)
  --host HOST                Address to bind (default: ${DEFAULTS.host})
  --port N                   Port to listen on (default: ${DEFAULTS.port}; 0 picks a free port)
  --token TOKEN              Client bearer token (default: generated and printed)
  --host-token TOKEN         Host approval token (default: generated and printed)
  --approval manual|auto     Approval mode for writes (default: manual)
  --approval-timeout MS      How long a write waits for approval (default: ${DEFAULTS.approvalTimeoutMs})
  --cors LIST|*              Allowed CORS origins, comma-separated, or * (default: *)
  --read-only                Refuse every write except engine reload
  --opencode-base-url URL    OpenCode engine URL for the first workspace
  --opencode-directory DIR   Directory the engine serves for the first workspace
  --opencode-username USER   Engine basic-auth user (default: opencode)
  --opencode-password PASS   Engine basic-auth password
  --help                     Show this help
  --version                  Show the version
`;

const workspaceEntry = z.union([
  z.string().min(1),
  z.object({
    path: z.string().min(1),
    name: z.string().min(1).optional(),
    workspaceType: z.enum(["local", "remote"]).optional(),
    baseUrl: z.string().url().optional(),
    directory: z.string().min(1).optional(),
  }),
]);

const fileSchema = z.object({
  host: z.string().min(1).optional(),
  port: z.number().int().min(0).max(65535).optional(),
  token: z.string().min(1).optional(),
  hostToken: z.string().min(1).optional(),
  approval: z
    .object({
      mode: z.enum(["manual", "auto"]).optional(),
      timeoutMs: z.number().int().positive().optional(),
    })
    .optional(),
  workspaces: z.array(workspaceEntry).optional(),
  corsOrigins: z.union([z.literal("*"), z.array(z.string().min(1))]).optional(),
  authorizedRoots: z.array(z.string().min(1)).optional(),
  readOnly: z.boolean().optional(),
  bodyLimitBytes: z.number().int().positive().optional(),
  opencode: z
    .object({
      baseUrl: z.string().url().optional(),
      directory: z.string().min(1).optional(),
      username: z.string().min(1).optional(),
      password: z.string().min(1).optional(),
    })
    .optional(),
});
type FileConfig = z.infer<typeof fileSchema>;
type WorkspaceEntry = z.infer<typeof workspaceEntry>;

export interface LoadOptions {
  argv: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  home?: string;
}

export type LoadResult = { kind: "help" } | { kind: "version" } | { kind: "run"; settings: ServerSettings };

function parseFlags(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        workspace: { type: "string", multiple: true },
        config: { type: "string" },
        host: { type: "string" },
        port: { type: "string" },
        token: { type: "string" },
        "host-token": { type: "string" },
        approval: { type: "string" },
        "approval-timeout": { type: "string" },
        cors: { type: "string" },
        "read-only": { type: "boolean" },
        "opencode-base-url": { type: "string" },
        "opencode-directory": { type: "string" },
        "opencode-username": { type: "string" },
        "opencode-password": { type: "string" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "v" },
      },
    }).values;
  } catch (error) {
    throw new ConfigError(`${(error as Error).message}\nRun 'openwork-server --help' for the options.`);
  }
}

function readConfigFile(file: string, explicit: boolean): FileConfig | null {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "ENOENT" && !explicit) return null;
    if (code === "ENOENT") throw new ConfigError(`Config file ${file} does not exist`);
    throw new ConfigError(`Cannot read config file ${file}: ${(error as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`Config file ${file} is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = issue?.path.length ? issue.path.join(".") : "(top level)";
    throw new ConfigError(`Config file ${file}: invalid value for "${key}": ${issue?.message ?? "invalid"}`);
  }
  return parsed.data;
}

function parsePort(value: string, source: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 65535) {
    throw new ConfigError(`${source} must be a port number from 0 to 65535, got "${value}"`);
  }
  return Number(value);
}

function parseTimeout(value: string, source: string): number {
  if (!/^\d+$/.test(value) || Number(value) <= 0) {
    throw new ConfigError(`${source} must be a positive number of milliseconds, got "${value}"`);
  }
  return Number(value);
}

function parseMode(value: string, source: string): ApprovalMode {
  if (value !== "manual" && value !== "auto") {
    throw new ConfigError(`${source} must be "manual" or "auto", got "${value}"`);
  }
  return value;
}

function parseCors(value: string): "*" | string[] {
  const list = value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  return list.length === 0 || list.includes("*") ? "*" : list;
}

function parseBool(value: string, source: string): boolean {
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off|)$/i.test(value)) return false;
  throw new ConfigError(`${source} must be true or false, got "${value}"`);
}

function parseEnvWorkspaces(value: string): WorkspaceEntry[] {
  const trimmed = value.trim();
  if (trimmed.startsWith("[")) {
    let raw: unknown;
    try {
      raw = JSON.parse(trimmed);
    } catch (error) {
      throw new ConfigError(`OPENWORK_WORKSPACES is not a valid JSON array: ${(error as Error).message}`);
    }
    const parsed = z.array(workspaceEntry).safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ConfigError(`OPENWORK_WORKSPACES: invalid value at ${issue?.path.join(".") || "(top level)"}: ${issue?.message}`);
    }
    return parsed.data;
  }
  return trimmed
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

function generateToken(): string {
  return randomBytes(24).toString("base64url");
}

const env = (e: NodeJS.ProcessEnv, key: string): string | undefined => {
  const value = e[key];
  return value === undefined || value === "" ? undefined : value;
};

export function loadSettings(options: LoadOptions): LoadResult {
  const flags = parseFlags(options.argv);
  if (flags.help) return { kind: "help" };
  if (flags.version) return { kind: "version" };
  const e = options.env;
  const home = options.home ?? homedir();

  const explicitConfig = flags.config ?? env(e, "OPENWORK_SERVER_CONFIG");
  const configFile = explicitConfig ? resolve(options.cwd, explicitConfig) : join(home, ".config", "openwork", "server.json");
  const fileRead = readConfigFile(configFile, explicitConfig !== undefined);
  const file: FileConfig = fileRead ?? {};
  const fileDir = dirname(configFile);

  const host = flags.host ?? env(e, "OPENWORK_HOST") ?? file.host ?? DEFAULTS.host;
  // The flag, else the variable, parsed and named in errors by where it came from.
  const fromCli = <T>(parse: (value: string, source: string) => T, flag: string, variable: string): T | undefined => {
    const flagValue = (flags as Record<string, unknown>)[flag.slice(2)];
    if (typeof flagValue === "string") return parse(flagValue, flag);
    const envValue = env(e, variable);
    return envValue === undefined ? undefined : parse(envValue, variable);
  };

  const port = fromCli(parsePort, "--port", "OPENWORK_PORT") ?? file.port ?? DEFAULTS.port;
  const mode = fromCli(parseMode, "--approval", "OPENWORK_APPROVAL_MODE") ?? file.approval?.mode ?? DEFAULTS.approvalMode;
  const timeoutMs =
    fromCli(parseTimeout, "--approval-timeout", "OPENWORK_APPROVAL_TIMEOUT_MS") ?? file.approval?.timeoutMs ?? DEFAULTS.approvalTimeoutMs;
  const fileCors = file.corsOrigins === undefined || file.corsOrigins.includes("*") ? "*" : file.corsOrigins;
  const corsOrigins = fromCli(parseCors, "--cors", "OPENWORK_CORS_ORIGINS") ?? fileCors;
  const readOnly = flags["read-only"] ?? fromCli(parseBool, "--read-only", "OPENWORK_READ_ONLY") ?? file.readOnly ?? false;

  // Workspaces: the first source that names any replaces the others. Relative paths resolve
  // against the folder of whatever named them (the config file's folder, else the cwd).
  let entries: WorkspaceEntry[];
  let base = options.cwd;
  let source: string;
  if (flags.workspace?.length) {
    entries = flags.workspace;
    source = "--workspace";
  } else if (env(e, "OPENWORK_WORKSPACES") !== undefined) {
    entries = parseEnvWorkspaces(env(e, "OPENWORK_WORKSPACES")!);
    source = "OPENWORK_WORKSPACES";
  } else if (file.workspaces?.length) {
    entries = file.workspaces;
    base = fileDir;
    source = `config file ${configFile} (workspaces)`;
  } else {
    entries = [options.cwd];
    source = "current directory";
  }
  const workspaces = entries.map((entry): WorkspaceSettings => {
    const item = typeof entry === "string" ? { path: entry } : entry;
    const path = resolve(base, item.path);
    let isDir = false;
    try {
      isDir = statSync(path).isDirectory();
    } catch {}
    if (!isDir) throw new ConfigError(`Workspace ${path} (from ${source}) does not exist or is not a folder`);
    const settings: WorkspaceSettings = {
      path,
      workspaceType: "workspaceType" in item && item.workspaceType ? item.workspaceType : "local",
    };
    if ("name" in item && item.name) settings.name = item.name;
    if ("baseUrl" in item && item.baseUrl) settings.baseUrl = item.baseUrl;
    if ("directory" in item && item.directory) settings.directory = item.directory;
    return settings;
  });

  // The engine flags configure the first workspace's engine.
  const baseUrl = flags["opencode-base-url"] ?? env(e, "OPENWORK_OPENCODE_BASE_URL") ?? file.opencode?.baseUrl;
  const directory = flags["opencode-directory"] ?? env(e, "OPENWORK_OPENCODE_DIRECTORY") ?? file.opencode?.directory;
  const first = workspaces[0]!;
  if (baseUrl !== undefined) {
    if (!URL.canParse(baseUrl)) throw new ConfigError(`--opencode-base-url / OPENWORK_OPENCODE_BASE_URL is not a URL: "${baseUrl}"`);
    first.baseUrl = baseUrl;
  }
  if (directory !== undefined) first.directory = directory;

  const password = flags["opencode-password"] ?? env(e, "OPENWORK_OPENCODE_PASSWORD") ?? file.opencode?.password;
  const username = flags["opencode-username"] ?? env(e, "OPENWORK_OPENCODE_USERNAME") ?? file.opencode?.username;
  const opencodeAuth = password !== undefined ? { username: username ?? "opencode", password } : undefined;

  const suppliedToken = flags.token ?? env(e, "OPENWORK_TOKEN") ?? file.token;
  const suppliedHostToken = flags["host-token"] ?? env(e, "OPENWORK_HOST_TOKEN") ?? file.hostToken;

  const authorizedRoots = file.authorizedRoots?.map((root) => resolve(fileDir, root)) ?? workspaces.map((w) => w.path);

  const settings: ServerSettings = {
    host,
    port,
    token: suppliedToken ?? generateToken(),
    hostToken: suppliedHostToken ?? generateToken(),
    generated: { token: suppliedToken === undefined, hostToken: suppliedHostToken === undefined },
    approval: { mode, timeoutMs },
    workspaces,
    corsOrigins,
    authorizedRoots,
    readOnly,
    bodyLimitBytes: file.bodyLimitBytes ?? DEFAULTS.bodyLimitBytes,
    configFile: fileRead ? configFile : null,
    tokenStorePath: join(fileDir, "tokens.json"),
  };
  if (opencodeAuth) settings.opencodeAuth = opencodeAuth;
  return { kind: "run", settings };
}
