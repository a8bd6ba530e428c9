// The client on its own, over a recording fetch: how it builds requests (paths, encoding, query
// strings, headers, bodies), how it reads answers and errors, the SSE parser against the
// standard's rules, and the stream reader's reconnection (Last-Event-ID, retry:, backoff, limits,
// idleness, aborts). What the client does against the real server is in the other client tests.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createClient, parseRetryAfter, type SseMessage, SseParser, type StreamOptions } from "../../src/client/index.js";
import { readStream } from "../../src/client/sse.js";
import { rejection } from "./helpers.js";

interface Sent {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | undefined;
  signal: AbortSignal | undefined;
}

/** A fetch that records each request and answers with `answer` (JSON `{}` by default). */
function recorder(answer: (sent: Sent) => Response | Promise<Response> = () => jsonResponse({})) {
  const sent: Sent[] = [];
  const fetch = async (url: string, init: RequestInit) => {
    const entry: Sent = {
      method: init.method ?? "GET",
      url,
      headers: Object.fromEntries(new Headers(init.headers).entries()),
      body: init.body === undefined ? undefined : String(init.body),
      signal: init.signal ?? undefined,
    };
    sent.push(entry);
    return answer(entry);
  };
  return { sent, fetch };
}

const jsonResponse = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });

describe("requests", () => {
  test("a method per operation: method, path, query and body as the route says, with every credential", async () => {
    const { sent, fetch } = recorder();
    const ow = createClient({ baseUrl: "http://host:8787/", token: "tok", hostToken: "host", clientId: "tablet", fetch });
    await ow.getHealth();
    await ow.listSkills({ id: "ws_1", query: { includeGlobal: true } });
    await ow.listAudit({ id: "ws_1", query: { limit: 5 } });
    await ow.reloadEngine({ id: "ws_1", query: { force: false, waitMs: undefined } });
    await ow.upsertCommand({ id: "ws_1", body: { name: "/deploy", template: "Ship it", model: null } });
    await ow.deleteCommand({ id: "ws_1", name: "deploy" });
    assert.deepEqual(
      sent.map((s) => `${s.method} ${s.url}`),
      [
        "GET http://host:8787/health",
        "GET http://host:8787/workspace/ws_1/skills?includeGlobal=true",
        "GET http://host:8787/workspace/ws_1/audit?limit=5",
        "POST http://host:8787/workspace/ws_1/engine/reload?force=false",
        "POST http://host:8787/workspace/ws_1/commands",
        "DELETE http://host:8787/workspace/ws_1/commands/deploy",
      ],
    );
    for (const s of sent) {
      assert.equal(s.headers.authorization, "Bearer tok");
      assert.equal(s.headers["x-openwork-host-token"], "host");
      assert.equal(s.headers["x-openwork-client-id"], "tablet");
      assert.equal(s.headers.accept, "application/json");
    }
    // A JSON body only where one is given, declared as JSON.
    assert.deepEqual(JSON.parse(sent[4]!.body!), { name: "/deploy", template: "Ship it", model: null });
    assert.equal(sent[4]!.headers["content-type"], "application/json");
    for (const s of [sent[0]!, sent[3]!, sent[5]!]) {
      assert.equal(s.body, undefined);
      assert.equal(s.headers["content-type"], undefined);
    }
  });

  test("path parameters are encoded (a scoped plugin name stays one segment); a missing one throws before any request", async () => {
    const { sent, fetch } = recorder();
    const ow = createClient({ baseUrl: "http://h", fetch });
    await ow.removePlugin({ id: "ws 1", name: "@scope/pkg" });
    assert.equal(sent[0]!.url, "http://h/workspace/ws%201/plugins/%40scope%2Fpkg");
    await assert.rejects(ow.deleteSkill({ id: "ws_1", name: "" }), /path parameter "name" is required/);
    await assert.rejects((ow.deleteSkill as (input: unknown) => Promise<unknown>)({ id: "ws_1" }), TypeError);
    // A `..` would be resolved away by the URL and reach another route (DELETE /workspace/ws_1).
    await assert.rejects(ow.deleteSkill({ id: "ws_1", name: ".." }), /cannot be "\.\."/);
    await assert.rejects(ow.deleteToken({ id: "." }), TypeError);
    assert.equal(sent.length, 1);
  });

  test("only the credentials given are sent; client and per-call headers are added; the signal goes along", async () => {
    const { sent, fetch } = recorder();
    const ow = createClient({ baseUrl: "http://h", hostToken: "host", headers: { "X-Extra": "1" }, fetch });
    const controller = new AbortController();
    await ow.patchConfig({ id: "w", body: { opencode: { theme: "dark" } }, headers: { "If-Match": '"abc"' }, signal: controller.signal });
    const [s] = sent;
    assert.equal(s!.headers.authorization, undefined);
    assert.equal(s!.headers["x-openwork-client-id"], undefined);
    assert.equal(s!.headers["x-openwork-host-token"], "host");
    assert.equal(s!.headers["x-extra"], "1");
    assert.equal(s!.headers["if-match"], '"abc"');
    assert.equal(s!.signal, controller.signal);
  });

  test("request() answers with status and headers; a non-JSON answer is its text", async () => {
    const { fetch } = recorder((s) =>
      s.url.endsWith("/config")
        ? jsonResponse({ opencode: {}, openwork: {}, updatedAt: null }, 200, { ETag: '"e1"' })
        : new Response("plain", { headers: { "Content-Type": "text/plain" } }),
    );
    const ow = createClient({ baseUrl: "http://h", fetch });
    const answer = await ow.request("getConfig", { id: "w" });
    assert.equal(answer.status, 200);
    assert.equal(answer.headers.get("ETag"), '"e1"');
    assert.deepEqual(answer.data, { opencode: {}, openwork: {}, updatedAt: null });
    assert.equal(await ow.getOpenapi(), "plain");
  });

  test("the /w/:id mount: workspace(id), and a base URL that names one workspace", async () => {
    const { sent, fetch } = recorder();
    const ow = createClient({ baseUrl: "http://h/prefix", fetch });
    assert.equal(ow.workspaceId, undefined);
    assert.throws(() => ow.workspace(), /workspace id is needed/);
    const ws = ow.workspace("ws_a");
    assert.equal(ws.id, "ws_a");
    assert.equal(ws.baseUrl, "http://h/prefix/w/ws_a");
    await ws.listSkills({ query: { includeGlobal: false } });
    await ws.deleteSkill({ name: "x" });
    await ws.getStatus();
    await ws.getHealth();
    assert.equal((ws as unknown as Record<string, unknown>).listTokens, undefined, "only mounted operations");
    assert.throws(() => (ws.request as (op: string) => unknown)("listTokens"), /not mounted/);

    const shared = createClient({ baseUrl: "http://h/prefix/w/ws_b/", fetch });
    assert.equal(shared.baseUrl, "http://h/prefix");
    assert.equal(shared.workspaceId, "ws_b");
    await shared.workspace().listCommands({ query: { scope: "workspace" } });
    await shared.listTokens();
    assert.deepEqual(
      sent.map((s) => `${s.method} ${s.url}`),
      [
        "GET http://h/prefix/w/ws_a/skills?includeGlobal=false",
        "DELETE http://h/prefix/w/ws_a/skills/x",
        "GET http://h/prefix/w/ws_a/status",
        "GET http://h/prefix/w/ws_a/health",
        "GET http://h/prefix/w/ws_b/commands?scope=workspace",
        "GET http://h/prefix/tokens",
      ],
    );
  });
});

