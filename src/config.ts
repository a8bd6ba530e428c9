// Server settings: CLI flag > environment variable > config file > default.
// Anything invalid stops startup with a ConfigError naming the flag, variable, file or key
// (the CLI prints it and exits with code 2).
import { randomBytes, X509Certificate } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createSecureContext } from "node:tls";
import { parseArgs } from "node:util";
import { z } from "zod";
import { normalizeAllowedHost } from "./http/host-check.js";

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

/** Connection-level limits (see docs/RELIABILITY.md, "Connections"). */
export interface ConnectionLimits {
  /** Open connections one remote address may hold; more are refused at once. */
  maxPerAddress: number;
  /** Open connections in all; the last few are kept for loopback (the host itself). */
  maxTotal: number;
  /** Time to receive a request's headers (and, with TLS, to finish the handshake). */
  headersTimeoutMs: number;
  /** Time to receive a whole request, body included. Answering may take longer (approvals, SSE). */
  requestTimeoutMs: number;
}

export interface TlsSettings {
  /** Absolute paths of the PEM certificate (chain) and private key. */
  certFile: string;
  keyFile: string;
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
  /** Where scoped tokens are kept; null keeps them in memory only (in-process tests). */
  tokenStorePath: string | null;
  /** Serve HTTPS with this certificate and key; absent: plain HTTP. */
  tls?: TlsSettings;
  /**
   * Host names accepted in the `Host` header besides the addresses the server listens on
   * (DNS rebinding guard, applied by startServer); `"*"` turns the check off. Absent: none.
   */
  allowedHosts?: "*" | string[];
  /** Absent: DEFAULTS.connections. */
  connections?: ConnectionLimits;
}

export const DEFAULTS = {
  host: "127.0.0.1",
  port: 8787,
  approvalMode: "manual" as ApprovalMode,
  approvalTimeoutMs: 30_000,
  bodyLimitBytes: 1024 * 1024,
  connections: {
    maxPerAddress: 64,
    maxTotal: 512,
    headersTimeoutMs: 10_000,
    requestTimeoutMs: 60_000,
  } satisfies ConnectionLimits,
};

