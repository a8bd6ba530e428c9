// Reload events (SPEC section 6): `GET /workspace/:id/events?since=N` as JSON, and the same events
// as a live SSE stream (`id:` = seq, `Last-Event-ID` resumes, heartbeats, no listener leak).
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { connect } from "node:net";
import { describe, test } from "node:test";
import { silentLogger } from "../src/logger.js";
import { startServer } from "../src/server.js";
import { type ReloadEvent, ReloadEventLog } from "../src/services/events.js";
import { createHarness, type Harness, json, TOKEN, tempDir, testSettings, waitFor } from "./helpers/harness.js";
import { SseReader } from "./helpers/sse.js";

/** The next reload event on the stream (comments skipped); every event has an id. */
async function nextEvent(sse: SseReader, timeoutMs = 3000): Promise<{ id: string; event: ReloadEvent }> {
  const message = await sse.nextData<ReloadEvent>(timeoutMs);
  assert.ok(message.id, `an event has an id: ${JSON.stringify(message)}`);
  return { id: message.id, event: message.data };
}

const stream = (h: Harness, suffix = "", headers: Record<string, string> = {}, signal?: AbortSignal) =>
  Promise.resolve(
    h.app.request(h.ws(`/events${suffix}`), {
      headers: { Authorization: `Bearer ${TOKEN}`, Accept: "text/event-stream", ...headers },
      ...(signal ? { signal } : {}),
    }),
  );

describe("GET /workspace/:id/events (JSON)", () => {
  test("items after `since`, oldest first, with the server-wide cursor (through the client)", async (t) => {
    const h = await createHarness();
    t.after(() => h.close());
    const ow = h.client;
    assert.deepEqual(await ow.listEvents({ id: h.wsId }), { items: [], cursor: 0 });

    await ow.patchConfig({ id: h.wsId, body: { opencode: { share: "disabled" } } });
    await ow.upsertCommand({ id: h.wsId, body: { name: "hi", template: "Say hi" } });
    // Another workspace's event moves the server-wide seq but is not listed here.
    h.services.events.record("ws_other000000", "skills");
    await ow.upsertSkill({ id: h.wsId, body: { name: "demo", content: "Demo body\n", description: "Demo" } });

    const all = await ow.listEvents({ id: h.wsId });
    assert.deepEqual(
      all.items.map((e) => [e.seq, e.reason, e.trigger?.source, e.trigger?.action]),
      [
        [1, "config", "api", "config.patch"],
        [2, "commands", "api", "commands.upsert"],
        [4, "skills", "api", "skills.upsert"],
      ],
    );
    assert.equal(all.cursor, 4);
    for (const e of all.items) {
      assert.equal(e.workspaceId, h.wsId);
      assert.match(e.id, /^evt_/);
      assert.equal(typeof e.timestamp, "number");
      assert.deepEqual(e.trigger?.actor, { type: "legacy", scope: "collaborator" }, "the event names who wrote");
    }

    const later = await ow.listEvents({ id: h.wsId, query: { since: 2 } });
    assert.deepEqual(
      later.items.map((e) => e.seq),
      [4],
    );
    assert.equal(later.cursor, 4);
    assert.deepEqual(await ow.listEvents({ id: h.wsId, query: { since: 4 } }), { items: [], cursor: 4 });
  });

  test("a refused write records no event", async (t) => {
    const h = await createHarness({ readOnly: true });
    t.after(() => h.close());
    const res = await h.call("PATCH", h.ws("/config"), { opencode: { share: "disabled" } });
    assert.equal(res.status, 403);
    assert.deepEqual(await json(await h.call("GET", h.ws("/events"))), { items: [], cursor: 0 });
  });

  test("a cursor from before a restart (larger than the current one) replays from the start", async (t) => {
    const h = await createHarness();
    t.after(() => h.close());
    h.services.events.record(h.wsId, "mcp");
    const body = await json(await h.call("GET", h.ws("/events?since=9000")));
    assert.deepEqual(
      body.items.map((e: ReloadEvent) => e.reason),
      ["mcp"],
    );
    assert.equal(body.cursor, 1);
  });

  test("bad `since`, unknown workspace, missing token", async (t) => {
    const h = await createHarness();
    t.after(() => h.close());
    for (const bad of ["-1", "abc", "1.5", "1e3"]) {
      const res = await h.call("GET", h.ws(`/events?since=${bad}`));
      assert.equal(res.status, 400, bad);
      assert.equal((await json(res)).code, "invalid_payload");
    }
    let res = await h.call("GET", "/workspace/ws_000000000000/events");
    assert.equal(res.status, 404);
    assert.equal((await json(res)).code, "workspace_not_found");
    res = await h.app.request(h.ws("/events"));
    assert.equal(res.status, 401);
    res = await h.app.request(h.ws("/events"), { headers: { Accept: "text/event-stream" } });
    assert.equal(res.status, 401, "the stream needs the token too");
  });
});

