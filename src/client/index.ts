// openwork-server/client: a typed, fetch-based client with one method per operation of the
// contract. The methods are made at run time from the route table (src/contract/routes.ts, plain
// data), so a route added to the contract is a method here without a change; the types come from
// the contract's zod schemas through type-only imports, so nothing but the route table ships.
// Web APIs only: it runs in browsers, Bun and Node.
//
//   const ow = createClient({ baseUrl: "http://127.0.0.1:8787", token });
//   const { items } = await ow.listSkills({ id: "ws_...", query: { includeGlobal: false } });
//   const ws = ow.workspace("ws_...");          // the same operations under /w/ws_..., id bound
//   for await (const event of ws.streamEvents({ signal })) ...
import { isMounted, MOUNT_PREFIX, mountedPath, OPERATION_IDS, type OperationId, ROUTES, type RouteInfo } from "../contract/routes.js";
import { errorFromResponse, OpenworkError } from "./errors.js";
import { readStream, type StreamOptions } from "./sse.js";
import type {
  ApiResponse,
  ApprovalStreamEvent,
  Args,
  MountedOperationId,
  OperationInput,
  OperationMethods,
  OperationResult,
  ReloadEvent,
  WorkspaceInput,
  WorkspaceMethods,
} from "./types.js";

export { OpenworkError, type OpenworkErrorCode, parseRetryAfter } from "./errors.js";
export { type ReconnectOptions, type SseMessage, SseParser, type StreamOptions } from "./sse.js";
export type * from "./types.js";
export { OPERATION_IDS, ROUTES };

/** What the client calls to send a request (the global fetch by default). */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response> | Response;

export interface ClientOptions {
  /**
   * The server's URL (`http://127.0.0.1:8787`), or a one-workspace URL ending in `/w/<id>`
   * (`http://host:8787/w/ws_abc`): then `workspace()` is that workspace, and the other methods
   * go to the server root in front of `/w/<id>`.
   */
  baseUrl: string;
  /** A bearer token: a scoped `owt_...` token or the server's client token. */
  token?: string;
  /** The host token (owner), sent as `X-OpenWork-Host-Token`; may go along with `token`. */
  hostToken?: string;
  /** Names this client in approvals and audit entries (`X-OpenWork-Client-Id`, self-declared). */
  clientId?: string;
  /** Headers for every request. */
  headers?: Record<string, string>;
  /** Another fetch (a test's `app.request`, a fetch with a proxy agent...). */
  fetch?: FetchLike;
}

/** The live events stream: options, and `since` (a seq) to start after. */
export interface EventStreamOptions extends StreamOptions {
  /**
   * Start after this seq. Without it the stream starts at the server's current cursor, read when
   * the iteration starts, so nothing after that moment is missed across reconnections.
   */
  since?: number;
}

export interface OpenworkClient extends OperationMethods {
  /** The server root the requests go to (a `/w/<id>` suffix of the given URL removed). */
  readonly baseUrl: string;
  /** The workspace of a `/w/<id>` base URL, if that is what was given. */
  readonly workspaceId: string | undefined;
  /** The workspace operations for one workspace, through its `/w/<id>` mount, its id filled in. */
  workspace(id?: string): WorkspaceClient;
  /** Any operation by id, answering with its status and headers too. */
  request<K extends OperationId>(operation: K, ...args: Args<OperationInput<K>>): Promise<ApiResponse<OperationResult<K>>>;
  /**
   * `GET /workspace/:id/events` as a live stream of reload events, reconnecting with
   * `Last-Event-ID` after a drop so no event is missed or repeated. Ends when `signal` aborts or
   * the loop breaks; throws an OpenworkError for an answer that retrying will not fix (401, 404).
   */
  streamEvents(options: EventStreamOptions & { id: string }): AsyncIterableIterator<ReloadEvent>;
  /**
   * `GET /approvals` as a live stream (owner): a `snapshot` of the pending requests first (again
   * after every reconnection: replace your list), then `requested` and `resolved` events.
   */
  streamApprovals(options?: StreamOptions): AsyncIterableIterator<ApprovalStreamEvent>;
  /**
   * The OpenCode engine's own API through the gateway (`/opencode/<path>`, the first workspace
   * with an engine this credential reaches), with this client's credentials: the engine's answer
   * as it is (a Response, which may be a live event stream).
   */
  opencode(path: string, init?: RequestInit): Promise<Response>;
}

