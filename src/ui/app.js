// OpenWork host page: answer write approvals, pair clients, watch each workspace's activity.
// Plain ES module, no dependencies, no build step. Everything that comes from the server is
// put on the page with textContent (never as HTML): summaries and paths are written by clients.
// The host token lives in sessionStorage (this tab only) and travels in a header, never in a URL.
// An owner device token (owt_...) works too: it travels as a bearer token instead.
import { actionText, actorText, createCardParts, riskLabel, riskLevel, sortedRisks } from "./approval-card.js";
import { createDevices } from "./devices.js";
import { createGrants } from "./grants.js";

const TOKEN_KEY = "openwork.hostToken";
const HOST_HEADER = "X-OpenWork-Host-Token";
const CLIENT_ID = "openwork-host-page";
const MAX_DECISIONS = 10;
const MAX_ROWS = 20;
const AUDIT_POLL_MS = 15_000;
const EVENTS_POLL_MS = 5_000;
/** How long a card whose buttons just moved (or that just arrived) ignores input. */
const SETTLE_MS = 500;
/** Reconnect backoff of the approvals stream: first wait, doubling up to the last. */
const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 15_000;
/** The server sends a heartbeat every 15 s: silence this long means the connection is dead. */
const STREAM_IDLE_MS = 40_000;
/** A decision shown before its audit entry is read stays this long at most. */
const PROVISIONAL_MS = 15_000;

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
  /** The server run the approvals stream last saw (its snapshot's `instanceId`). */
  instanceId: null,
  /** True while the approvals stream is down: cards are out of date and cannot be answered. */
  stale: false,
  /** Cuts the reconnect wait short ("Retry now"); null when not waiting. */
  retryNow: null,
  /** Stops the workspaces' audit and event loops (they restart when the server does). */
  workspacesRun: null,
  /** Recent decisions: from the server's audit logs, plus ones just seen on the stream. */
  serverDecisions: [],
  provisional: new Map(),
  decisionsTimer: 0,
  notifications: new Map(),
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

