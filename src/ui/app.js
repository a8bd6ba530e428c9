// OpenWork host page: answer write approvals, pair clients, watch each workspace's activity.
// Plain ES module, no dependencies, no build step. Everything that comes from the server is
// put on the page with textContent (never as HTML): summaries and paths are written by clients.
// The host token lives in sessionStorage (this tab only) and travels in a header, never in a URL.
// An owner device token (owt_...) works too: it travels as a bearer token instead.
import { createDevices } from "./devices.js";

const TOKEN_KEY = "openwork.hostToken";
const HOST_HEADER = "X-OpenWork-Host-Token";
const CLIENT_ID = "openwork-host-page";
const MAX_DECISIONS = 10;
const MAX_ROWS = 20;
const AUDIT_POLL_MS = 15_000;
const EVENTS_POLL_MS = 5_000;

const $ = (id) => document.getElementById(id);

const state = {
  hostToken: null,
  pairing: null,
  /** AbortController for everything started by one sign-in. */
  session: null,
  timers: [],
  /** Server clock minus ours, from the approvals snapshot, for countdowns. */
  skew: 0,
  workspaces: new Map(),
  pending: new Map(),
  known: new Map(),
  decided: new Set(),
};

// ---------------------------------------------------------------- small helpers

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

class HttpError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    /** A 401's reason: missing, malformed, unknown, revoked or expired. */
    this.reason = details?.reason;
  }
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

function timeEl(ms) {
  const date = new Date(ms);
  return el("time", { datetime: date.toISOString(), title: dateFormat.format(date), text: timeFormat.format(date) });
}

function duration(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  if (total < 60) return `${total} s`;
  const minutes = Math.floor(total / 60);
  const seconds = total % 60;
  return seconds === 0 ? `${minutes} min` : `${minutes} min ${seconds} s`;
}

function workspaceName(id) {
  return state.workspaces.get(id)?.info.name ?? id;
}

function actorText(actor) {
  if (!actor) return "unknown";
  let who = "the shared client token";
  if (actor.type === "host") who = "the host";
  else if (actor.type === "token") who = `the device "${actor.label ?? actor.tokenId}" (${actor.scope})`;
  // The client id is whatever the client chose to send: say so.
  return actor.clientId ? `${who}, calling itself "${actor.clientId}" (self-declared)` : who;
}

let announceTimer;
function announce(message) {
  const region = $("announcer");
  region.textContent = "";
  clearTimeout(announceTimer);
  // A fresh text node after a tick makes screen readers read repeated messages too.
  announceTimer = setTimeout(() => {
    region.textContent = message;
  }, 50);
}

function setConnection(kind, text) {
  const node = $("connection");
  node.dataset.state = kind;
  node.textContent = text;
}

// ---------------------------------------------------------------- HTTP

const isDeviceToken = (token) => typeof token === "string" && token.startsWith("owt_");

function headers(client, extra = {}) {
  const out = { "X-OpenWork-Client-Id": CLIENT_ID, ...extra };
  // An owner device token is an owner for every call; the host token is sent beside the client token.
  if (isDeviceToken(state.hostToken)) out.Authorization = `Bearer ${state.hostToken}`;
  else {
    out[HOST_HEADER] = state.hostToken;
    if (client) out.Authorization = `Bearer ${state.pairing?.token ?? ""}`;
  }
  return out;
}

const REFUSED = {
  revoked: "This token was revoked on the host.",
  expired: "This token has expired.",
  unknown: "The server no longer accepts this token.",
};

/** Why the server stopped taking the token we signed in with. */
function refusedMessage(error) {
  return REFUSED[error?.reason] ?? "The server no longer accepts this host token.";
}

async function api(path, { method = "GET", body, client = false, signal } = {}) {
  const init = { method, headers: headers(client), cache: "no-store", signal };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {}
  if (!res.ok) throw new HttpError(res.status, data?.code ?? "http_error", data?.message ?? `HTTP ${res.status}`, data?.details);
  return data;
}

