// The OpenAPI 3.1 document served at `GET /openapi.json`, built from the contract (src/contract):
// the same route table the server registers and the same zod schemas it validates with, so the
// document cannot drift from what the routes take and answer. Schemas with an id (`.meta({ id })`)
// become shared components.
import { z } from "zod";
import { errorBody } from "./contract/entities.js";
import { isMounted, mountedPath, OPERATION_IDS, type OperationId, ROUTES, type RouteInfo } from "./contract/routes.js";
import { type OperationSchemas, SCHEMAS } from "./contract/schemas.js";
import { CLIENT_ID_HEADER, HOST_TOKEN_HEADER } from "./http/auth.js";

type JsonSchema = Record<string, unknown>;

const ERROR_STATUSES: Record<number, string> = {
  400: "Bad request: `invalid_payload`, `invalid_json`, `invalid_name`, `invalid_path`, `path_escape`, `invalid_config`",
  401: "`unauthorized`: credentials missing, malformed, unknown, revoked or expired (`details.reason`)",
  403: "`insufficient_scope`, `workspace_forbidden`, `write_denied`, `read_only` or `workspace_unauthorized`",
  404: "`workspace_not_found`, `not_found` or `token_not_found`",
  409: "`opencode_busy` or `changed_since_approval`",
  412: "`conflict`: `If-Match` names a config that has changed since",
  413: "`payload_too_large`",
  415: "`unsupported_media_type`: a body that is not declared JSON",
  422: "`invalid_file`, `unprocessable` or `symlink_in_path`: a file on disk does not parse, cannot be read safely or is in the way",
  429: "`rate_limited` (too many failed authentications from this address; see `Retry-After`)",
  500: "`internal_error` (`details.errorId` names the server log entry)",
  502: "`opencode_unreachable` or `opencode_reload_failed`",
  504: "`opencode_timeout`",
};

/** Converts a schema, moving schemas with an id into `components` and pointing at them. */
function converter(components: Record<string, JsonSchema>) {
  return (schema: z.ZodType, io: "input" | "output"): JsonSchema => {
    const {
      $schema: _dialect,
      $defs,
      ...rest
    } = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as JsonSchema & {
      $defs?: Record<string, JsonSchema>;
    };
    const text = JSON.stringify(rest).replaceAll('"#/$defs/', '"#/components/schemas/');
    for (const [id, def] of Object.entries($defs ?? {})) {
      components[id] ??= JSON.parse(JSON.stringify(def).replaceAll('"#/$defs/', '"#/components/schemas/')) as JsonSchema;
    }
    const id = (z.globalRegistry.get(schema) as { id?: string } | undefined)?.id;
    if (id) {
      components[id] ??= JSON.parse(text) as JsonSchema;
      return { $ref: `#/components/schemas/${id}` };
    }
    return JSON.parse(text) as JsonSchema;
  };
}

function errorStatuses(route: RouteInfo, schemas: OperationSchemas, path: string): number[] {
  const statuses = new Set(route.errors ?? []);
  if (route.scope !== "public") {
    for (const status of [401, 403, 429, 500]) statuses.add(status);
  }
  if (path.includes("{id}") && (path.startsWith("/workspace/") || path.startsWith("/w/"))) statuses.add(404);
  if (route.method !== "GET") statuses.add(403); // denied, read-only
  if (schemas.body) for (const status of [400, 413, 415]) statuses.add(status);
  if (schemas.query) statuses.add(400);
  return [...statuses].sort((a, b) => a - b);
}

function securityOf(route: RouteInfo) {
  if (route.scope === "public") return [];
  // The host token is an owner credential wherever one is accepted; a bearer token of enough scope works too.
  return [{ bearerAuth: [] }, { hostToken: [] }];
}

/** `/workspace/:id/plugins/:name{.+}` -> `/workspace/{id}/plugins/{name}`. */
export function toOpenApiPath(honoPath: string): string {
  return honoPath.replace(/:([A-Za-z_]\w*)(\{(?:[^{}]|\{[^{}]*\})*\})?\??/g, "{$1}");
}

function operation(id: OperationId, route: RouteInfo, path: string, convert: ReturnType<typeof converter>, mounted: boolean) {
  const schemas = SCHEMAS[id] as OperationSchemas;
  const parameters: JsonSchema[] = [];
  const names = [...path.matchAll(/\{(\w+)\}/g)].map(([, name]) => name!);
  const paramSchema = schemas.params ? (convert(schemas.params, "input") as { properties?: Record<string, JsonSchema> }) : {};
  for (const name of names) {
    const schema = paramSchema.properties?.[name] ?? { type: "string", description: "A workspace id (from GET /workspaces)" };
    const { description, ...rest } = schema as JsonSchema & { description?: string };
    parameters.push({ name, in: "path", required: true, ...(description ? { description } : {}), schema: rest });
  }
  if (schemas.query) {
    const query = convert(schemas.query, "input") as { properties?: Record<string, JsonSchema>; required?: string[] };
    for (const [name, schema] of Object.entries(query.properties ?? {})) {
      const { description, ...rest } = schema as JsonSchema & { description?: string };
      parameters.push({
        name,
        in: "query",
        required: query.required?.includes(name) ?? false,
        ...(description ? { description } : {}),
        schema: rest,
      });
    }
  }
  if (id === "patchConfig") {
    parameters.push({
      name: "If-Match",
      in: "header",
      required: false,
      description: "An ETag from GET config; 412 when the config has changed since.",
      schema: { type: "string" },
    });
  }
  const content: Record<string, unknown> = {};
  if (schemas.response) content["application/json"] = { schema: convert(schemas.response, "output") };
  else content[id === "getOpenapi" ? "application/json" : "application/octet-stream"] = { schema: {} };
  if (route.stream) content["text/event-stream"] = { schema: { type: "string" } };
  const responses: Record<string, unknown> = { [String(route.status ?? 200)]: { description: route.summary, content } };
  for (const status of errorStatuses(route, schemas, path)) {
    responses[String(status)] = {
      description: ERROR_STATUSES[status] ?? "Error",
      content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
    };
  }
  return {
    operationId: mounted ? `${id}_mounted` : id,
    summary: route.summary,
    ...(route.description || mounted
      ? {
          description: [route.description, mounted ? `The same as \`${toOpenApiPath(route.path)}\`, for one workspace.` : ""]
            .filter(Boolean)
            .join(" "),
        }
      : {}),
    ...(mounted ? { tags: ["mounted"] } : {}),
    security: securityOf(route),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(schemas.body
      ? { requestBody: { required: true, content: { "application/json": { schema: convert(schemas.body, "input") } } } }
      : {}),
    responses,
  };
}

