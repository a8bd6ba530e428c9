// Registers the contract's operations (src/contract) on the app: for each one, authentication
// and the scope it needs, the workspace a bound token may reach, validation of params, query
// and body by the operation's own schemas, and the handler. Every `/workspace/:id/...` route
// (and the few marked `mounted`) is registered a second time under `/w/:id`. In the tests,
// every JSON answer is also checked against the operation's response schema, so a route that
// answers something undocumented fails.
import { isDeepStrictEqual } from "node:util";
import type { Context, Hono, MiddlewareHandler } from "hono";
import type { z } from "zod";
import { errorBody } from "../contract/entities.js";
import { isMounted, mountedPath, OPERATION_IDS, type OperationId, ROUTES, type RouteInfo, WORKSPACE_PREFIX } from "../contract/routes.js";
import { fieldCode, type OperationSchemas, SCHEMAS } from "../contract/schemas.js";
import { type ApiError, badRequest, type ErrorCode } from "../errors.js";
import type { Logger } from "../logger.js";
import { type Access, type Authenticator, assertScope, assertWorkspace } from "./auth.js";
import { readJson } from "./body.js";
import type { AppEnv } from "./env.js";

type Schemas<K extends OperationId> = (typeof SCHEMAS)[K];
type Parsed<S> = S extends z.ZodType ? z.output<S> : undefined;

/** What a handler gets: the validated params, query and body of its operation. */
export interface OperationInput<K extends OperationId> {
  params: Schemas<K> extends { params: infer P } ? Parsed<P> : Record<string, never>;
  query: Schemas<K> extends { query: infer Q } ? Parsed<Q> : Record<string, never>;
  body: Schemas<K> extends { body: infer B } ? Parsed<B> : undefined;
  /** Who is calling and what they may reach (public routes: undefined). */
  access: Access | undefined;
  /** Under `/w/:id`, the one workspace the request is about. */
  mountedWorkspace: string | undefined;
}

/** The success answer of an operation, as the handler may return it. */
export type OperationOutput<K extends OperationId> = Schemas<K>["response"] extends z.ZodType ? z.input<Schemas<K>["response"]> : never;

export type Handler<K extends OperationId> = (
  c: Context<AppEnv>,
  input: OperationInput<K>,
) => Promise<Response | OperationOutput<K>> | Response | OperationOutput<K>;

export type Handlers = { [K in OperationId]: Handler<K> };

export interface RegisterOptions {
  auth: Authenticator;
  /**
   * For approval-gated writes, before the body is read: reserves room among the pending requests
   * (429 beyond the limits) and returns what to call once the answer is out.
   */
  admitWrite: (c: Context<AppEnv>, access: Access) => () => void;
  /** Throws 404/403 for a workspace id that is not served (mounted routes that are not per-workspace). */
  assertServed: (workspaceId: string) => void;
  logger: Logger;
  /** Check every JSON answer against its schema (tests). */
  validateResponses: boolean;
}

/** Walks a schema along an issue's path to the field it names (objects, arrays, wrappers). */
function schemaAt(schema: z.ZodType | undefined, path: PropertyKey[]): z.ZodType | undefined {
  let current: z.ZodType | undefined = schema;
  for (const key of path) {
    current = unwrap(current);
    const def = (current as { def?: { type?: string; shape?: Record<string, z.ZodType>; element?: z.ZodType } } | undefined)?.def;
    if (def?.type === "object" && typeof key === "string") current = def.shape?.[key];
    else if (def?.type === "array" && typeof key === "number") current = def.element;
    else return undefined;
  }
  return current;
}

function unwrap(schema: z.ZodType | undefined): z.ZodType | undefined {
  let current = schema;
  for (let i = 0; i < 8 && current; i++) {
    const def = (current as { def?: { type?: string; innerType?: z.ZodType; in?: z.ZodType } }).def;
    if (def?.type === "optional" || def?.type === "nullable" || def?.type === "default") current = def.innerType;
    else if (def?.type === "pipe") current = def.in;
    else break;
  }
  return current;
}

/** The first code a field along the path was registered with (`withCode`). */
function codeAlong(schema: z.ZodType | undefined, path: PropertyKey[]): ErrorCode | undefined {
  for (let depth = path.length; depth >= 1; depth--) {
    const field = schemaAt(schema, path.slice(0, depth));
    const code = field && (fieldCode(field) ?? fieldCode(unwrap(field) as z.ZodType));
    if (code) return code;
  }
  return undefined;
}

const describeIssues = (error: z.ZodError) => error.issues.map((issue) => ({ path: issue.path.join("."), message: issue.message }));

/** A body that does not match its schema: 400 with the first problem, in the field's own code. */
function bodyError(schema: z.ZodType, error: z.ZodError, body: unknown, namesItems: boolean): ApiError {
  const issues = describeIssues(error);
  const first = error.issues[0];
  const where = first && first.path.length > 0 ? ` at "${first.path.join(".")}"` : "";
  const details: Record<string, unknown> = { issues };
  // The field, within its item when the body is made of parts holding lists (an import).
  const fieldPath = namesItems && typeof first?.path[1] === "number" ? first.path.slice(2) : (first?.path ?? []);
  if (fieldPath.length > 0) details.field = fieldPath.join(".");
  // An item of a list part (an import's skills[2]) is named, as the import's own checks name it.
  const [part, index] = namesItems ? (first?.path ?? []) : [];
  if (typeof part === "string") details.part = part;
  if (typeof part === "string" && typeof index === "number") {
    details.index = index;
    const item = (body as Record<string, unknown[]>)?.[part]?.[index] as { name?: unknown } | undefined;
    if (typeof item?.name === "string") details.name = item.name.slice(0, 200);
  }
  const code = (first && codeAlong(schema, first.path)) ?? "invalid_payload";
  return badRequest(code, `Invalid request body${where}: ${first?.message ?? "invalid"}`, details);
}