/** Reads a server-sent event stream through fetch (EventSource cannot send our headers). */
async function readStream(path, extraHeaders, signal, onMessage, onOpen) {
  const res = await fetch(path, { headers: { ...extraHeaders, Accept: "text/event-stream" }, cache: "no-store", signal });
  if (!res.ok) {
    let data = null;
    try {
      data = await res.json();
    } catch {}
    throw new HttpError(res.status, data?.code ?? "http_error", data?.message ?? `HTTP ${res.status}`, data?.details);
  }
  if (!(res.headers.get("Content-Type") ?? "").includes("text/event-stream")) {
    await res.body?.cancel();
    throw new HttpError(res.status, "not_a_stream", "The server answered without an event stream");
  }
  onOpen?.();
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
    let end = buffer.indexOf("\n\n");
    while (end >= 0) {
      const message = parseBlock(buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
      if (message) onMessage(message);
      end = buffer.indexOf("\n\n");
    }
  }
}

function parseBlock(block) {
  let event = "message";
  let id;
  const data = [];
  for (const line of block.split("\n")) {
    if (line === "" || line.startsWith(":")) continue; // comments are heartbeats
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
    else if (field === "id") id = value;
  }
  if (data.length === 0) return null;
  let payload;
  try {
    payload = JSON.parse(data.join("\n"));
  } catch {
    return null;
  }
  return { event, id, payload };
}

async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {}
  }
  // Plain http on a LAN address is not a secure context: fall back to a hidden selection.
  const previous = document.activeElement;
  const area = el("textarea", { readonly: true, class: "sr-only", "aria-hidden": "true" });
  area.value = text;
  document.body.append(area);
  area.select();
  let ok = false;
  try {
    ok = document.execCommand("copy");
  } catch {}
  area.remove();
  previous?.focus?.();
  return ok;
}

// ---------------------------------------------------------------- sign-in

function showLogin(message = "") {
  $("dashboard").hidden = true;
  $("sign-out").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message;
  const input = $("host-token");
  input.value = "";
  input.setAttribute("aria-invalid", message ? "true" : "false");
  input.focus();
}

async function connect(token) {
  state.hostToken = token;
  const submit = $("login-form").querySelector("button[type=submit]");
  submit.disabled = true;
  setConnection("off", "Connecting…");
  try {
    const pairing = await api("/host/pairing");
    sessionStorage.setItem(TOKEN_KEY, token);
    start(pairing);
  } catch (error) {
    state.hostToken = null;
    setConnection("off", "Not connected");
    if (error.status === 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      showLogin(
        error.reason === "revoked" || error.reason === "expired"
          ? `${REFUSED[error.reason]} Ask for a new one, or use the host token.`
          : "That host token was not accepted. Check it and try again.",
      );
    } else if (error.status === 403) {
      sessionStorage.removeItem(TOKEN_KEY);
      showLogin(
        error.code === "workspace_forbidden"
          ? "That owner token is limited to some workspaces; this page needs the host token or an unlimited owner token."
          : "That token is not an owner token; this page needs the host token or an owner device token.",
      );
    } else {
      showLogin(`Could not reach the server: ${error.message}`);
    }
  } finally {
    submit.disabled = false;
  }
}

function signOut(message = "") {
  devices.stop();
  state.session?.abort();
  state.session = null;
  for (const timer of state.timers.splice(0)) clearInterval(timer);
  for (const ws of state.workspaces.values()) clearTimeout(ws.auditTimer);
  sessionStorage.removeItem(TOKEN_KEY);
  state.hostToken = null;
  state.pairing = null;
  state.workspaces.clear();
  state.pending.clear();
  state.known.clear();
  state.decided.clear();
  for (const id of ["approvals", "decisions", "urls", "server-facts", "workspaces"]) $(id).replaceChildren();
  $("client-token").textContent = "••••••••••••••••";
  $("reveal-token").setAttribute("aria-pressed", "false");
  $("reveal-token").textContent = "Reveal";
  $("copy-status").textContent = "";
  updatePendingCount();
  updateDecisionsEmpty();
  setConnection("off", "Not connected");
  showLogin(message);
}

function start(pairing) {
  state.pairing = pairing;
  state.session = new AbortController();
  const { signal } = state.session;
  $("login").hidden = true;
  $("login-error").textContent = "";
  $("dashboard").hidden = false;
  $("sign-out").hidden = false;
  renderPairing(pairing);
  renderWorkspaces(pairing);
  devices.start(pairing, signal);
  updatePendingCount();
  updateDecisionsEmpty();
  void runApprovals(signal);
  for (const ws of state.workspaces.values()) {
    if (!ws.info.authorized) continue;
    void loadAudit(ws);
    void runEvents(ws, signal);
  }
  state.timers.push(setInterval(tickCountdowns, 500));
  state.timers.push(
    setInterval(() => {
      for (const ws of state.workspaces.values()) if (ws.info.authorized) void loadAudit(ws);
    }, AUDIT_POLL_MS),
  );
  $("approvals-heading").focus();
}