/** The methods the gateway forwards (each documented on its catch-all path). */
export const GATEWAY_METHODS = ["get", "post", "put", "patch", "delete"] as const;

/** The OpenCode gateway: a passthrough, documented once per method on each of its two paths. */
function gatewayOperations(paths: Record<string, Record<string, unknown>>): void {
  const mounts = [
    { path: "/opencode/{path}", which: "the first workspace with an engine that the credential reaches", id: "opencodeGateway" },
    { path: "/w/{id}/opencode/{path}", which: "this workspace's engine", id: "opencodeGatewayMounted" },
  ];
  const error = { content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } };
  for (const { path, which, id } of mounts) {
    paths[path] = {};
    for (const method of GATEWAY_METHODS) {
      paths[path]![method] = {
        operationId: `${id}_${method}`,
        summary: `OpenCode gateway: forwarded to ${which}`,
        description:
          "Forwarded to the engine route `/{path}` (which may hold `/`) once the scope policy allows it: viewers read; collaborators " +
          "also drive sessions and answer permission prompts and questions; only owners reach what changes the engine's config or " +
          "the machine (see README, OpenCode gateway). Request and answer are the engine's own (its API description); answers stream " +
          "(SSE on `/event` and `/global/event`). The caller's credentials never reach the engine.",
        tags: ["gateway"],
        security: [{ bearerAuth: [] }, { hostToken: [] }],
        parameters: [
          ...(path.startsWith("/w/")
            ? [{ name: "id", in: "path", required: true, description: "A workspace id", schema: { type: "string" } }]
            : []),
          { name: "path", in: "path", required: true, description: "The engine path", schema: { type: "string" } },
        ],
        responses: {
          "200": {
            description: "The engine's answer, streamed",
            content: { "application/json": { schema: {} }, "text/event-stream": { schema: { type: "string" } } },
          },
          "400": { description: "`opencode_not_configured`, `invalid_path` or `path_escape`", ...error },
          "401": { description: ERROR_STATUSES[401], ...error },
          "403": {
            description: "`proxy_forbidden` (the approval-gated route to use is named), `insufficient_scope`, `workspace_forbidden`",
            ...error,
          },
          "413": { description: ERROR_STATUSES[413], ...error },
          "502": { description: "`opencode_unreachable`", ...error },
          "504": { description: "`opencode_timeout`", ...error },
        },
      };
    }
  }
}

export function buildOpenApiDocument(version: string) {
  const components: Record<string, JsonSchema> = {};
  const convert = converter(components);
  convert(errorBody, "output");
  const paths: Record<string, Record<string, unknown>> = {};
  const add = (path: string, method: string, op: unknown) => {
    paths[path] ??= {};
    paths[path]![method.toLowerCase()] = op;
  };
  for (const id of OPERATION_IDS) {
    const route: RouteInfo = ROUTES[id];
    add(toOpenApiPath(route.path), route.method, operation(id, route, toOpenApiPath(route.path), convert, false));
  }
  for (const id of OPERATION_IDS) {
    const route: RouteInfo = ROUTES[id];
    if (!isMounted(route)) continue;
    const path = toOpenApiPath(mountedPath(route));
    add(path, route.method, operation(id, route, path, convert, true));
  }
  gatewayOperations(paths);
  return {
    openapi: "3.1.0",
    info: {
      title: "openwork-server",
      version,
      description:
        "Lets remote OpenWork clients manage an OpenCode workspace, with host approval, an audit log and engine reload. " +
        `\`${CLIENT_ID_HEADER}\` (optional, self-declared) names the client in audit entries. Bodies are JSON. ` +
        "Every `/workspace/{id}/...` route is also mounted at `/w/{id}/...` (tag `mounted`), so one base URL can be shared for one workspace.",
    },
    tags: [
      { name: "mounted", description: "The same operations, mounted under `/w/{id}` for one workspace" },
      { name: "gateway", description: "The OpenCode engine's own API, forwarded under the scope policy" },
    ],
    paths,
    components: {
      securitySchemes: {
        bearerAuth: {
          type: "http",
          scheme: "bearer",
          description: "A scoped device token (`owt_...`, its own scope) or the server's client token (collaborator)",
        },
        hostToken: { type: "apiKey", in: "header", name: HOST_TOKEN_HEADER, description: "The host token (owner)" },
      },
      schemas: components,
    },
  };
}

/** The document as the bytes `GET /openapi.json` sends, built once per version. */
const built = new Map<string, Uint8Array>();
export function openApiBytes(version: string): Uint8Array {
  let bytes = built.get(version);
  if (!bytes) {
    bytes = new TextEncoder().encode(JSON.stringify(buildOpenApiDocument(version)));
    built.set(version, bytes);
  }
  return bytes;
}