describe("errors", () => {
  test("an error body becomes an OpenworkError with status, code, message, details", async () => {
    const { fetch } = recorder(() => jsonResponse({ code: "not_found", message: "No skill", details: { name: "x" } }, 404));
    const ow = createClient({ baseUrl: "http://h", fetch });
    const error = await rejection(ow.getSkill({ id: "w", name: "x" }));
    assert.ok(error instanceof Error);
    assert.equal(error.name, "OpenworkError");
    assert.equal(error.status, 404);
    assert.equal(error.code, "not_found");
    assert.equal(error.message, "No skill");
    assert.deepEqual(error.details, { name: "x" });
    assert.equal(error.retryAfter, undefined);
  });

  test("a 429 carries Retry-After (seconds or a date)", async () => {
    const { fetch } = recorder(() => jsonResponse({ code: "rate_limited", message: "slow down" }, 429, { "Retry-After": "7" }));
    const error = await rejection(createClient({ baseUrl: "http://h", fetch }).whoami());
    assert.equal(error.status, 429);
    assert.equal(error.code, "rate_limited");
    assert.equal(error.retryAfter, 7);
    // Without a readable header (a browser, another origin), from the body's details.
    const fromBody = await rejection(
      createClient({
        baseUrl: "http://h",
        fetch: () => jsonResponse({ code: "rate_limited", message: "slow down", details: { retryAfterSeconds: 3 } }, 429),
      }).whoami(),
    );
    assert.equal(fromBody.retryAfter, 3);
    const now = Date.parse("2030-01-01T00:00:00Z");
    assert.equal(parseRetryAfter("Tue, 01 Jan 2030 00:00:30 GMT", now), 30);
    assert.equal(parseRetryAfter("Tue, 01 Jan 2029 00:00:30 GMT", now), 0);
    assert.equal(parseRetryAfter("soon", now), undefined);
    assert.equal(parseRetryAfter(null, now), undefined);
  });

  test("an answer that is not an error body (a proxy's page) or not JSON is `unexpected_response`", async () => {
    let answer = () => new Response("<html>Bad gateway</html>", { status: 502, statusText: "Bad Gateway" });
    const ow = createClient({ baseUrl: "http://h", fetch: () => answer() });
    let error = await rejection(ow.getHealth());
    assert.equal(error.status, 502);
    assert.equal(error.code, "unexpected_response");
    assert.match(error.message, /502 Bad Gateway/);
    assert.deepEqual(error.details, { body: "<html>Bad gateway</html>" });
    answer = () => new Response("{not json", { headers: { "Content-Type": "application/json" } });
    error = await rejection(ow.getHealth());
    assert.equal(error.code, "unexpected_response");
    assert.equal(error.status, 200);
  });

  test("network failures and aborts reach the caller unchanged", async () => {
    const failure = new TypeError("fetch failed");
    const ow = createClient({
      baseUrl: "http://h",
      fetch: () => {
        throw failure;
      },
    });
    assert.equal(await ow.getHealth().catch((e: unknown) => e), failure);
  });
});