// ---------------------------------------------------------------- pairing

function isLoopback(url) {
  try {
    const host = new URL(url).hostname;
    return host === "localhost" || host === "[::1]" || host.startsWith("127.");
  } catch {
    return false;
  }
}

function renderPairing(pairing) {
  const status = $("copy-status");
  const list = $("urls");
  list.replaceChildren(
    ...pairing.urls.map((url) =>
      el(
        "li",
        {},
        el("code", { text: url }),
        el("span", { class: "tag", text: isLoopback(url) ? "this computer only" : "network" }),
        el("button", {
          type: "button",
          class: "secondary",
          text: "Copy",
          "aria-label": `Copy address ${url}`,
          onclick: async () => {
            status.textContent = (await copyText(url)) ? `Copied ${url}.` : "Copying failed: select the address and copy it by hand.";
          },
        }),
      ),
    ),
  );
  const facts = $("server-facts");
  const { mode, timeoutMs } = pairing.approval;
  facts.replaceChildren(
    el("dt", { text: "Approval" }),
    el("dd", {
      text: mode === "manual" ? `manual: each write waits up to ${duration(timeoutMs)} for you` : "auto: writes are allowed without asking",
    }),
    el("dt", { text: "Read-only" }),
    el("dd", { text: pairing.readOnly ? "yes: every write except engine reload is refused" : "no" }),
    el("dt", { text: "Version" }),
    el("dd", { text: pairing.version ?? "unknown" }),
  );
  $("approval-mode").textContent =
    mode === "manual"
      ? `Manual approval: a write waits up to ${duration(timeoutMs)}, then it is denied.`
      : "Approval mode is auto: writes are allowed without asking, so nothing will wait here.";
}

function setupTokenControls() {
  const reveal = $("reveal-token");
  const code = $("client-token");
  reveal.addEventListener("click", () => {
    const shown = reveal.getAttribute("aria-pressed") === "true";
    reveal.setAttribute("aria-pressed", shown ? "false" : "true");
    reveal.textContent = shown ? "Reveal" : "Hide";
    code.textContent = shown ? "••••••••••••••••" : (state.pairing?.token ?? "");
  });
  $("copy-token").addEventListener("click", async () => {
    const token = state.pairing?.token;
    if (!token) return;
    $("copy-status").textContent = (await copyText(token))
      ? "Client token copied."
      : "Copying failed: reveal the token and copy it by hand.";
  });
}

// ---------------------------------------------------------------- approvals

async function runApprovals(signal) {
  let delay = 1000;
  while (!signal.aborted) {
    try {
      await readStream("/approvals", headers(false), signal, (message) => {
        delay = 1000;
        onApprovalMessage(message);
      });
    } catch (error) {
      if (signal.aborted) return;
      if (error.status === 401) return signOut(refusedMessage(error));
    }
    if (signal.aborted) return;
    setConnection("retry", "Connection lost, reconnecting…");
    await sleep(delay, signal);
    delay = Math.min(delay * 2, 15_000);
  }
}

function onApprovalMessage({ event, payload }) {
  if (event === "snapshot") {
    state.skew = typeof payload.now === "number" ? payload.now - Date.now() : 0;
    const ids = new Set(payload.items.map((r) => r.id));
    // Answered while we were away: the outcome is unknown, so just drop the card.
    for (const id of [...state.pending.keys()]) {
      if (ids.has(id)) continue;
      removeCard(id);
      state.known.delete(id);
    }
    for (const request of payload.items) if (!state.pending.has(request.id)) addPending(request, false);
    if (payload.items.length > 0) announce(`${payload.items.length} write${payload.items.length === 1 ? "" : "s"} waiting for approval.`);
    setConnection("live", "Live");
  } else if (event === "requested") {
    addPending(payload, true);
  } else if (event === "resolved") {
    resolvePending(payload);
  }
}

