// The client's stream helpers against the real streams: reload events (in order, resumed with
// Last-Event-ID after a dropped connection and after the server itself closes them on a
// restart, ending with an error when the token is revoked) and approvals (snapshot, requested,
// resolved; a fresh snapshot after a reconnection). Every message is checked against the
// contract's stream schemas (src/contract/streams.ts), which type the helpers.
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { describe, test } from "node:test";
import { type ApprovalStreamEvent, createClient, type FetchLike, type ReloadEvent } from "../../src/client/index.js";
import { APPROVAL_STREAM_EVENTS, EVENT_STREAM_MESSAGE } from "../../src/contract/streams.js";
import { silentLogger } from "../../src/logger.js";
import { type RunningServer, startServer } from "../../src/server.js";
import { createHarness, type Harness, HOST_TOKEN, TOKEN, tempDir, testSettings, waitFor } from "../helpers/harness.js";
import { rejection } from "./helpers.js";

const fast = { initialDelayMs: 20, maxDelayMs: 200 };

/**
 * A fetch over the harness's app that records the stream requests and can drop their
 * connections (as a proxy or a flaky network would): the client sees its body end.
 */
function droppable(h: Harness) {
  const streams: Array<{ headers: Headers; drop: () => void }> = [];
  const fetch: FetchLike = async (url, init) => {
    const res = await h.app.request(url, init);
    if (!(res.headers.get("Content-Type") ?? "").startsWith("text/event-stream")) return res;
    const upstream = res.body!.getReader();
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        controller = c;
      },
      async pull(c) {
        const chunk = await upstream.read().catch(() => ({ done: true as const, value: undefined }));
        if (chunk.done) c.close();
        else c.enqueue(chunk.value);
      },
      cancel: () => upstream.cancel(),
    });
    streams.push({
      headers: new Headers(init.headers),
      drop: () => {
        try {
          controller.close();
        } catch {}
        void upstream.cancel();
      },
    });
    return new Response(body, { status: res.status, headers: res.headers });
  };
  return { fetch, streams };
}