/** Parses `text` fed in the given pieces; returns the messages and comments in order. */
function parse(pieces: string[]) {
  const out: Array<SseMessage | { comment: string }> = [];
  const parser = new SseParser(
    (m) => out.push(m),
    (comment) => out.push({ comment }),
  );
  for (const piece of pieces) parser.push(piece);
  return { out, parser };
}

describe("SSE parser", () => {
  test("fields, multi-line data, comments, event types and ids as the standard says", () => {
    const { out, parser } = parse([
      "\uFEFF: connected\n\n" +
        "data: one\n\n" +
        'event: resolved\ndata: {"a":1}\nid: 7\n\n' +
        "data: line 1\ndata:line 2\ndata\ndata:  two spaces\n\n" +
        "data: value: with colons\nunknown: field\n\n" +
        "id: 8\n\n" + // no data: nothing dispatched, but the id counts
        "retry: 1500\nretry: soon\n" +
        "id: bad\u0000id\ndata: x\n\n" +
        "event: lonely\n\n" + // no data: nothing
        "data: cut off",
    ]);
    assert.deepEqual(out, [
      { comment: "connected" },
      { event: "message", data: "one", lastEventId: "" },
      { event: "resolved", data: '{"a":1}', lastEventId: "7" },
      { event: "message", data: "line 1\nline 2\n\n two spaces", lastEventId: "7" },
      { event: "message", data: "value: with colons", lastEventId: "7" },
      { event: "message", data: "x", lastEventId: "8" },
    ]);
    assert.equal(parser.retry, 1500);
    assert.equal(parser.lastEventId, "8", "an unfinished block does not move the resume point");
  });

  test("CRLF, CR and LF all end lines, wherever the pieces are cut", () => {
    const text = ": hb\r\ndata: a\r\ndata: b\r\rdata: c\rid: 3\r\n\r\nevent: e\ndata: d\n\n";
    const whole = parse([text]).out;
    assert.deepEqual(whole, [
      { comment: "hb" },
      { event: "message", data: "a\nb", lastEventId: "" },
      { event: "message", data: "c", lastEventId: "3" },
      { event: "e", data: "d", lastEventId: "3" },
    ]);
    for (let cut = 0; cut <= text.length; cut++) {
      assert.deepEqual(parse([text.slice(0, cut), text.slice(cut)]).out, whole, `cut at ${cut}`);
    }
    assert.deepEqual(parse([...text]).out, whole, "one character at a time");
  });

  test("an id: of a block that never ended is not the resume point", () => {
    const { out, parser } = parse(["data: a\nid: 1\n\ndata: b\nid: 2\n"]);
    assert.equal(out.length, 1);
    assert.equal(parser.lastEventId, "1");
  });
});