function updatePendingCount() {
  const count = state.pending.size;
  const badge = $("pending-count");
  badge.textContent = String(count);
  badge.dataset.count = String(count);
  $("approvals-empty").hidden = count > 0;
  document.title = count > 0 ? `(${count}) OpenWork host` : "OpenWork host";
}

function updateDecisionsEmpty() {
  $("decisions-empty").hidden = $("decisions").children.length > 0;
}

function addPending(request, isNew) {
  if (state.pending.has(request.id) || state.decided.has(request.id)) return;
  state.known.set(request.id, request);
  const titleId = `apr-${request.id}`;
  const what = `${request.action} on ${workspaceName(request.workspaceId)}`;
  const countdown = el("span", { class: "countdown" });
  const error = el("p", { class: "error", role: "alert" });
  const allow = el("button", { type: "button", class: "allow" }, "Allow", el("span", { class: "sr-only", text: ` ${what}` }));
  const deny = el("button", { type: "button", class: "deny" }, "Deny", el("span", { class: "sr-only", text: ` ${what}` }));
  const paths = request.paths ?? [];
  const card = el(
    "li",
    { "aria-labelledby": titleId, dataset: { approvalId: request.id } },
    el(
      "div",
      { class: "card-head" },
      el("h3", { id: titleId, text: request.action }),
      el("span", { class: "tag", text: workspaceName(request.workspaceId) }),
    ),
    el("p", { class: "summary", text: request.summary }),
    paths.length > 0
      ? [
          el("p", { class: "meta", text: paths.length === 1 ? "File it will write:" : `Files it will write (${paths.length}):` }),
          el(
            "ul",
            { class: "paths" },
            paths.map((p) => el("li", {}, el("code", { text: p }))),
          ),
        ]
      : el("p", { class: "meta", text: "It writes no files." }),
    el("p", { class: "meta", text: `Asked by ${actorText(request.actor)}` }),
    el("p", { class: "meta" }, "Denied automatically in ", countdown),
    el("div", { class: "actions" }, allow, deny),
    error,
  );
  allow.addEventListener("click", () => answer(request.id, "allow", card));
  deny.addEventListener("click", () => answer(request.id, "deny", card));
  state.pending.set(request.id, { request, card, countdown });
  $("approvals").append(card);
  updateCountdown(state.pending.get(request.id));
  updatePendingCount();
  if (isNew) announce(`New approval request: ${what}. ${request.summary}`);
}

async function answer(id, reply, card) {
  if (card.dataset.busy) return;
  // aria-disabled, not disabled: a disabled button would drop the keyboard focus to <body>.
  card.dataset.busy = "true";
  const buttons = card.querySelectorAll(".actions button");
  for (const b of buttons) b.setAttribute("aria-disabled", "true");
  const error = card.querySelector(".error");
  error.textContent = "";
  try {
    const result = await api(`/approvals/${encodeURIComponent(id)}`, { method: "POST", body: { reply } });
    resolvePending({ id, allowed: result.allowed, ...(result.allowed ? {} : { reason: "denied" }), resolvedAt: Date.now() });
  } catch (e) {
    if (e.status === 401) return signOut(refusedMessage(e));
    if (e.status === 404) {
      announce("That request was already answered or has expired.");
      removeCard(id);
      return;
    }
    error.textContent = `Could not send your answer: ${e.message}`;
    delete card.dataset.busy;
    for (const b of buttons) b.removeAttribute("aria-disabled");
  }
}

function removeCard(id) {
  const entry = state.pending.get(id);
  if (!entry) return;
  state.pending.delete(id);
  const hadFocus = entry.card.contains(document.activeElement);
  const next = entry.card.nextElementSibling ?? entry.card.previousElementSibling;
  entry.card.remove();
  updatePendingCount();
  if (hadFocus) (next?.querySelector("button.allow") ?? $("approvals-heading")).focus();
}

const OUTCOMES = {
  denied: "Denied",
  timeout: "Timed out (denied)",
  shutdown: "Server stopped (denied)",
};