describe("ReloadEventLog", () => {
  test("unsubscribing twice never drops a later subscriber; a throwing listener does not stop the others", async () => {
    const log = new ReloadEventLog();
    const first = log.subscribe("ws_a", () => {});
    first();
    const seen: number[] = [];
    log.subscribe("ws_a", () => {
      throw new Error("broken subscriber");
    });
    log.subscribe("ws_a", (e) => seen.push(e.seq));
    first(); // again, after the workspace's listener set was recreated
    assert.equal(log.listenerCount("ws_a"), 2);
    log.record("ws_a", "skills");
    log.record("ws_b", "skills");
    assert.deepEqual(seen, [], "subscribers hear of an event after the write that recorded it");
    await log.flushed();
    assert.deepEqual(seen, [1]);
  });

  test("keeps the newest `capacity` events", () => {
    const log = new ReloadEventLog(3);
    for (let i = 0; i < 5; i++) log.record("ws_a", "config");
    assert.deepEqual(
      log.since("ws_a").map((e) => e.seq),
      [3, 4, 5],
    );
    assert.equal(log.cursor, 5);
  });
});

describe("GET /workspace/:id/events (SSE)", () => {
  test("streams new events live with id = seq; the listener goes away when the client cancels", async (t) => {
    const h = await createHarness();
    t.after(() => h.close());
    h.services.events.record(h.wsId, "config"); // before the stream: not replayed without a cursor
    const res = await stream(h);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("Content-Type") ?? "", /^text\/event-stream/);
    assert.equal(res.headers.get("Cache-Control"), "no-cache");
    const sse = new SseReader(res.body!);
    assert.equal((await sse.next()).comment, "connected");
    assert.equal(h.services.events.listenerCount(h.wsId), 1);

    const write = await h.call("POST", h.ws("/commands"), { name: "live", template: "Live" });
    assert.equal(write.status, 200);
    const first = await nextEvent(sse);
    assert.equal(first.id, "2");
    assert.equal(first.event.seq, 2);
    assert.equal(first.event.reason, "commands");
    assert.equal(first.event.workspaceId, h.wsId);

    h.services.events.record("ws_other000000", "skills"); // another workspace: not on this stream
    h.services.events.record(h.wsId, "plugins");
    const second = await nextEvent(sse);
    assert.equal(second.id, "4");
    assert.equal(second.event.reason, "plugins");

    await sse.reader.cancel();
    await waitFor(() => h.services.events.listenerCount() === 0, 2000);
    assert.equal(h.services.events.listenerCount(h.wsId), 0);
  });

  test("?since= and Last-Event-ID replay what was missed, then continue live", async (t) => {
    const h = await createHarness();
    t.after(() => h.close());
    for (const reason of ["config", "skills", "mcp", "agents"] as const) h.services.events.record(h.wsId, reason);

    const bySince = new SseReader((await stream(h, "?since=1")).body!);
    assert.deepEqual([(await nextEvent(bySince)).id, (await nextEvent(bySince)).id, (await nextEvent(bySince)).id], ["2", "3", "4"]);
    await bySince.reader.cancel();

    // Last-Event-ID (a reconnecting EventSource) wins over the query.
    const resumed = new SseReader((await stream(h, "?since=0", { "Last-Event-ID": "3" })).body!);
    const next = await nextEvent(resumed);
    assert.equal(next.id, "4");
    assert.equal(next.event.reason, "agents");
    h.services.events.record(h.wsId, "commands");
    const live = await nextEvent(resumed);
    assert.equal(live.id, "5");
    assert.equal(live.event.reason, "commands");
    await resumed.reader.cancel();

    // An id we did not issue is ignored (falls back to `since`), never a 500.
    const odd = await stream(h, "?since=4", { "Last-Event-ID": "not-a-number" });
    assert.equal(odd.status, 200);
    const oddReader = new SseReader(odd.body!);
    assert.equal((await nextEvent(oddReader)).id, "5");
    await oddReader.reader.cancel();
    await waitFor(() => h.services.events.listenerCount() === 0, 2000);
  });

  test("an idle stream sends heartbeat comments", async (t) => {
    const h = await createHarness({}, { services: { eventsHeartbeatMs: 40 } });
    t.after(() => h.close());
    const sse = new SseReader((await stream(h)).body!);
    assert.equal((await sse.next()).comment, "connected");
    const started = Date.now();
    assert.deepEqual(await sse.next(1000), { comment: "heartbeat" });
    assert.deepEqual(await sse.next(1000), { comment: "heartbeat" });
    assert.ok(Date.now() - started >= 60, "heartbeats are spaced by the interval");
    await sse.reader.cancel();
    await waitFor(() => h.services.events.listenerCount() === 0, 2000);
  });

  test("aborting the request drops the listener at once", async (t) => {
    const h = await createHarness();
    t.after(() => h.close());
    const controller = new AbortController();
    const res = await stream(h, "", {}, controller.signal);
    const sse = new SseReader(res.body!);
    await sse.next();
    assert.equal(h.services.events.listenerCount(h.wsId), 1);
    controller.abort();
    await waitFor(() => h.services.events.listenerCount() === 0, 2000);
  });

  test("over a real socket: a client that disconnects is dropped", async (t) => {
    const root = await tempDir();
    const settings = testSettings(root);
    const server = await startServer(settings, silentLogger, { watch: false });
    t.after(async () => {
      await server.close();
      await rm(root, { recursive: true, force: true });
    });
    const wsId = server.services.registry.list()[0]!.id;
    const url = `${server.urls[0]}/workspace/${wsId}/events`;
    const headers = { Authorization: `Bearer ${TOKEN}`, Accept: "text/event-stream" };
    for (let round = 0; round < 3; round++) {
      const controller = new AbortController();
      const res = await fetch(url, { headers, signal: controller.signal });
      assert.equal(res.status, 200);
      const sse = new SseReader(res.body!);
      await sse.next();
      server.services.events.record(wsId, "skills");
      const got = await nextEvent(sse);
      assert.equal(got.event.reason, "skills");
      assert.equal(server.services.events.listenerCount(wsId), 1);
      controller.abort();
      await waitFor(() => server.services.events.listenerCount() === 0, 3000);
    }
  });
});