/** Takes `count` items from a stream (or fails after `ms`). */
async function take<T>(iterator: AsyncIterator<T>, count: number, ms = 5000): Promise<T[]> {
  const out: T[] = [];
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`only ${out.length} of ${count} items within ${ms} ms`)), ms);
  });
  try {
    while (out.length < count) {
      const next = await Promise.race([iterator.next(), timeout]);
      if (next.done) throw new Error(`the stream ended after ${out.length} of ${count} items`);
      out.push(next.value);
    }
    return out;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Starts a stream and waits until it is open, so that what the test does next happens after the
 * stream's starting point (the cursor it reads first).
 */
async function opened<T>(start: (onOpen: () => void) => AsyncIterableIterator<T>) {
  let resolve!: () => void;
  const open = new Promise<void>((r) => {
    resolve = r;
  });
  const stream = start(() => resolve());
  const first = stream.next();
  await Promise.race([open, first]);
  return { stream, first: first.then((result) => result.value as T) };
}

/** Reads the next approvals event, which must be of `type`, and answers its data (keeping it in `seen`). */
function expectEvent(stream: AsyncIterator<ApprovalStreamEvent>, seen: ApprovalStreamEvent[] = []) {
  return async <T extends ApprovalStreamEvent["type"]>(type: T) => {
    const [event] = await take(stream, 1);
    assert.equal(event!.type, type, JSON.stringify(event));
    seen.push(event!);
    return event!.data as Extract<ApprovalStreamEvent, { type: T }>["data"];
  };
}

const checkEvent = (event: ReloadEvent) => {
  const result = EVENT_STREAM_MESSAGE.safeParse(event);
  assert.ok(result.success, JSON.stringify(result.error?.issues));
  return event;
};

describe("streamEvents", () => {
  test("delivers the workspace's events in order from the moment it starts, then closes its subscription on break", async (t) => {
    const h = await createHarness();
    t.after(() => h.close());
    h.services.events.record(h.wsId, "config"); // before the stream: not delivered
    const { stream: events, first } = await opened((onOpen) => h.client.streamEvents({ id: h.wsId, reconnect: fast, onOpen }));
    await h.client.upsertCommand({ id: h.wsId, body: { name: "live", template: "Live" } });
    h.services.events.record("ws_other000000", "skills"); // another workspace's: not on this stream
    await h.client.addMcp({ id: h.wsId, body: { name: "docs", config: { type: "remote", url: "https://mcp.example/x" } } });
    const got = [await first, ...(await take(events, 1))].map(checkEvent);
    assert.deepEqual(
      got.map((e) => [e.seq, e.reason, e.trigger?.action]),
      [
        [2, "commands", "commands.upsert"],
        [4, "mcp", "mcp.add"],
      ],
    );
    assert.equal(h.services.events.listenerCount(h.wsId), 1);
    await events.return?.();
    await waitFor(() => h.services.events.listenerCount() === 0, 2000);
  });

  test("since: replays the retained events after it; the /w/:id workspace client streams the same", async (t) => {
    const h = await createHarness();
    t.after(() => h.close());
    for (const reason of ["config", "skills", "mcp"] as const) h.services.events.record(h.wsId, reason);
    const controller = new AbortController();
    const viaMount = h.client.workspace(h.wsId).streamEvents({ since: 1, signal: controller.signal });
    assert.deepEqual(
      (await take(viaMount, 2)).map((e) => e.reason),
      ["skills", "mcp"],
    );
    const shared = createClient({ baseUrl: `http://localhost/w/${h.wsId}`, token: TOKEN, fetch: (u, i) => h.app.request(u, i) });
    const viaUrl = shared.workspace().streamEvents({ since: 0, signal: controller.signal });
    assert.deepEqual(
      (await take(viaUrl, 3)).map((e) => e.seq),
      [1, 2, 3],
    );
    controller.abort();
    assert.deepEqual(await viaMount.next(), { done: true, value: undefined }, "aborting ends the loop quietly");
    await waitFor(() => h.services.events.listenerCount() === 0, 2000);
  });

  test("a dropped connection is reopened with Last-Event-ID: the events of the gap arrive once, in order", async (t) => {
    const h = await createHarness();
    t.after(() => h.close());
    const { fetch, streams } = droppable(h);
    const client = createClient({ baseUrl: "http://localhost", token: TOKEN, fetch });
    const { stream: events, first } = await opened((onOpen) => client.streamEvents({ id: h.wsId, reconnect: fast, onOpen }));
    h.services.events.record(h.wsId, "config");
    h.services.events.record(h.wsId, "skills");
    assert.equal((await first).seq, 1);
    assert.equal((await take(events, 1))[0]!.seq, 2);

    streams[0]!.drop();
    await waitFor(() => h.services.events.listenerCount(h.wsId) === 0, 2000);
    // While the client is away:
    h.services.events.record(h.wsId, "mcp");
    h.services.events.record(h.wsId, "commands");
    const pending = take(events, 3, 5000);
    // ... and one live on the new connection.
    await waitFor(() => h.services.events.listenerCount(h.wsId) === 1, 3000);
    h.services.events.record(h.wsId, "plugins");
    const after = (await pending).map(checkEvent);
    assert.deepEqual(
      after.map((e) => [e.seq, e.reason]),
      [
        [3, "mcp"],
        [4, "commands"],
        [5, "plugins"],
      ],
    );
    assert.equal(streams.length, 2);
    assert.equal(streams[0]!.headers.get("Last-Event-ID"), null);
    assert.equal(streams[1]!.headers.get("Last-Event-ID"), "2");
    await events.return?.();
  });

  test("a revoked token: the server closes the stream and the helper throws 401 instead of retrying", async (t) => {
    const h = await createHarness();
    t.after(() => h.close());
    const created = await h.hostClient.createToken({ body: { scope: "viewer", label: "phone" } });
    const phone = createClient({ baseUrl: "http://localhost", token: created.token, fetch: (u, i) => h.app.request(u, i) });
    const { stream: events, first } = await opened((onOpen) => phone.streamEvents({ id: h.wsId, reconnect: fast, onOpen }));
    h.services.events.record(h.wsId, "skills");
    assert.equal((await first).reason, "skills");
    assert.deepEqual(await h.hostClient.deleteToken({ id: created.id }), { ok: true });
    const error = await rejection(events.next());
    assert.equal(error.status, 401);
    assert.equal(error.code, "unauthorized");
    assert.equal(error.details?.reason, "revoked");
    assert.equal(h.services.events.listenerCount(), 0);
  });

  test("a 404 workspace is thrown at once", async (t) => {
    const h = await createHarness();
    t.after(() => h.close());
    const error = await rejection(h.client.streamEvents({ id: "ws_000000000000", since: 0 }).next());
    assert.deepEqual([error.status, error.code], [404, "workspace_not_found"]);
  });

  test("over a real socket: the server closes the stream (a restart on the same port) and the helper resumes", async (t) => {
    const root = await tempDir();
    let server: RunningServer = await startServer(testSettings(root), silentLogger, { watch: false });
    const port = server.port;
    t.after(async () => {
      await server.close();
      await rm(root, { recursive: true, force: true });
    });
    const wsId = server.services.registry.list()[0]!.id;
    const client = createClient({ baseUrl: server.urls[0]!, token: TOKEN }); // the global fetch
    let connections = 0;
    const { stream: events, first } = await opened((onOpen) =>
      client.streamEvents({
        id: wsId,
        reconnect: { initialDelayMs: 100, maxDelayMs: 400 },
        onOpen: () => {
          connections++;
          onOpen();
        },
      }),
    );
    server.services.events.record(wsId, "config");
    server.services.events.record(wsId, "skills");
    assert.equal((await first).seq, 1);
    assert.equal((await take(events, 1))[0]!.seq, 2);

    await server.close(); // ends every connection, the stream's too
    server = await startServer(testSettings(root, { port }), silentLogger, { watch: false });
    // The new run counts from 1 again: a Last-Event-ID beyond its cursor replays what it has.
    server.services.events.record(wsId, "mcp");
    const resumed = await take(events, 1, 10_000);
    assert.deepEqual(
      resumed.map((e) => [e.seq, e.reason]),
      [[1, "mcp"]],
    );
    server.services.events.record(wsId, "commands");
    assert.deepEqual(
      (await take(events, 1)).map((e) => [e.seq, e.reason]),
      [[2, "commands"]],
    );
    assert.ok(connections >= 2, `reconnected (${connections} connections)`);
    await events.return?.();
    await waitFor(() => server.services.events.listenerCount() === 0, 3000);
  });
});

describe("streamApprovals", () => {
  test("snapshot, requested, resolved, as the host answers through the client", async (t) => {
    const h = await createHarness({ approval: { mode: "manual", timeoutMs: 10_000 } });
    t.after(() => h.close());
    const { fetch, streams } = droppable(h);
    const host = createClient({ baseUrl: "http://localhost", hostToken: HOST_TOKEN, fetch });
    const approvals = host.streamApprovals({ reconnect: fast });
    const seen: ApprovalStreamEvent[] = [];
    const expect = expectEvent(approvals, seen);
    assert.deepEqual((await expect("snapshot")).items, []);

    const write = h.client.upsertSkill({ id: h.wsId, body: { name: "demo", content: "Does demo things\n", description: "Demo" } });
    const requested = await expect("requested");
    assert.equal(requested.action, "skills.upsert");
    assert.deepEqual(
      requested.changes.map((c) => [c.path, c.op]),
      [[".opencode/skills/demo/SKILL.md", "create"]],
    );

    // A reconnection starts with a fresh snapshot, which holds the pending request.
    streams[0]!.drop();
    assert.deepEqual(
      (await expect("snapshot")).items.map((i) => i.id),
      [requested.id],
    );

    assert.deepEqual(await host.replyApproval({ id: requested.id, body: { reply: "allow" } }), { ok: true, allowed: true });
    const resolved = await expect("resolved");
    assert.deepEqual([resolved.id, resolved.allowed, resolved.decidedBy], [requested.id, true, "host"]);
    assert.equal((await write).name, "demo");

    for (const event of seen) {
      const result = APPROVAL_STREAM_EVENTS[event.type].safeParse(event.data);
      assert.ok(result.success, `${event.type}: ${JSON.stringify(result.error?.issues)}`);
    }
    await approvals.return?.();
    await waitFor(() => h.services.approvals.listenerCount === 0, 2000);
  });

  test("a denied write: resolved with allowed false, and the writer's OpenworkError names the request", async (t) => {
    const h = await createHarness({ approval: { mode: "manual", timeoutMs: 10_000 } });
    t.after(() => h.close());
    const controller = new AbortController();
    const expect = expectEvent(h.hostClient.streamApprovals({ signal: controller.signal }));
    await expect("snapshot");
    const write = rejection(h.client.patchConfig({ id: h.wsId, body: { opencode: { theme: "light" } } }));
    const requested = await expect("requested");
    await h.hostClient.replyApproval({ id: requested.id, body: { reply: "deny" } });
    const resolved = await expect("resolved");
    assert.deepEqual([resolved.allowed, resolved.reason], [false, "denied"]);
    const error = await write;
    assert.deepEqual([error.status, error.code, error.details?.requestId], [403, "write_denied", requested.id]);
    controller.abort();
  });

  test("needs the owner: the client token's stream is refused with 403", async (t) => {
    const h = await createHarness();
    t.after(() => h.close());
    const error = await rejection(h.client.streamApprovals().next());
    assert.deepEqual([error.status, error.code], [403, "insufficient_scope"]);
  });
});