function resolvePending(outcome) {
  const request = state.pending.get(outcome.id)?.request ?? state.known.get(outcome.id);
  removeCard(outcome.id);
  state.known.delete(outcome.id);
  if (state.decided.has(outcome.id)) return;
  state.decided.add(outcome.id);
  if (!request) return;
  const label = outcome.allowed ? "Allowed" : (OUTCOMES[outcome.reason] ?? "Denied");
  const list = $("decisions");
  list.prepend(
    el(
      "li",
      {},
      timeEl(outcome.resolvedAt ?? Date.now()),
      el("span", { class: outcome.allowed ? "outcome-allowed" : "outcome-denied", text: label }),
      ` ${request.action} on ${workspaceName(request.workspaceId)}: ${request.summary}`,
    ),
  );
  while (list.children.length > MAX_DECISIONS) list.lastElementChild.remove();
  updateDecisionsEmpty();
  announce(`${label}: ${request.action} on ${workspaceName(request.workspaceId)}.`);
  const ws = state.workspaces.get(request.workspaceId);
  if (ws && outcome.allowed) scheduleAudit(ws);
}

function updateCountdown(entry) {
  const left = entry.request.expiresAt - (Date.now() + state.skew);
  entry.countdown.textContent = left > 0 ? duration(left) : "a moment";
  if (left < 10_000) entry.countdown.dataset.soon = "";
  else delete entry.countdown.dataset.soon;
}

function tickCountdowns() {
  for (const entry of state.pending.values()) updateCountdown(entry);
}

// ---------------------------------------------------------------- workspaces

function renderWorkspaces(pairing) {
  state.workspaces.clear();
  const container = $("workspaces");
  container.replaceChildren();
  if (pairing.workspaces.length === 0) container.append(el("p", { class: "empty", text: "No workspaces are configured." }));
  for (const info of pairing.workspaces) {
    const titleId = `ws-${info.id}`;
    const audit = el("ul", { class: "log" });
    const auditEmpty = el("p", { class: "empty", text: "Loading…" });
    const events = el("ul", { class: "log" });
    const eventsEmpty = el("p", { class: "empty", text: "None yet." });
    const eventsMode = el("span", { class: "tag", text: "connecting" });
    const ws = { info, audit, auditEmpty, events, eventsEmpty, eventsMode, lastSeq: 0, auditTimer: 0, streams: true };
    const reloadStatus = el("p", { class: "meta", role: "status" });
    const engine = info.baseUrl
      ? [
          el("p", { class: "meta" }, "Engine: ", el("code", { text: info.baseUrl })),
          el(
            "div",
            { class: "row wrap" },
            el(
              "button",
              { type: "button", class: "secondary", onclick: (event) => reloadEngine(ws, event.currentTarget, reloadStatus) },
              "Reload engine",
              el("span", { class: "sr-only", text: ` for ${info.name}` }),
            ),
          ),
          reloadStatus,
        ]
      : el("p", { class: "meta", text: "No engine configured." });
    container.append(
      el(
        "article",
        { class: "workspace", "aria-labelledby": titleId },
        el("h3", { id: titleId, text: info.name }),
        el("p", { class: "meta" }, el("code", { text: info.path }), " · ", el("span", { class: "mono", text: info.id })),
        info.authorized === false ? el("p", { class: "error", text: "Outside the authorized roots: not served." }) : null,
        engine,
        info.authorized === false
          ? null
          : el(
              "div",
              { class: "activity" },
              el("div", {}, el("h4", { text: "Recent changes" }), auditEmpty, audit),
              el("div", {}, el("h4", {}, "Reload events ", eventsMode), eventsEmpty, events),
            ),
      ),
    );
    state.workspaces.set(info.id, ws);
  }
}

async function reloadEngine(ws, button, status) {
  button.disabled = true;
  status.className = "meta";
  status.textContent = state.pairing?.approval.mode === "manual" ? "Reloading… (approve the engine.reload request above)" : "Reloading…";
  try {
    const result = await api(`/workspace/${encodeURIComponent(ws.info.id)}/engine/reload`, {
      method: "POST",
      client: true,
      signal: state.session?.signal,
    });
    status.className = "meta ok";
    status.textContent = `Engine reloaded at ${timeFormat.format(new Date(result?.reloadedAt ?? Date.now()))}.`;
  } catch (e) {
    if (e.name === "AbortError") return;
    status.className = "error";
    status.textContent = `Reload failed: ${e.message} (${e.code}).`;
  } finally {
    button.disabled = false;
    scheduleAudit(ws);
  }
}

function scheduleAudit(ws) {
  clearTimeout(ws.auditTimer);
  ws.auditTimer = setTimeout(() => void loadAudit(ws), 200);
}