/** Supplied tokens shorter than this are refused: a guessable token guards every write. */
export const MIN_TOKEN_LENGTH = 16;

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
  --tls-cert FILE            Serve HTTPS with this PEM certificate (needs --tls-key)
  --tls-key FILE             Private key (PEM) of --tls-cert
  --allowed-hosts LIST|*     Extra host names accepted in the Host header, comma-separated,
                             or * to accept any (default: the addresses the server listens on)
  --token-store FILE         Scoped device tokens file (default: tokens.json beside the config file)
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
  tls: z.object({ cert: z.string().min(1), key: z.string().min(1) }).optional(),
  allowedHosts: z.union([z.literal("*"), z.array(z.string().min(1))]).optional(),
  connections: z
    .object({
      maxPerAddress: z.number().int().positive().optional(),
      maxTotal: z.number().int().positive().optional(),
      headersTimeoutMs: z.number().int().positive().optional(),
      requestTimeoutMs: z.number().int().positive().optional(),
    })
    .strict()
    .optional(),
  tokenStore: z.string().min(1).optional(),
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
        "tls-cert": { type: "string" },
        "tls-key": { type: "string" },
        "allowed-hosts": { type: "string" },
        "token-store": { type: "string" },
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

  // Where a setting came from, for error messages, and the folder its relative paths resolve
  // against (the config file's folder for file values, else the working directory).
  const pick = (flag: string, variable: string, fileKey: string, fileValue: string | undefined) => {
    const flagValue = (flags as Record<string, unknown>)[flag.slice(2)];
    if (typeof flagValue === "string") return { value: flagValue, source: flag, base: options.cwd };
    const envValue = env(e, variable);
    if (envValue !== undefined) return { value: envValue, source: variable, base: options.cwd };
    if (fileValue !== undefined) return { value: fileValue, source: `config file ${configFile} (${fileKey})`, base: fileDir };
    return undefined;
  };

  const suppliedToken = pick("--token", "OPENWORK_TOKEN", "token", file.token);
  const suppliedHostToken = pick("--host-token", "OPENWORK_HOST_TOKEN", "hostToken", file.hostToken);
  if (suppliedToken) checkSuppliedToken(suppliedToken.value, suppliedToken.source);
  if (suppliedHostToken) checkSuppliedToken(suppliedHostToken.value, suppliedHostToken.source);
  const token = suppliedToken?.value ?? generateToken();
  const hostToken = suppliedHostToken?.value ?? generateToken();
  if (token === hostToken) {
    throw new ConfigError(
      `The client token (${suppliedToken?.source}) and the host token (${suppliedHostToken?.source}) are the same: ` +
        "a client could approve its own writes. Use two different tokens.",
    );
  }

  const authorizedRoots = file.authorizedRoots?.map((root) => resolve(fileDir, root)) ?? workspaces.map((w) => w.path);

  const settings: ServerSettings = {
    host,
    port,
    token,
    hostToken,
    generated: { token: suppliedToken === undefined, hostToken: suppliedHostToken === undefined },
    approval: { mode, timeoutMs },
    workspaces,
    corsOrigins,
    authorizedRoots,
    readOnly,
    bodyLimitBytes: file.bodyLimitBytes ?? DEFAULTS.bodyLimitBytes,
    configFile: fileRead ? configFile : null,
    tokenStorePath: resolveTokenStore(pick("--token-store", "OPENWORK_TOKEN_STORE", "tokenStore", file.tokenStore), configFile),
    allowedHosts: resolveAllowedHosts(flags["allowed-hosts"], env(e, "OPENWORK_ALLOWED_HOSTS"), file.allowedHosts, configFile),
    connections: resolveConnections(file.connections, configFile),
  };
  const tls = resolveTls(
    pick("--tls-cert", "OPENWORK_TLS_CERT", "tls.cert", file.tls?.cert),
    pick("--tls-key", "OPENWORK_TLS_KEY", "tls.key", file.tls?.key),
  );
  if (tls) settings.tls = tls;
  if (opencodeAuth) settings.opencodeAuth = opencodeAuth;
  return { kind: "run", settings };
}

type Picked = { value: string; source: string; base: string } | undefined;

/** The value itself is never put in the message: supplied tokens are never printed. */
function checkSuppliedToken(value: string, source: string): void {
  const length = [...value].length;
  if (length < MIN_TOKEN_LENGTH) {
    throw new ConfigError(
      `The token from ${source} is ${length} characters long; use at least ${MIN_TOKEN_LENGTH} ` +
        "(or leave it out and one is generated).",
    );
  }
  // A stray newline from a secrets file would make the token impossible to send in a header.
  if (/[\s\p{Cc}]/u.test(value)) {
    throw new ConfigError(`The token from ${source} contains spaces or control characters (a trailing newline?).`);
  }
}

function resolveTokenStore(picked: Picked, configFile: string): string {
  const path = picked ? resolve(picked.base, picked.value) : join(dirname(configFile), "tokens.json");
  const source = picked?.source ?? "the default, beside the config file";
  const kind = fileKind(path);
  if (kind !== "missing" && kind !== "file") {
    throw new ConfigError(`Token store ${path} (from ${source}) is a ${kind}, not a file`);
  }
  const parent = fileKind(dirname(path));
  if (parent !== "missing" && parent !== "folder") {
    throw new ConfigError(`Token store ${path} (from ${source}): ${dirname(path)} is not a folder`);
  }
  return path;
}

function fileKind(path: string): "missing" | "file" | "folder" | "special file" {
  try {
    const stats = statSync(path);
    return stats.isFile() ? "file" : stats.isDirectory() ? "folder" : "special file";
  } catch (error) {
    // ENOTDIR: a path below a file; the parent check names that file.
    const code = (error as { code?: string }).code;
    if (code === "ENOENT" || code === "ENOTDIR") return "missing";
    throw new ConfigError(`Cannot check ${path}: ${(error as Error).message}`);
  }
}