export interface WorkspaceClient extends WorkspaceMethods {
  readonly id: string;
  /** `<server>/w/<id>`: the URL to share for this one workspace. */
  readonly baseUrl: string;
  request<K extends MountedOperationId>(operation: K, ...args: Args<WorkspaceInput<K>>): Promise<ApiResponse<OperationResult<K>>>;
  streamEvents(options?: EventStreamOptions): AsyncIterableIterator<ReloadEvent>;
  /** The engine's own API for this workspace (`/w/<id>/opencode/<path>`). */
  opencode(path: string, init?: RequestInit): Promise<Response>;
}

/** Helper names on the clients: an operation id may never take one of them. */
export const CLIENT_HELPERS = [
  "baseUrl",
  "workspaceId",
  "workspace",
  "request",
  "streamEvents",
  "streamApprovals",
  "opencode",
  "id",
] as const;

const PARAM = /:([A-Za-z_]\w*)(\{(?:[^{}]|\{[^{}]*\})*\})?\??/g;
const MOUNTED_BASE = /^(.*)\/w\/([^/?#]+)\/*$/;

/** A route's parameter names, in order (`/workspace/:id/plugins/:name{.+}` -> id, name). */
export function pathParams(path: string): string[] {
  return [...path.matchAll(PARAM)].map((match) => match[1]!);
}

function fillPath(path: string, params: Record<string, unknown>, operation: string): string {
  return path.replace(PARAM, (_match, name: string) => {
    const value = params[name];
    if ((typeof value !== "string" && typeof value !== "number") || value === "") {
      throw new TypeError(`${operation}: the path parameter "${name}" is required`);
    }
    // URLs resolve `.` and `..` segments (encoded or not): the request would reach another route.
    if (value === "." || value === "..") throw new TypeError(`${operation}: the path parameter "${name}" cannot be "${value}"`);
    return encodeURIComponent(String(value));
  });
}

function queryString(query: unknown): string {
  if (query === undefined || query === null) return "";
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query as Record<string, unknown>)) {
    if (value === undefined || value === null) continue;
    search.append(key, typeof value === "string" ? value : String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

interface Target {
  /** Where the operation's path starts (the server root, or `<root>/w/<id>` for the mount). */
  prefix: string;
  /** The path to fill (the route's, or its mounted form without the `/w/:id` part). */
  path(route: RouteInfo): string;
}

export function createClient(options: ClientOptions): OpenworkClient {
  const given = options.baseUrl.replace(/\/+$/, "");
  const mounted = MOUNTED_BASE.exec(given);
  const root = mounted ? mounted[1]! : given;
  const mountedId = mounted ? decodeURIComponent(mounted[2]!) : undefined;
  // Called as a plain function: a browser's fetch must not be called as a method of another object.
  const fetcher: FetchLike = options.fetch ?? ((url, init) => globalThis.fetch(url, init));

  const baseHeaders = (): Record<string, string> => {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (options.token) headers.Authorization = `Bearer ${options.token}`;
    if (options.hostToken) headers["X-OpenWork-Host-Token"] = options.hostToken;
    if (options.clientId) headers["X-OpenWork-Client-Id"] = options.clientId;
    return { ...headers, ...options.headers };
  };

  const url = (target: Target, operation: OperationId, input: Record<string, unknown>, query: unknown) => {
    const route: RouteInfo = ROUTES[operation];
    return `${target.prefix}${fillPath(target.path(route), input, operation)}${queryString(query)}`;
  };

  async function send<K extends OperationId>(target: Target, operation: K, given?: OperationInput<K>) {
    const route: RouteInfo = ROUTES[operation];
    if (!route) throw new TypeError(`Unknown operation ${String(operation)}`);
    const input = (given ?? {}) as Record<string, unknown> & {
      query?: unknown;
      body?: unknown;
      signal?: AbortSignal;
      headers?: Record<string, string>;
    };
    const headers = baseHeaders();
    const init: RequestInit = { method: route.method, headers };
    if (input.body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(input.body);
    }
    Object.assign(headers, input.headers);
    if (input.signal) init.signal = input.signal;
    const response = await fetcher(url(target, operation, input, input.query), init);
    if (!response.ok) throw await errorFromResponse(response);
    let data: unknown;
    if (response.status !== 204) {
      const text = await response.text();
      const type = response.headers.get("Content-Type") ?? "";
      if (/^application\/([\w.+-]+\+)?json/i.test(type)) {
        try {
          data = text === "" ? undefined : JSON.parse(text);
        } catch {
          throw new OpenworkError(response.status, "unexpected_response", `${operation}: the answer is not valid JSON`, {
            body: text.slice(0, 500),
          });
        }
      } else data = text;
    }
    return { data: data as OperationResult<K>, status: response.status, headers: response.headers };
  }

  function eventStream(target: Target, input: EventStreamOptions & { id?: string }): AsyncIterableIterator<ReloadEvent> {
    const signal = input.signal;
    const params = { id: input.id } as Record<string, unknown>;
    async function* run(): AsyncGenerator<ReloadEvent, void, undefined> {
      let since = input.since;
      if (since === undefined) {
        try {
          ({ cursor: since } = (await send(target, "listEvents", { ...params, signal } as OperationInput<"listEvents">)).data);
        } catch (error) {
          if (signal?.aborted) return;
          throw error;
        }
      }
      const address = url(target, "listEvents", params, { since });
      const source = {
        open: (lastEventId: string, connection: AbortSignal) =>
          Promise.resolve(
            fetcher(address, {
              method: "GET",
              headers: { ...baseHeaders(), Accept: "text/event-stream", ...(lastEventId ? { "Last-Event-ID": lastEventId } : {}) },
              signal: connection,
            }),
          ),
      };
      for await (const message of readStream(source, input)) {
        if (message.event !== "message") continue;
        yield parseData(message.data, "events") as ReloadEvent;
      }
    }
    return run();
  }

  /** A request to the engine through the gateway under `prefix`, with this client's credentials. */
  const gateway =
    (prefix: string) =>
    (path: string, init: RequestInit = {}) => {
      const headers = new Headers(init.headers);
      for (const [name, value] of Object.entries(baseHeaders())) if (name !== "Accept" && !headers.has(name)) headers.set(name, value);
      return Promise.resolve(fetcher(`${prefix}/opencode/${path.replace(/^\/+/, "")}`, { ...init, headers }));
    };

  const rootTarget: Target = { prefix: root, path: (route) => route.path };

  function workspace(id = mountedId): WorkspaceClient {
    if (!id) throw new TypeError("workspace(id): a workspace id is needed (or a base URL ending in /w/<id>)");
    const prefix = `${root}/w/${encodeURIComponent(id)}`;
    // `mountedPath` gives `/w/:id/...`; the prefix already holds `/w/<id>`.
    const target: Target = { prefix, path: (route) => mountedPath(route).slice(MOUNT_PREFIX.length) };
    const ws: Record<string, unknown> = {
      id,
      baseUrl: prefix,
      request: (operation: OperationId, input?: OperationInput<OperationId>) => {
        if (!isMounted(ROUTES[operation])) throw new TypeError(`${operation} is not mounted under /w/:id`);
        return send(target, operation, input);
      },
      streamEvents: (streamOptions: EventStreamOptions = {}) => eventStream(target, streamOptions),
      opencode: gateway(prefix),
    };
    for (const operation of OPERATION_IDS) {
      if (!isMounted(ROUTES[operation])) continue;
      ws[operation] = async (input?: OperationInput<OperationId>) => (await send(target, operation, input)).data;
    }
    return ws as unknown as WorkspaceClient;
  }

  const client: Record<string, unknown> = {
    baseUrl: root,
    workspaceId: mountedId,
    workspace,
    request: (operation: OperationId, input?: OperationInput<OperationId>) => send(rootTarget, operation, input),
    streamEvents: (input: EventStreamOptions & { id: string }) => eventStream(rootTarget, input),
    streamApprovals: (streamOptions: StreamOptions = {}) => approvalStream(streamOptions),
    opencode: gateway(root),
  };
  for (const operation of OPERATION_IDS) {
    client[operation] = async (input?: OperationInput<OperationId>) => (await send(rootTarget, operation, input)).data;
  }

  function approvalStream(streamOptions: StreamOptions): AsyncIterableIterator<ApprovalStreamEvent> {
    const address = `${root}${ROUTES.listApprovals.path}`;
    async function* run(): AsyncGenerator<ApprovalStreamEvent, void, undefined> {
      const source = {
        open: (_lastEventId: string, signal: AbortSignal) =>
          Promise.resolve(fetcher(address, { method: "GET", headers: { ...baseHeaders(), Accept: "text/event-stream" }, signal })),
      };
      for await (const message of readStream(source, streamOptions)) {
        const type = message.event;
        if (type !== "snapshot" && type !== "requested" && type !== "resolved") continue;
        yield { type, data: parseData(message.data, "approvals") } as ApprovalStreamEvent;
      }
    }
    return run();
  }

  return client as unknown as OpenworkClient;
}

function parseData(data: string, stream: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    throw new OpenworkError(0, "unexpected_response", `The ${stream} stream sent data that is not JSON`, { data: data.slice(0, 500) });
  }
}