describe("event fan-out: a slow subscriber is dropped, the others are not held up", () => {
  test("in-process: the slow stream is closed with an error, the fast one gets every event", async (t) => {
    const h = await createHarness({}, { services: { eventsMaxBufferedBytes: 8 * 1024 } });
    t.after(() => h.close());
    const fast = new SseReader((await stream(h)).body!);
    assert.equal((await fast.next()).comment, "connected");
    const slow = await stream(h); // never read
    assert.equal(h.services.events.listenerCount(h.wsId), 2);
    const got: number[] = [];
    let recorded = 0;
    while (h.services.events.listenerCount(h.wsId) === 2 && recorded < 5000) {
      for (let i = 0; i < 10; i++, recorded++) h.services.events.record(h.wsId, "skills");
      await h.services.events.flushed();
      while (got.length < recorded) got.push(Number((await nextEvent(fast)).id));
    }
    assert.equal(h.services.events.listenerCount(h.wsId), 1, "the slow subscriber was dropped");
    assert.ok(recorded < 5000, `dropped after ${recorded} events`);
    // Writes go on, and the fast subscriber hears them.
    const write = await h.call("POST", h.ws("/commands"), { name: "after", template: "After" });
    assert.equal(write.status, 200);
    const last = await nextEvent(fast);
    assert.equal(last.event.reason, "commands");
    assert.deepEqual(
      [...got, Number(last.id)],
      Array.from({ length: recorded + 1 }, (_, i) => i + 1),
      "every event, in order",
    );
    // The slow client finds its stream ended with an error once it reads what was queued.
    const reader = slow.body!.getReader();
    await assert.rejects(async () => {
      for (;;) if ((await reader.read()).done) return;
    });
  });

  test("over a real socket: a client that stops reading is disconnected; a reading one gets everything", async (t) => {
    const root = await tempDir();
    const server = await startServer(testSettings(root), silentLogger, { watch: false, eventsMaxBufferedBytes: 64 * 1024 });
    t.after(async () => {
      await server.close();
      await rm(root, { recursive: true, force: true });
    });
    const wsId = server.services.registry.list()[0]!.id;
    const events = server.services.events;
    // The slow client: asks for the stream, then never reads from its socket.
    const slow = connect(server.port, "127.0.0.1");
    const closed = new Promise<void>((resolve) => slow.on("close", () => resolve()));
    slow.on("error", () => {});
    slow.write(
      `GET /workspace/${wsId}/events HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nAuthorization: Bearer ${TOKEN}\r\nAccept: text/event-stream\r\n\r\n`,
    );
    slow.pause();
    await waitFor(() => events.listenerCount(wsId) === 1, 3000);
    // The fast client reads everything.
    const res = await fetch(`${server.urls[0]}/workspace/${wsId}/events`, {
      headers: { Authorization: `Bearer ${TOKEN}`, Accept: "text/event-stream" },
    });
    const fast = new SseReader(res.body!);
    await fast.next();
    assert.equal(events.listenerCount(wsId), 2);
    let recorded = 0;
    let received = 0;
    while (events.listenerCount(wsId) === 2 && recorded < 400_000) {
      for (let i = 0; i < 200; i++, recorded++) events.record(wsId, "skills");
      await events.flushed();
      while (received < recorded) {
        assert.equal(Number((await nextEvent(fast)).id), ++received, "in order, none missing");
      }
    }
    assert.equal(events.listenerCount(wsId), 1, `the slow client was dropped (after ${recorded} events)`);
    slow.resume(); // reads what the kernel holds, then sees the connection closed
    await closed;
    events.record(wsId, "mcp");
    assert.equal((await nextEvent(fast)).event.reason, "mcp");
  });
});