function resolveAllowedHosts(
  flag: string | undefined,
  variable: string | undefined,
  fromFile: "*" | string[] | undefined,
  configFile: string,
): "*" | string[] {
  const [list, source] =
    flag !== undefined
      ? [flag.split(","), "--allowed-hosts"]
      : variable !== undefined
        ? [variable.split(","), "OPENWORK_ALLOWED_HOSTS"]
        : [fromFile === "*" ? ["*"] : (fromFile ?? []), `config file ${configFile} (allowedHosts)`];
  const entries = list.map((s) => s.trim()).filter(Boolean);
  if (entries.includes("*")) return "*";
  return entries.map((entry) => {
    const name = normalizeAllowedHost(entry);
    if (name === null) {
      throw new ConfigError(
        `${source}: "${entry}" is not a host name or address (no scheme, port or path; "*.example.com" matches subdomains)`,
      );
    }
    return name;
  });
}

function resolveConnections(fromFile: Partial<ConnectionLimits> | undefined, configFile: string): ConnectionLimits {
  const limits = { ...DEFAULTS.connections, ...fromFile };
  // Node refuses a headers timeout longer than the request timeout.
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
    throw new ConfigError(
      `Config file ${configFile}: connections.headersTimeoutMs (${limits.headersTimeoutMs}) must not exceed ` +
        `connections.requestTimeoutMs (${limits.requestTimeoutMs})`,
    );
  }
  return limits;
}

function resolveTls(cert: Picked, key: Picked): TlsSettings | undefined {
  if (!cert && !key) return undefined;
  if (!cert || !key) {
    const [given, missing] = cert
      ? [cert.source, "--tls-key / OPENWORK_TLS_KEY / tls.key"]
      : [key!.source, "--tls-cert / OPENWORK_TLS_CERT / tls.cert"];
    throw new ConfigError(`TLS needs both a certificate and a key: ${given} is set but ${missing} is not`);
  }
  const tls = { certFile: resolve(cert.base, cert.value), keyFile: resolve(key.base, key.value) };
  readTlsFiles(tls, { cert: cert.source, key: key.source });
  return tls;
}

/**
 * Reads and checks the certificate and key (a PEM certificate, a PEM key that belongs to it).
 * Throws a ConfigError naming the file and, when known, the setting it came from.
 */
export function readTlsFiles(
  tls: TlsSettings,
  sources: { cert: string; key: string } = { cert: "tls.cert", key: "tls.key" },
): { cert: Buffer; key: Buffer; certificate: X509Certificate } {
  const read = (file: string, what: string, source: string) => {
    try {
      return readFileSync(file);
    } catch (error) {
      const code = (error as { code?: string }).code;
      const reason =
        code === "ENOENT" ? "does not exist" : code === "EISDIR" ? "is a folder" : `cannot be read (${code ?? (error as Error).message})`;
      throw new ConfigError(`TLS ${what} ${file} (from ${source}) ${reason}`);
    }
  };
  const cert = read(tls.certFile, "certificate", sources.cert);
  const key = read(tls.keyFile, "key", sources.key);
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch {
    throw new ConfigError(`TLS certificate ${tls.certFile} (from ${sources.cert}) is not a PEM certificate`);
  }
  try {
    createSecureContext({ cert, key });
  } catch (error) {
    const message = (error as Error).message;
    const reason = /mismatch/i.test(message)
      ? "does not belong to the certificate"
      : /bad decrypt|passphrase|interrupted or cancelled/i.test(message)
        ? "is encrypted (use a key without a passphrase)"
        : `is not a usable PEM private key (${message})`;
    throw new ConfigError(`TLS key ${tls.keyFile} (from ${sources.key}) ${reason}`);
  }
  return { cert, key, certificate };
}