function queryError(error: z.ZodError): ApiError {
  const first = error.issues[0];
  const name = String(first?.path[0] ?? "");
  const message = first?.message.includes(name) ? first.message : `Invalid query parameter "${name}": ${first?.message}`;
  return badRequest("invalid_payload", message, { parameter: name, issues: describeIssues(error) });
}

async function parseInput<K extends OperationId>(
  c: Context<AppEnv>,
  id: K,
  access: Access | undefined,
  mountedWorkspace: string | undefined,
): Promise<OperationInput<K>> {
  const schemas = SCHEMAS[id] as OperationSchemas;
  let params: unknown = {};
  if (schemas.params) {
    const result = schemas.params.safeParse(c.req.param());
    if (!result.success) throw badRequest("invalid_payload", "Invalid path parameters", { issues: describeIssues(result.error) });
    params = result.data;
  }
  let query: unknown = {};
  if (schemas.query) {
    const result = schemas.query.safeParse(c.req.query());
    if (!result.success) throw queryError(result.error);
    query = result.data;
  }
  let body: unknown;
  if (schemas.body) {
    const raw = await readJson(c);
    if (raw === undefined) throw badRequest("invalid_payload", "Request body is required");
    const result = schemas.body.safeParse(raw);
    if (!result.success) throw bodyError(schemas.body, result.error, raw, schemas.namesItems === true);
    body = result.data;
  }
  return { params, query, body, access, mountedWorkspace } as OperationInput<K>;
}

/** Test mode: an answer its schema does not describe becomes a loud 500. */
async function checkAnswer(id: OperationId, route: RouteInfo, res: Response, logger: Logger): Promise<Response> {
  const type = res.headers.get("Content-Type") ?? "";
  if (!type.startsWith("application/json")) return res;
  const schema = res.status >= 400 ? errorBody : (SCHEMAS[id] as OperationSchemas).response;
  if (!schema) return res;
  const expected = route.status ?? 200;
  let problem: unknown;
  if (res.status < 400 && res.status !== expected) problem = `status ${res.status}, documented ${expected}`;
  else {
    const raw = await res.clone().json();
    const result = schema.safeParse(raw);
    if (!result.success) problem = describeIssues(result.error);
    // zod drops fields it does not know: an answer that loses something in parsing carries an
    // undocumented field.
    else if (!isDeepStrictEqual(result.data, raw)) problem = { undocumented: undocumentedPaths(raw, result.data).slice(0, 10) };
  }
  if (problem === undefined) return res;
  logger.error({ operation: id, problem }, "response does not match its schema");
  return new Response(
    JSON.stringify({ code: "internal_error", message: `Response of ${id} does not match its schema`, details: { problem } }),
    { status: 500, headers: { "Content-Type": "application/json" } },
  );
}

/** Paths present in `raw` but missing from `parsed` (what the schema does not document). */
function undocumentedPaths(raw: unknown, parsed: unknown, at = ""): string[] {
  if (raw === null || typeof raw !== "object") return [];
  const out: string[] = [];
  for (const [key, value] of Object.entries(raw)) {
    const next = (parsed as Record<string, unknown> | null)?.[key];
    const path = at ? `${at}.${key}` : key;
    if (next === undefined && value !== undefined) out.push(path);
    else out.push(...undocumentedPaths(value, next, path));
  }
  return out;
}

export function registerOperations(app: Hono<AppEnv>, handlers: Handlers, options: RegisterOptions): void {
  for (const id of OPERATION_IDS) {
    const route: RouteInfo = ROUTES[id];
    const handler = handlers[id] as Handler<typeof id>;
    const make =
      (mounted: boolean): MiddlewareHandler<AppEnv> =>
      async (c) => {
        let access: Access | undefined;
        const workspaceId = c.req.param("id");
        if (route.scope !== "public") {
          access = options.auth.authenticate(c);
          assertScope(access, route.scope);
          c.set("access", access);
          c.set("actor", access.actor);
          if (workspaceId !== undefined && (mounted || route.path.startsWith(`${WORKSPACE_PREFIX}/`))) assertWorkspace(access, workspaceId);
          if (mounted && workspaceId !== undefined && !route.path.startsWith(`${WORKSPACE_PREFIX}/`)) options.assertServed(workspaceId);
        }
        const release = route.gated && access ? options.admitWrite(c, access) : undefined;
        try {
          const input = await parseInput(c, id, access, mounted ? workspaceId : undefined);
          const result = await handler(c, input);
          const res = result instanceof Response ? result : c.json(result as object, route.status ?? 200);
          return options.validateResponses ? await checkAnswer(id, route, res, options.logger) : res;
        } finally {
          release?.();
        }
      };
    app.on(route.method, route.path, make(false));
    if (isMounted(route)) app.on(route.method, mountedPath(route), make(true));
  }
}

/** Test mode: error answers must match the error schema (a code outside ERROR_CODES fails). */
export function checkErrorBody(body: unknown): string | null {
  const result = errorBody.safeParse(body);
  return result.success ? null : JSON.stringify(describeIssues(result.error));
}
