// The client's types, derived from the contract's zod schemas (src/contract) with z.input (what a
// request may send) and z.output (what an answer holds). Type-only imports: nothing here exists
// at run time, so the client ships without zod.
import type { z } from "zod";
import type { approvalRequest, reloadEvent } from "../contract/entities.js";
import type { OperationId, ROUTES } from "../contract/routes.js";
import type { SCHEMAS } from "../contract/schemas.js";
import type { approvalResolved, approvalSnapshot } from "../contract/streams.js";

export type { OperationId } from "../contract/routes.js";

type Empty = Record<never, never>;
type Schemas<K extends OperationId> = (typeof SCHEMAS)[K];
type Input<T> = T extends z.ZodType ? z.input<T> : never;
type Output<T> = T extends z.ZodType ? z.output<T> : never;

/** An operation's path parameters (`{ id }` for a workspace, `{ id, name }` for an item...). */
export type OperationParams<K extends OperationId> = Schemas<K> extends { params: infer P } ? Input<P> : Empty;

/**
 * An operation's query parameters. Each takes its parsed type (a flag a boolean, a limit a
 * number) or the string the server parses; the client turns them into strings.
 */
export type OperationQuery<K extends OperationId> =
  Schemas<K> extends { query: infer Q } ? { [F in keyof Output<Q>]?: Output<Q>[F] | Input<Q>[F & keyof Input<Q>] } : never;

/** An operation's JSON request body. */
export type OperationBody<K extends OperationId> = Schemas<K> extends { body: infer B } ? Input<B> : never;

/** An operation's success answer (JSON). `unknown` for the few answers without a schema (the OpenAPI document). */
export type OperationResult<K extends OperationId> = Schemas<K>["response"] extends z.ZodType ? z.output<Schemas<K>["response"]> : unknown;

/** Per call: abort it, or add headers (`If-Match` on patchConfig, for one). */
export interface RequestOptions {
  signal?: AbortSignal;
  headers?: Record<string, string>;
}

/** What a method takes: its path parameters at the top level, `query` and `body` by name. */
export type OperationInput<K extends OperationId> = OperationParams<K> &
  (Schemas<K> extends { query: unknown } ? { query?: OperationQuery<K> } : Empty) &
  (Schemas<K> extends { body: unknown } ? { body: OperationBody<K> } : Empty) &
  RequestOptions;

/** The argument list: optional when nothing in it is required. */
export type Args<I> = Empty extends I ? [input?: I] : [input: I];

type Route<K extends OperationId> = (typeof ROUTES)[K];

/** The operations also mounted under `/w/:id` (every workspace route, and a few server-wide ones). */
export type MountedOperationId = {
  [K in OperationId]: Route<K>["path"] extends `/workspace/:id/${string}` ? K : Route<K> extends { mounted: true } ? K : never;
}[OperationId];

/** One method per operation of the contract. */
export type OperationMethods = {
  [K in OperationId]: (...args: Args<OperationInput<K>>) => Promise<OperationResult<K>>;
};

/** The workspace's input without its id (the workspace client fills it in). */
export type WorkspaceInput<K extends OperationId> = Omit<OperationInput<K>, "id">;

/** One method per mounted operation, for one workspace. */
export type WorkspaceMethods = {
  [K in MountedOperationId]: (...args: Args<WorkspaceInput<K>>) => Promise<OperationResult<K>>;
};

/** An answer with its status and headers (the config's `ETag`, for one). */
export interface ApiResponse<T> {
  data: T;
  status: number;
  headers: Headers;
}

// ---- the streams

export type ReloadEvent = z.output<typeof reloadEvent>;
export type ApprovalRequest = z.output<typeof approvalRequest>;
export type ApprovalSnapshot = z.output<typeof approvalSnapshot>;
export type ApprovalResolved = z.output<typeof approvalResolved>;

/** One event of the approvals stream; after every (re)connection a `snapshot` comes first. */
export type ApprovalStreamEvent =
  | { type: "snapshot"; data: ApprovalSnapshot }
  | { type: "requested"; data: ApprovalRequest }
  | { type: "resolved"; data: ApprovalResolved };