/** True for an error a section need not show: an aborted request, or a refused credential (signs out). */
function handledError(error) {
  if (error?.name === "AbortError") return true;
  if (error?.status !== 401) return false;
  signOut(refusedMessage(error));
  return true;
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
async function readStream(path, extraHeaders, signal, onMessage, onOpen, onData) {
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
    onData?.(); // heartbeats included: the connection is alive
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
    let end = buffer.indexOf("\n\n");
    while (end >= 0) {
      const message = parseBlock(buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
      if (message) await onMessage(message);
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
  grants.stop();
  state.session?.abort();
  state.session = null;
  for (const timer of state.timers.splice(0)) clearInterval(timer);
  for (const ws of state.workspaces.values()) clearTimeout(ws.auditTimer);
  sessionStorage.removeItem(TOKEN_KEY);
  state.hostToken = null;
  state.pairing = null;
  state.workspaces.clear();
  for (const entry of state.pending.values()) clearTimeout(entry.settleTimer);
  state.pending.clear();
  state.known.clear();
  state.decided.clear();
  state.instanceId = null;
  state.stale = false;
  state.retryNow = null;
  state.workspacesRun = null;
  state.serverDecisions = [];
  state.provisional.clear();
  clearTimeout(state.decisionsTimer);
  for (const note of state.notifications.values()) note.close();
  state.notifications.clear();
  $("reconnect").hidden = true;
  $("server-notice").hidden = true;
  $("decisions-error").textContent = "";
  if ($("deny-all-dialog").open) $("deny-all-dialog").close();
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
  startWorkspaces(pairing, signal);
  devices.start(pairing, signal);
  grants.start(pairing, signal);
  updatePendingCount();
  updateDecisionsEmpty();
  void runApprovals(signal);
  void loadDecisions();
  state.timers.push(setInterval(tickCountdowns, 500));
  state.timers.push(
    setInterval(() => {
      for (const ws of state.workspaces.values()) if (ws.info.authorized) void loadAudit(ws);
      // Writes let through by a grant (or auto mode) are decided without the stream.
      void loadDecisions();
    }, AUDIT_POLL_MS),
  );
  $("approvals-heading").focus();
}

/** Draws the workspaces and starts their audit and event loops (again, after a server restart). */
function startWorkspaces(pairing, sessionSignal) {
  state.workspacesRun?.abort();
  const run = new AbortController();
  sessionSignal.addEventListener("abort", () => run.abort(), { once: true });
  state.workspacesRun = run;
  for (const ws of state.workspaces.values()) clearTimeout(ws.auditTimer);
  renderWorkspaces(pairing);
  for (const ws of state.workspaces.values()) {
    if (!ws.info.authorized) continue;
    void loadAudit(ws);
    void runEvents(ws, run.signal);
  }
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

// No reflex approvals: nothing answers a request the host has not had a moment to look at.
// After an answer the focus goes to the next card's heading (never its Allow button), a card
// whose buttons just moved (a card above it left, it just arrived) ignores input for
// SETTLE_MS, and a card already being answered ignores further presses.

async function runApprovals(signal) {
  let delay = RETRY_FIRST_MS;
  while (!signal.aborted) {
    // One attempt: ended by the session, by the server, by a network error, or by the watchdog
    // when not even a heartbeat arrived for a while (a connection that died silently).
    const attempt = new AbortController();
    const stop = () => attempt.abort();
    signal.addEventListener("abort", stop, { once: true });
    let watchdog = 0;
    const alive = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(stop, STREAM_IDLE_MS);
    };
    try {
      alive();
      await readStream(
        "/approvals",
        headers(false),
        attempt.signal,
        async (message) => {
          delay = RETRY_FIRST_MS;
          await onApprovalMessage(message, signal);
        },
        undefined,
        alive,
      );
    } catch (error) {
      if (signal.aborted) return;
      if (error.status === 401) return signOut(refusedMessage(error));
    } finally {
      clearTimeout(watchdog);
      signal.removeEventListener("abort", stop);
      attempt.abort();
    }
    if (signal.aborted) return;
    setStale(true);
    await waitToRetry(delay, signal);
    delay = Math.min(delay * 2, RETRY_MAX_MS);
  }
}

/** Waits `ms` with a countdown on the page; "Retry now" (or the browser going online) cuts it short. */
function waitToRetry(ms, signal) {
  return new Promise((resolve) => {
    const until = Date.now() + ms;
    const when = $("reconnect-when");
    let timer = 0;
    const done = () => {
      if (state.retryNow !== done) return;
      state.retryNow = null;
      clearInterval(timer);
      signal.removeEventListener("abort", done);
      when.textContent = "Reconnecting…";
      resolve();
    };
    const tick = () => {
      const left = until - Date.now();
      if (left <= 0) return done();
      when.textContent = `Reconnecting in ${Math.ceil(left / 1000)} s.`;
    };
    state.retryNow = done;
    signal.addEventListener("abort", done, { once: true });
    timer = setInterval(tick, 250);
    tick();
  });
}

async function onApprovalMessage({ event, payload }, signal) {
  if (event === "snapshot") await onSnapshot(payload, signal);
  else if (event === "requested") addPending(payload, true);
  else if (event === "resolved") resolvePending(payload);
}

async function onSnapshot(payload, signal) {
  const instanceId = typeof payload.instanceId === "string" ? payload.instanceId : null;
  const restarted = state.instanceId !== null && instanceId !== null && instanceId !== state.instanceId;
  if (instanceId) state.instanceId = instanceId;
  // Another server run: its pairing details, workspaces and devices may all differ.
  if (restarted) await reloadSettings(signal);
  if (signal.aborted) return;
  state.skew = typeof payload.now === "number" ? payload.now - Date.now() : 0;
  const items = Array.isArray(payload.items) ? payload.items : [];
  const ids = new Set(items.map((r) => r.id));
  moveCards(() => {
    // Answered, withdrawn or expired while we were away: the recent decisions say how.
    for (const id of [...state.pending.keys()]) {
      if (ids.has(id)) continue;
      removeCard(id);
      state.known.delete(id);
    }
    for (const request of items) if (!state.pending.has(request.id)) addPending(request, false);
    setStale(false);
  });
  setConnection("live", "Live");
  if (items.length > 0) announce(`${items.length} write${items.length === 1 ? "" : "s"} waiting for approval.`);
  void loadDecisions();
}

/** Marks every card out of date (and unanswerable) while the connection is down, or live again. */
function setStale(stale) {
  if (state.stale === stale) return;
  state.stale = stale;
  moveCards(() => {
    $("reconnect").hidden = !stale;
    for (const entry of state.pending.values()) markStale(entry, stale);
  });
  updatePendingCount();
  if (stale) {
    setConnection("retry", "Connection lost, reconnecting…");
    announce("Connection to the server lost: the pending requests cannot be answered until the page reconnects.");
  }
}

function markStale(entry, stale) {
  const { card } = entry;
  if (stale) card.dataset.stale = "";
  else delete card.dataset.stale;
  entry.staleNote.hidden = !stale;
  for (const b of card.querySelectorAll(".actions button")) {
    if (stale || card.dataset.busy) b.setAttribute("aria-disabled", "true");
    else b.removeAttribute("aria-disabled");
  }
}

/** A new server run: fetch the settings again, redraw what depends on them, and say so. */
async function reloadSettings(signal) {
  let pairing;
  try {
    pairing = await api("/host/pairing", { signal });
  } catch (error) {
    if (signal.aborted) return;
    if (error.status === 401) {
      signOut("The server restarted and no longer accepts this token. Enter the host token it printed.");
      return;
    }
    showNotice(`The server restarted (a new instance), but its settings could not be reloaded: ${error.message}. Reload the page.`);
    return;
  }
  if (signal.aborted) return;
  state.pairing = pairing;
  renderPairing(pairing);
  startWorkspaces(pairing, signal);
  devices.reload(pairing);
  grants.reload(pairing);
  showNotice(
    `The server restarted (a new instance) at ${timeFormat.format(new Date())}. Pairing details, workspaces, devices and grants were reloaded; writes that waited before the restart were refused by the server.`,
  );
}

function showNotice(text) {
  moveCards(() => {
    $("server-notice-text").textContent = text;
    $("server-notice").hidden = false;
  });
  announce(text);
}

function hideNotice() {
  moveCards(() => {
    $("server-notice").hidden = true;
  });
}

function updatePendingCount() {
  const count = state.pending.size;
  const badge = $("pending-count");
  badge.textContent = String(count);
  badge.dataset.count = String(count);
  $("approvals-empty").hidden = count > 0;
  $("deny-all").hidden = count < 2;
  if (state.stale) $("deny-all").setAttribute("aria-disabled", "true");
  else $("deny-all").removeAttribute("aria-disabled");
  const offline = state.stale ? " (offline)" : "";
  document.title = count > 0 ? `(${count}) OpenWork host${offline}` : `OpenWork host${offline}`;
}

/** Where each card's buttons are on screen. */
function buttonTops() {
  const tops = new Map();
  for (const entry of state.pending.values()) tops.set(entry, entry.actions.getBoundingClientRect().top);
  return tops;
}

let moving = 0;
/**
 * Runs `change` (anything that can move cards), then lets every card whose buttons moved, or
 * that just arrived, ignore input for a moment: what is under the pointer now is not what the
 * host aimed at.
 */
function moveCards(change) {
  if (moving > 0 || state.pending.size === 0) {
    change();
    return;
  }
  moving++;
  let before;
  try {
    before = buttonTops();
    change();
  } finally {
    moving--;
  }
  for (const entry of state.pending.values()) {
    const was = before.get(entry);
    if (was === undefined || Math.abs(entry.actions.getBoundingClientRect().top - was) > 1) settle(entry);
  }
}

function settle(entry) {
  entry.settleUntil = performance.now() + SETTLE_MS;
  entry.card.dataset.settling = "";
  clearTimeout(entry.settleTimer);
  entry.settleTimer = setTimeout(() => delete entry.card.dataset.settling, SETTLE_MS);
}

function addPending(request, isNew) {
  if (state.pending.has(request.id) || state.decided.has(request.id)) return;
  state.known.set(request.id, request);
  const titleId = `apr-${request.id}`;
  const what = `${request.action} on ${workspaceName(request.workspaceId)}`;
  const countdown = el("span", { class: "countdown" });
  const error = el("p", { class: "error", role: "alert" });
  const hint = el("p", { class: "hint meta", role: "status" });
  const staleNote = el("p", {
    class: "stale-note",
    text: "Out of date: the connection to the server is lost. This request cannot be answered until the page reconnects.",
  });
  const allow = el("button", { type: "button", class: "allow" }, "Allow", el("span", { class: "sr-only", text: ` ${what}` }));
  const deny = el("button", { type: "button", class: "deny" }, "Deny", el("span", { class: "sr-only", text: ` ${what}` }));
  const actions = el("div", { class: "actions" }, allow, deny);
  const heading = el("h3", { id: titleId, tabindex: "-1", text: actionText(request.action) });
  const card = el(
    "li",
    { "aria-labelledby": titleId, dataset: { approvalId: request.id, risk: riskLevel(request.risks) } },
    el(
      "div",
      { class: "card-head" },
      heading,
      el("span", { class: "tag", text: workspaceName(request.workspaceId) }),
      el("code", { class: "action", text: request.action }),
    ),
    cardParts.body(request),
    el("p", { class: "meta" }, "Denied automatically in ", countdown),
    staleNote,
    actions,
    // Below the buttons: a hint that appears must not move them.
    hint,
    error,
  );
  const entry = { request, card, heading, actions, countdown, staleNote, hint, settleUntil: 0, settleTimer: 0, hintTimer: 0 };
  const press = (reply) => (event) => {
    if (card.dataset.busy || state.stale) return;
    // Pointer input only (`detail` counts clicks; 0 from the keyboard): the keyboard focus never
    // lands on a button that moved, it goes to a heading.
    if (event.detail > 0 && performance.now() < entry.settleUntil) {
      showHint(entry, "This request just moved here: look at it, then press again.");
      return;
    }
    void answer(entry, reply);
  };
  allow.addEventListener("click", press("allow"));
  deny.addEventListener("click", press("deny"));
  // Opening or closing a text (<details>) moves this card's buttons and every card below.
  card.addEventListener(
    "toggle",
    () => {
      for (let next = card; next; next = next.nextElementSibling) {
        const moved = state.pending.get(next.dataset.approvalId);
        if (moved) settle(moved);
      }
    },
    true,
  );
  markStale(entry, state.stale);
  moveCards(() => {
    state.pending.set(request.id, entry);
    $("approvals").append(card);
    updatePendingCount();
  });
  // A card that appears under the pointer is as new to the eye as one that moved there.
  settle(entry);
  updateCountdown(entry);
  if (isNew) {
    const risks = sortedRisks(request.risks).map((r) => riskLabel(r.kind));
    const riskWords = risks.length > 0 ? ` Risks: ${[...new Set(risks)].join(", ")}.` : "";
    announce(
      `New approval request: ${actionText(request.action)} in ${workspaceName(request.workspaceId)}.${riskWords} ${request.summary}`,
    );
    notifyNew(request, entry);
  }
}

function showHint(entry, text) {
  entry.hint.textContent = text;
  clearTimeout(entry.hintTimer);
  entry.hintTimer = setTimeout(() => {
    entry.hint.textContent = "";
  }, 2500);
}

async function answer(entry, reply) {
  const { card, request } = entry;
  const id = request.id;
  // aria-disabled, not disabled: a disabled button would drop the keyboard focus to <body>.
  card.dataset.busy = "true";
  const buttons = card.querySelectorAll(".actions button");
  for (const b of buttons) b.setAttribute("aria-disabled", "true");
  const error = card.querySelector(".error");
  error.textContent = "";
  try {
    const result = await api(`/approvals/${encodeURIComponent(id)}`, { method: "POST", body: { reply } });
    resolvePending({
      id,
      allowed: result.allowed,
      ...(result.allowed ? {} : { reason: "denied" }),
      decidedBy: "host",
      resolvedAt: Date.now(),
    });
  } catch (e) {
    if (e.status === 401) return signOut(refusedMessage(e));
    if (e.status === 404) {
      announce("That request was already answered, withdrawn or has expired.");
      moveCards(() => removeCard(id));
      void loadDecisions();
      return;
    }
    error.textContent = `Could not send your answer: ${e.message}`;
    delete card.dataset.busy;
    markStale(entry, state.stale);
  }
}

function removeCard(id) {
  const entry = state.pending.get(id);
  if (!entry) return;
  const hadFocus = entry.card.contains(document.activeElement);
  const next = entry.card.nextElementSibling ?? entry.card.previousElementSibling;
  clearTimeout(entry.settleTimer);
  clearTimeout(entry.hintTimer);
  state.notifications.get(id)?.close();
  state.notifications.delete(id);
  moveCards(() => {
    state.pending.delete(id);
    entry.card.remove();
    updatePendingCount();
  });
  // The next card's heading, never its Allow button: a second press of Enter must not answer it.
  if (hadFocus) (next?.querySelector("h3") ?? $("approvals-heading")).focus();
}

function resolvePending(outcome) {
  const request = state.pending.get(outcome.id)?.request ?? state.known.get(outcome.id);
  removeCard(outcome.id);
  state.known.delete(outcome.id);
  if (state.decided.has(outcome.id)) return;
  state.decided.add(outcome.id);
  if (!request) return;
  // Shown at once; the audit entry (with the write's real outcome) replaces it when it is read.
  state.provisional.set(outcome.id, {
    requestId: outcome.id,
    provisional: true,
    outcome: outcome.allowed ? "allowed" : (outcome.reason ?? "denied"),
    decidedBy: outcome.decidedBy,
    decidedAt: outcome.resolvedAt ?? Date.now(),
    action: request.action,
    workspaceId: request.workspaceId,
    summary: request.summary,
    actor: request.actor,
  });
  renderDecisions();
  scheduleDecisions();
  const label = OUTCOMES[outcome.allowed ? "allowed" : (outcome.reason ?? "denied")] ?? "Denied";
  announce(`${label}: ${actionText(request.action)} in ${workspaceName(request.workspaceId)}.`);
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

// ---------------------------------------------------------------- deny all

/** The requests the dialog names: only these are denied, not one that arrives while it is open. */
let denyAllIds = [];

function openDenyAll() {
  if (state.stale || state.pending.size === 0) return;
  const entries = [...state.pending.values()];
  denyAllIds = entries.map((e) => e.request.id);
  $("deny-all-text").textContent =
    `These ${entries.length} writes will be refused (each client gets 403 write_denied). Requests that arrive meanwhile are not included.`;
  $("deny-all-list").replaceChildren(
    ...entries.map((e) =>
      el("li", {}, `${actionText(e.request.action)} in ${workspaceName(e.request.workspaceId)}: `, el("span", { text: e.request.summary })),
    ),
  );
  $("deny-all-confirm").textContent = `Deny ${entries.length} writes`;
  $("deny-all-error").textContent = "";
  $("deny-all-dialog").showModal();
}

async function confirmDenyAll() {
  const ids = denyAllIds;
  denyAllIds = [];
  const button = $("deny-all-confirm");
  button.setAttribute("aria-disabled", "true");
  let denied = 0;
  let failed = 0;
  for (const id of ids) {
    try {
      await api(`/approvals/${encodeURIComponent(id)}`, { method: "POST", body: { reply: "deny" } });
      denied++;
      resolvePending({ id, allowed: false, reason: "denied", decidedBy: "host", resolvedAt: Date.now() });
    } catch (e) {
      if (e.status === 401) return signOut(refusedMessage(e));
      if (e.status !== 404) failed++;
    }
  }
  button.removeAttribute("aria-disabled");
  if (failed > 0) {
    $("deny-all-error").textContent = `${failed} could not be denied; they are still waiting.`;
    return;
  }
  $("deny-all-dialog").close();
  announce(`Denied ${denied} write${denied === 1 ? "" : "s"}.`);
  $("approvals-heading").focus();
}

// ---------------------------------------------------------------- recent decisions

const OUTCOMES = {
  allowed: "Allowed, writing…",
  applied: "Allowed, written",
  denied: "Denied",
  timeout: "Timed out (denied)",
  withdrawn: "Withdrawn by the client",
  shutdown: "Refused: server stopped",
  failed: "Allowed, but the write failed",
  changed_since_approval: "Allowed, not written: the files changed meanwhile",
};

const OUTCOME_CLASS = { allowed: "outcome-allowed", applied: "outcome-allowed", denied: "outcome-denied", timeout: "outcome-denied" };

function deciderText(entry) {
  const by = entry.decidedBy;
  if (by === "auto") return "automatically (auto mode)";
  if (by === "host") return "the host";
  if (by && typeof by === "object" && "grantId" in by) return `a grant (${by.grantId})`;
  if (by && typeof by === "object" && "tokenId" in by) return `the owner device “${by.label ?? by.tokenId}”`;
  return null;
}

function scheduleDecisions() {
  clearTimeout(state.decisionsTimer);
  // The audit entry is written once the write is done: read it a moment later (and once more).
  state.decisionsTimer = setTimeout(() => {
    void loadDecisions();
    state.decisionsTimer = setTimeout(() => void loadDecisions(), 1500);
  }, 300);
}

async function loadDecisions() {
  const signal = state.session?.signal;
  if (!signal || signal.aborted) return;
  try {
    const data = await api(`/approvals?state=decided&limit=${MAX_DECISIONS}`, { signal });
    state.serverDecisions = Array.isArray(data?.items) ? data.items : [];
    $("decisions-error").textContent = "";
    renderDecisions();
  } catch (e) {
    if (handledError(e)) return;
    $("decisions-error").textContent = `Could not load the recent decisions: ${e.message}`;
  }
}

function renderDecisions() {
  const fromServer = state.serverDecisions;
  const seen = new Set(fromServer.map((e) => e.requestId).filter(Boolean));
  const now = Date.now();
  for (const [id, entry] of state.provisional) {
    if (seen.has(id) || now - entry.decidedAt > PROVISIONAL_MS) state.provisional.delete(id);
  }
  const rows = [...state.provisional.values(), ...fromServer]
    .sort((a, b) => (b.decidedAt ?? b.timestamp) - (a.decidedAt ?? a.timestamp))
    .slice(0, MAX_DECISIONS);
  $("decisions").replaceChildren(
    ...rows.map((entry) => {
      const outcome = entry.outcome ?? "applied";
      const decider = deciderText(entry);
      return el(
        "li",
        { dataset: { outcome } },
        timeEl(entry.decidedAt ?? entry.timestamp),
        el("span", { class: OUTCOME_CLASS[outcome] ?? "outcome-other", text: OUTCOMES[outcome] ?? outcome }),
        ` ${actionText(entry.action)} in ${workspaceName(entry.workspaceId)}: `,
        el("span", { text: entry.summary }),
        " ",
        el(
          "span",
          { class: "who" },
          decider ? `Decided by ${decider}. ` : outcome === "timeout" ? "Nobody answered in time. " : "",
          `Asked by ${actorText(entry.actor)}.`,
          entry.error ? ` Error: ${entry.error}.` : "",
        ),
      );
    }),
  );
  updateDecisionsEmpty();
}

function updateDecisionsEmpty() {
  $("decisions-empty").hidden = $("decisions").children.length > 0;
}

// ---------------------------------------------------------------- notifications

const NOTIFY_KEY = "openwork.notify";

function notificationsAvailable() {
  return typeof Notification === "function" && window.isSecureContext;
}

function setupNotifications() {
  const toggle = $("notify-toggle");
  const status = $("notify-status");
  if (!notificationsAvailable()) {
    toggle.disabled = true;
    status.textContent =
      "Browser notifications are not available here (they need https or localhost); the tab title shows the number of waiting writes.";
    return;
  }
  toggle.checked = localStorage.getItem(NOTIFY_KEY) === "1" && Notification.permission === "granted";
  toggle.addEventListener("change", async () => {
    if (!toggle.checked) {
      localStorage.removeItem(NOTIFY_KEY);
      status.textContent = "Notifications off. The tab title still shows the number of waiting writes.";
      return;
    }
    // Asked here, on the host's own click, never on page load.
    let permission = Notification.permission;
    if (permission === "default") {
      try {
        permission = await Notification.requestPermission();
      } catch {
        permission = "denied";
      }
    }
    if (permission !== "granted") {
      toggle.checked = false;
      status.textContent = "The browser blocks notifications for this page. The tab title still shows the number of waiting writes.";
      return;
    }
    localStorage.setItem(NOTIFY_KEY, "1");
    status.textContent = "You will be notified of new requests while this tab is in the background.";
  });
}

function notifyNew(request, entry) {
  if (!document.hidden || !$("notify-toggle").checked || !notificationsAvailable() || Notification.permission !== "granted") return;
  try {
    const body = `${actionText(request.action)} in ${workspaceName(request.workspaceId)}: ${request.summary}`;
    const note = new Notification("A write waits for your approval", { body: body.slice(0, 240), tag: request.id });
    note.addEventListener("click", () => {
      window.focus();
      entry.heading.focus();
      note.close();
    });
    state.notifications.set(request.id, note);
  } catch {
    // Some browsers (Android) only notify from a service worker: the title count still works.
  }
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
  if (!live) return;
  scheduleAudit(ws);
  // A write let through by a grant (or auto mode) is decided without the approvals stream.
  if (trigger?.source === "api") scheduleDecisions();
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
  handled: handledError,
});

const grants = createGrants({
  $,
  el,
  api: (path, options = {}) => api(path, options),
  announce,
  actionText,
  handled: handledError,
});

/** Card rendering; folding a long diff moves buttons, so it goes through moveCards. */
const cardParts = createCardParts({ el, onLayout: (fn) => moveCards(fn) });

function boot() {
  setupTokenControls();
  setupNotifications();
  $("retry-now").addEventListener("click", () => state.retryNow?.());
  // Back online: no need to wait for the backoff.
  window.addEventListener("online", () => state.retryNow?.());
  $("server-notice-close").addEventListener("click", () => {
    hideNotice();
    $("approvals-heading").focus();
  });
  $("deny-all").addEventListener("click", () => openDenyAll());
  $("deny-all-cancel").addEventListener("click", () => $("deny-all-dialog").close());
  $("deny-all-confirm").addEventListener("click", () => {
    if ($("deny-all-confirm").getAttribute("aria-disabled") !== "true") void confirmDenyAll();
  });
  $("deny-all-dialog").addEventListener("close", () => {
    denyAllIds = [];
  });
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