async function loadAudit(ws) {
  // A timer or a finished reload from before a sign-out: that card is gone.
  if (state.workspaces.get(ws.info.id) !== ws) return;
  try {
    const data = await api(`/workspace/${encodeURIComponent(ws.info.id)}/audit?limit=${MAX_ROWS}`, {
      client: true,
      signal: state.session?.signal,
    });
    const items = data?.items ?? [];
    ws.audit.replaceChildren(
      ...items.map((entry) =>
        el(
          "li",
          {},
          timeEl(entry.timestamp),
          el("strong", { text: entry.action }),
          ` ${entry.summary} `,
          el("span", { class: "who", text: `(${actorText(entry.actor)})` }),
        ),
      ),
    );
    ws.auditEmpty.textContent = "No changes yet.";
    ws.auditEmpty.hidden = items.length > 0;
  } catch (e) {
    if (e.name === "AbortError") return;
    ws.auditEmpty.hidden = false;
    ws.auditEmpty.textContent = `Could not load the audit log: ${e.message}`;
  }
}

function addEvent(ws, event, live) {
  // Events arrive in seq order (history, then the stream after it): anything not newer is a repeat.
  if (typeof event?.seq !== "number" || event.seq <= ws.lastSeq) return;
  ws.lastSeq = event.seq;
  const trigger = event.trigger;
  const cause =
    trigger?.source === "watcher"
      ? `changed on disk${trigger.path ? `: ${trigger.path}` : ""}`
      : trigger?.action
        ? `by ${trigger.action}`
        : "";
  ws.events.prepend(el("li", {}, timeEl(event.timestamp), el("strong", { text: event.reason }), cause ? ` ${cause}` : ""));
  while (ws.events.children.length > MAX_ROWS) ws.events.lastElementChild.remove();
  ws.eventsEmpty.hidden = true;
  if (live) scheduleAudit(ws);
}

/** Reload events: history first, then the live stream; polls when the server has no stream. */
async function runEvents(ws, signal) {
  const path = `/workspace/${encodeURIComponent(ws.info.id)}/events`;
  let delay = 2000;
  let first = true;
  while (!signal.aborted) {
    try {
      const data = await api(`${path}?since=${ws.lastSeq}`, { client: true, signal });
      // Seqs restart with the server, which then replays what it has from the start.
      if (typeof data?.cursor === "number" && data.cursor < ws.lastSeq) ws.lastSeq = 0;
      for (const event of data?.items ?? []) addEvent(ws, event, !first);
      if (typeof data?.cursor === "number") ws.lastSeq = Math.max(ws.lastSeq, data.cursor);
      first = false;
      if (ws.streams) {
        try {
          await readStream(
            `${path}?since=${ws.lastSeq}`,
            headers(true, { "Last-Event-ID": String(ws.lastSeq) }),
            signal,
            ({ payload }) => addEvent(ws, payload, true),
            () => {
              delay = 2000;
              ws.eventsMode.textContent = "live";
            },
          );
          await sleep(1000, signal);
          continue; // the stream ended: catch up and reconnect
        } catch (e) {
          if (e.code !== "not_a_stream") throw e;
          ws.streams = false;
        }
      }
      ws.eventsMode.textContent = "polling";
      await sleep(EVENTS_POLL_MS, signal);
    } catch (e) {
      if (signal.aborted) return;
      if (e.status === 404 && e.code === "not_found") {
        ws.eventsMode.textContent = "not available";
        await sleep(30_000, signal);
        continue;
      }
      ws.eventsMode.textContent = "reconnecting";
      await sleep(delay, signal);
      delay = Math.min(delay * 2, 30_000);
    }
  }
}

// ---------------------------------------------------------------- boot

const devices = createDevices({
  $,
  el,
  api: (path, options = {}) => api(path, options),
  copyText,
  announce,
  onUnauthorized: (error) => signOut(refusedMessage(error)),
});

function boot() {
  setupTokenControls();
  $("login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = $("host-token").value.trim();
    if (!token) {
      $("login-error").textContent = "Enter the host token.";
      $("host-token").setAttribute("aria-invalid", "true");
      $("host-token").focus();
      return;
    }
    void connect(token);
  });
  $("sign-out").addEventListener("click", () => signOut());
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) void connect(saved);
  else showLogin();
}

boot();