// ---- the stream reader, over scripted connections

interface Script {
  /** Each connection: an error status, a thrown error, or chunks to send (then end, or stay open). */
  connections: Array<{ status: number; headers?: Record<string, string>; body?: string } | Error | { chunks: string[]; hold?: boolean }>;
}

function scripted(script: Script) {
  const opened: Array<{ lastEventId: string; at: number; signal: AbortSignal }> = [];
  const cancelled: number[] = [];
  const source = {
    async open(lastEventId: string, signal: AbortSignal) {
      const index = opened.length;
      opened.push({ lastEventId, at: Date.now(), signal });
      const step = script.connections[index];
      if (!step) return new Promise<Response>(() => {}); // never answers again
      if (step instanceof Error) throw step;
      if ("status" in step) return new Response(step.body ?? "", { status: step.status, headers: step.headers });
      const encoder = new TextEncoder();
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          for (const chunk of step.chunks) controller.enqueue(encoder.encode(chunk));
          if (!step.hold) controller.close();
          signal.addEventListener("abort", () => {
            try {
              controller.error(new DOMException("aborted", "AbortError"));
            } catch {}
          });
        },
        cancel() {
          cancelled.push(index);
        },
      });
      return new Response(body, { headers: { "Content-Type": "text/event-stream" } });
    },
  };
  return { source, opened, cancelled };
}

async function collect(source: Parameters<typeof readStream>[0], options: StreamOptions, count: number) {
  const got: SseMessage[] = [];
  for await (const message of readStream(source, options)) {
    got.push(message);
    if (got.length === count) break;
  }
  return got;
}

const fast = { initialDelayMs: 5, maxDelayMs: 40 };

describe("stream reader", () => {
  test("reconnects after the server closes, sending Last-Event-ID; honours retry:", async () => {
    const { source, opened, cancelled } = scripted({
      connections: [
        { chunks: [": connected\n\n", "retry: 30\ndata: 1\nid: 1\n\n", "data: 2\nid: 2\n\n"] },
        { chunks: ["data: 3\nid: 3\n\n"] },
        { chunks: ["data: 4\nid: 4\n\n"], hold: true },
      ],
    });
    const got = await collect(source, { reconnect: fast }, 4);
    assert.deepEqual(
      got.map((m) => m.data),
      ["1", "2", "3", "4"],
    );
    assert.deepEqual(
      opened.map((o) => o.lastEventId),
      ["", "2", "3"],
    );
    // The server's retry: (30 ms) replaced the 5 ms initial delay.
    assert.ok(opened[1]!.at - opened[0]!.at >= 20, `waited ${opened[1]!.at - opened[0]!.at} ms`);
    await new Promise((r) => setTimeout(r, 10));
    assert.ok(cancelled.includes(2), "breaking out of the loop cancels the open connection's body...");
    assert.ok(opened[2]!.signal.aborted, "... and aborts its request");
  });

  test("retries a 503 (after its Retry-After) and a network error, then throws what retrying will not fix", async () => {
    const { source, opened } = scripted({
      connections: [
        {
          status: 503,
          headers: { "Retry-After": "0", "Content-Type": "application/json" },
          body: '{"code":"too_many_connections","message":"busy"}',
        },
        new TypeError("fetch failed"),
        { chunks: ["data: a\n\n"] },
        {
          status: 401,
          headers: { "Content-Type": "application/json" },
          body: '{"code":"unauthorized","message":"revoked","details":{"reason":"revoked"}}',
        },
      ],
    });
    const got: string[] = [];
    const error = await rejection(
      (async () => {
        for await (const m of readStream(source, { reconnect: fast })) got.push(m.data);
      })(),
    );
    assert.deepEqual(got, ["a"]);
    assert.equal(opened.length, 4);
    assert.equal(error.status, 401);
    assert.deepEqual(error.details, { reason: "revoked" });
  });

  test("gives up after maxAttempts failures in a row, with backoff between them", async () => {
    const failure = new TypeError("fetch failed");
    const { source, opened } = scripted({ connections: [failure, failure, failure, failure] });
    const error = await collect(source, { reconnect: { initialDelayMs: 10, maxDelayMs: 1000, maxAttempts: 2 } }, 1).catch(
      (e: unknown) => e,
    );
    assert.equal(error, failure);
    assert.equal(opened.length, 3);
    const gaps = [opened[1]!.at - opened[0]!.at, opened[2]!.at - opened[1]!.at];
    assert.ok(gaps[0]! >= 7 && gaps[1]! >= 15, `10 ms, then twice that (with up to 20% jitter): ${gaps}`);
  });

  test("reconnect: false ends with the stream and throws the first failure", async () => {
    const ended = scripted({ connections: [{ chunks: ["data: a\n\n"] }, { chunks: ["data: b\n\n"] }] });
    assert.deepEqual(
      (await collect(ended.source, { reconnect: false }, 10)).map((m) => m.data),
      ["a"],
    );
    assert.equal(ended.opened.length, 1);
    const failing = scripted({ connections: [{ status: 500, body: "oops" }] });
    const error = await rejection(collect(failing.source, { reconnect: false }, 1));
    assert.equal(error.code, "unexpected_response");
    assert.equal(error.status, 500);
  });

  test("a connection that goes quiet past idleTimeoutMs is dropped and reopened", async () => {
    const { source, opened } = scripted({
      connections: [
        { chunks: ["data: a\nid: 1\n\n"], hold: true },
        { chunks: ["data: b\nid: 2\n\n"], hold: true },
      ],
    });
    const got = await collect(source, { reconnect: fast, idleTimeoutMs: 50 }, 2);
    assert.deepEqual(
      got.map((m) => m.data),
      ["a", "b"],
    );
    assert.deepEqual(
      opened.map((o) => o.lastEventId),
      ["", "1"],
    );
  });

  test("an answer that is not an event stream is an error", async () => {
    const source = { open: async () => jsonResponse({ items: [] }) };
    const error = await rejection(collect(source, {}, 1));
    assert.equal(error.code, "unexpected_response");
    assert.match(error.message, /application\/json/);
  });

  test("aborting the signal ends the loop quietly, also while waiting to reconnect", async () => {
    const live = scripted({ connections: [{ chunks: ["data: a\n\n"], hold: true }] });
    const controller = new AbortController();
    const got: string[] = [];
    const loop = (async () => {
      for await (const m of readStream(live.source, { signal: controller.signal })) got.push(m.data);
    })();
    await new Promise((r) => setTimeout(r, 20));
    controller.abort();
    await loop;
    assert.deepEqual(got, ["a"]);

    const waiting = scripted({ connections: [new TypeError("down")] });
    const later = new AbortController();
    const started = Date.now();
    const loop2 = collect(waiting.source, { signal: later.signal, reconnect: { initialDelayMs: 60_000 } }, 1);
    setTimeout(() => later.abort(), 20);
    assert.deepEqual(await loop2, []);
    assert.ok(Date.now() - started < 5000);

    const before = new AbortController();
    before.abort();
    const never = scripted({ connections: [] });
    assert.deepEqual(await collect(never.source, { signal: before.signal }, 1), []);
    assert.equal(never.opened.length, 0);
  });
});
