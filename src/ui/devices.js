// The host page's Devices section: add a device (a scoped token), show its token and pairing QR
// code once, list the devices with their last use, revoke one after a confirmation. Like the
// rest of the page: no dependencies, and everything from the server goes on the page as text
// (the QR code is drawn from its modules, never parsed from markup).

const REFRESH_MS = 30_000;
const TICK_MS = 15_000;
const SVG_NS = "http://www.w3.org/2000/svg";
/** Modules of light margin around the code, as the QR standard asks. */
const QUIET_ZONE = 4;

const SCOPE_TEXT = {
  viewer: "viewer: reads only",
  collaborator: "collaborator: reads, and asks you before each write",
  owner: "owner: everything, including approvals and devices",
};

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
const relativeFormat = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

const UNITS = [
  ["year", 365 * 86_400_000],
  ["month", 30 * 86_400_000],
  ["week", 7 * 86_400_000],
  ["day", 86_400_000],
  ["hour", 3_600_000],
  ["minute", 60_000],
];

/** "3 minutes ago", "in 2 days", "just now". */
export function relativeTime(ms, now = Date.now()) {
  const diff = ms - now;
  if (Math.abs(diff) < 45_000) return diff <= 0 ? "just now" : "in less than a minute";
  for (const [unit, size] of UNITS) {
    if (Math.abs(diff) >= size || unit === "minute") return relativeFormat.format(Math.round(diff / size), unit);
  }
  return "";
}

export function isLoopbackUrl(url) {
  try {
    const host = new URL(url).hostname;
    return host === "localhost" || host === "[::1]" || host.startsWith("127.");
  } catch {
    return false;
  }
}

/**
 * The Devices section. `ctx` gives the page's helpers: `$`, `el`, `api(path, options)`,
 * `copyText`, `announce`, and `handled(error)`: true for an error the page has dealt with (an
 * aborted request; a credential the server stopped taking, which signs out).
 */
export function createDevices(ctx) {
  const { $, el, api, copyText, announce, handled } = ctx;
  const session = {
    pairing: null,
    signal: null,
    items: [],
    loadedAt: 0,
    refreshTimer: 0,
    tickTimer: 0,
    /** The device just added: its token lives here (and on the page) until "Done". */
    fresh: null,
    /** The device the revoke dialog is about. */
    revoking: null,
  };

  // ------------------------------------------------------------ add a device

  function renderWorkspaceChoices() {
    const box = $("device-workspaces-list");
    const workspaces = session.pairing?.workspaces ?? [];
    box.replaceChildren(
      ...workspaces.map((w) =>
        el(
          "label",
          { class: "check" },
          el("input", { type: "checkbox", name: "device-workspace", value: w.id }),
          ` ${w.name} `,
          el("span", { class: "mono muted-inline", text: w.id }),
        ),
      ),
    );
    $("device-workspaces").hidden = workspaces.length < 2;
  }

  async function addDevice(event) {
    event.preventDefault();
    const error = $("device-form-error");
    error.textContent = "";
    const labelInput = $("device-label");
    const label = labelInput.value.replace(/\s+/g, " ").trim();
    if (!label) {
      error.textContent = "Give the device a name, so you can tell it apart later.";
      labelInput.setAttribute("aria-invalid", "true");
      labelInput.focus();
      return;
    }
    labelInput.setAttribute("aria-invalid", "false");
    const scope = $("device-form").querySelector("input[name=device-scope]:checked")?.value ?? "collaborator";
    const expiresInMs = Number($("device-expiry").value) || undefined;
    const workspaces = [...$("device-form").querySelectorAll("input[name=device-workspace]:checked")].map((input) => input.value);
    const body = { label, scope, ...(expiresInMs ? { expiresInMs } : {}), ...(workspaces.length > 0 ? { workspaces } : {}) };
    const submit = $("device-form").querySelector("button[type=submit]");
    submit.disabled = true;
    try {
      const created = await api("/tokens", { method: "POST", body, signal: session.signal });
      $("device-form").reset();
      await showFresh(created);
      void refresh();
    } catch (e) {
      if (handled(e)) return;
      error.textContent = `Could not add the device: ${e.message}`;
    } finally {
      submit.disabled = false;
    }
  }

  /** The address a device should use: the one this page was opened at, when a device can reach it. */
  function candidateUrls() {
    const urls = [...(session.pairing?.urls ?? [])];
    const here = window.location.origin;
    if (!urls.includes(here)) urls.unshift(here);
    // Reachable addresses first; loopback ones work only on this computer.
    return [...urls.filter((u) => !isLoopbackUrl(u)), ...urls.filter((u) => isLoopbackUrl(u))];
  }

  async function showFresh(created) {
    session.fresh = { ...created };
    const panel = $("new-device");
    $("new-device-heading").textContent = `Pair “${created.label}”`;
    $("new-device-token").textContent = created.token;
    $("new-device-facts").textContent = describeAccess(created);
    $("new-device-status").textContent = "";
    const select = $("new-device-url");
    select.replaceChildren(
      ...candidateUrls().map((url) => el("option", { value: url, text: isLoopbackUrl(url) ? `${url} (this computer only)` : url })),
    );
    panel.hidden = false;
    $("new-device-heading").focus();
    announce(`Device ${created.label} added. Its token is shown once: scan the code or copy the token now.`);
    await renderCode();
  }

  async function renderCode() {
    const fresh = session.fresh;
    if (!fresh) return;
    const url = $("new-device-url").value;
    const holder = $("new-device-qr");
    holder.replaceChildren(el("p", { class: "muted", text: "Making the code…" }));
    $("new-device-loopback").hidden = !isLoopbackUrl(url);
    try {
      const code = await api("/host/pairing/qr", { method: "POST", body: { url, token: fresh.token }, signal: session.signal });
      if (session.fresh !== fresh) return; // closed meanwhile
      fresh.payload = code.payload;
      holder.replaceChildren(qrImage(code, `QR code to pair ${fresh.label} with ${url}`));
      $("new-device-payload").textContent = code.payload;
    } catch (e) {
      if (handled(e)) return;
      holder.replaceChildren(el("p", { class: "error", text: `Could not make the QR code: ${e.message}. Copy the token instead.` }));
    }
  }

  /** The code as an SVG drawn from its modules: one path of dark runs on a white square. */
  function qrImage(code, label) {
    const side = code.size + QUIET_ZONE * 2;
    const svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", `0 0 ${side} ${side}`);
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", label);
    svg.setAttribute("shape-rendering", "crispEdges");
    svg.setAttribute("class", "qr-code");
    svg.dataset.modules = String(code.size);
    const background = document.createElementNS(SVG_NS, "rect");
    background.setAttribute("width", String(side));
    background.setAttribute("height", String(side));
    background.setAttribute("fill", "#ffffff");
    let d = "";
    code.rows.forEach((row, y) => {
      for (const match of row.matchAll(/1+/g))
        d += `M${match.index + QUIET_ZONE} ${y + QUIET_ZONE}h${match[0].length}v1h-${match[0].length}z`;
    });
    const modules = document.createElementNS(SVG_NS, "path");
    modules.setAttribute("d", d);
    modules.setAttribute("fill", "#000000");
    svg.append(background, modules);
    return svg;
  }

  function closeFresh() {
    session.fresh = null;
    $("new-device").hidden = true;
    for (const id of ["new-device-token", "new-device-payload", "new-device-status", "new-device-facts"]) $(id).textContent = "";
    $("new-device-qr").replaceChildren();
    $("new-device-url").replaceChildren();
  }

  async function copyFresh(what) {
    const fresh = session.fresh;
    if (!fresh) return;
    const text = what === "token" ? fresh.token : fresh.payload;
    if (!text) return;
    $("new-device-status").textContent = (await copyText(text))
      ? what === "token"
        ? "Token copied."
        : "Pairing link copied."
      : "Copying failed: select the text and copy it by hand.";
  }

  // ------------------------------------------------------------ the list

  function workspaceNames(ids) {
    if (!ids) return "every workspace";
    const names = new Map((session.pairing?.workspaces ?? []).map((w) => [w.id, w.name]));
    return ids.map((id) => names.get(id) ?? id).join(", ");
  }

  function describeAccess(item) {
    const parts = [SCOPE_TEXT[item.scope] ?? item.scope, `reaches ${workspaceNames(item.workspaces)}`];
    parts.push(item.expiresAt ? `expires ${dateFormat.format(new Date(item.expiresAt))}` : "does not expire");
    return `${parts.join("; ")}.`;
  }

  async function refresh() {
    if (!session.signal || session.signal.aborted) return;
    try {
      const data = await api("/tokens?state=all", { signal: session.signal });
      session.items = data?.items ?? [];
      session.loadedAt = Date.now();
      $("devices-error").textContent = "";
      render();
    } catch (e) {
      if (handled(e)) return;
      $("devices-error").textContent = `Could not load the devices: ${e.message}`;
    }
  }

  const SORTS = {
    used: (a, b) => (b.lastUsedAt ?? -1) - (a.lastUsedAt ?? -1) || b.createdAt - a.createdAt,
    name: (a, b) => a.label.localeCompare(b.label) || b.createdAt - a.createdAt,
    newest: (a, b) => b.createdAt - a.createdAt,
  };

  function timeText(ms, now) {
    return el("time", { datetime: new Date(ms).toISOString(), title: dateFormat.format(new Date(ms)), text: relativeTime(ms, now) });
  }

  function render() {
    const now = Date.now();
    // A device whose expiry passed since the last load counts as ended now, not at the next load.
    const isActive = (t) => t.state === "active" && !(t.expiresAt && t.expiresAt <= now);
    const active = session.items.filter(isActive).sort(SORTS[$("devices-sort").value] ?? SORTS.used);
    const ended = session.items.filter((t) => !isActive(t)).sort((a, b) => endedAt(b) - endedAt(a));
    const list = $("devices");
    const focusedId = list.contains(document.activeElement) ? document.activeElement.closest("li")?.dataset.tokenId : undefined;
    list.replaceChildren(...active.map((item) => deviceRow(item, now)));
    if (focusedId) list.querySelector(`li[data-token-id="${CSS.escape(focusedId)}"] button`)?.focus();
    const count = $("devices-count");
    count.textContent = String(active.length);
    count.dataset.count = String(active.length);
    $("devices-empty").hidden = active.length > 0;
    $("devices-sort-row").hidden = active.length < 2;
    $("ended-devices").hidden = ended.length === 0;
    $("ended-count").textContent = String(ended.length);
    $("ended-list").replaceChildren(
      ...ended.map((item) =>
        el(
          "li",
          { dataset: { tokenId: item.id } },
          el("strong", { text: item.label }),
          " ",
          el("span", { class: "tag", text: item.scope }),
          " ",
          item.state === "revoked" ? "revoked " : "expired ",
          timeText(endedAt(item), now),
          item.lastUsedAt ? el("span", { class: "muted-inline" }, " · last used ", timeText(item.lastUsedAt, now)) : null,
        ),
      ),
    );
    $("devices-freshness").textContent = session.loadedAt
      ? `Updated at ${timeFormat.format(new Date(session.loadedAt))}; the list refreshes every ${REFRESH_MS / 1000} s. “Last used” is the time of the device’s latest request.`
      : "";
  }

  /** " by <device>" when another device added this one (the host and the client token say nothing). */
  function addedBy(item) {
    const by = item.createdBy;
    if (by?.type !== "token") return null;
    return el("span", { class: "muted-inline", text: ` by ${by.label ?? by.tokenId}` });
  }

  const endedAt = (item) => item.revokedAt ?? item.expiresAt ?? item.createdAt;

  function deviceRow(item, now) {
    const titleId = `device-${item.id}`;
    const soon = item.expiresAt && item.expiresAt - now < 86_400_000;
    return el(
      "li",
      { class: "device", "aria-labelledby": titleId, dataset: { tokenId: item.id } },
      el(
        "div",
        { class: "card-head" },
        el("h4", { id: titleId, text: item.label }),
        el("span", { class: `tag scope-${item.scope}`, text: item.scope }),
      ),
      el(
        "dl",
        { class: "facts compact" },
        el("dt", { text: "Last used" }),
        el("dd", {}, item.lastUsedAt ? timeText(item.lastUsedAt, now) : el("span", { class: "muted-inline", text: "never" })),
        el("dt", { text: "Added" }),
        el("dd", {}, timeText(item.createdAt, now), addedBy(item)),
        el("dt", { text: "Expires" }),
        el(
          "dd",
          soon ? { class: "warn" } : {},
          item.expiresAt ? timeText(item.expiresAt, now) : el("span", { class: "muted-inline", text: "never" }),
        ),
        el("dt", { text: "Workspaces" }),
        el("dd", { text: workspaceNames(item.workspaces) }),
      ),
      el(
        "div",
        { class: "actions" },
        el(
          "button",
          { type: "button", class: "deny", onclick: () => askRevoke(item) },
          "Revoke",
          el("span", { class: "sr-only", text: ` ${item.label}` }),
        ),
      ),
    );
  }

  // ------------------------------------------------------------ revoke

  function askRevoke(item) {
    session.revoking = item;
    $("revoke-text").textContent =
      `“${item.label}” (${item.scope}) stops working at once: its open connections close and any write it is waiting on is withdrawn. ` +
      "This cannot be undone; to let the device in again, add it anew.";
    // Devices this one added stay when it goes: name them, so a compromised owner's tokens are not forgotten.
    const added = session.items.filter((t) => t.state === "active" && t.createdBy?.tokenId === item.id).map((t) => `“${t.label}”`);
    $("revoke-added").textContent =
      added.length > 0
        ? `It added ${added.join(", ")}; ${added.length === 1 ? "that device keeps working until you revoke it" : "those keep working until you revoke them"} too.`
        : "";
    $("revoke-error").textContent = "";
    $("revoke-dialog").showModal();
  }

  async function confirmRevoke() {
    const item = session.revoking;
    if (!item) return;
    const button = $("revoke-confirm");
    button.disabled = true;
    try {
      await api(`/tokens/${encodeURIComponent(item.id)}`, { method: "DELETE", signal: session.signal });
      announce(`Revoked ${item.label}.`);
      closeRevoke();
    } catch (e) {
      if (e?.status === 404) {
        announce(`${item.label} was already revoked or had expired.`);
        closeRevoke();
      } else if (!handled(e)) {
        $("revoke-error").textContent = `Could not revoke: ${e.message}`;
      }
    } finally {
      button.disabled = false;
      void refresh();
    }
  }

  function closeRevoke() {
    session.revoking = null;
    if ($("revoke-dialog").open) $("revoke-dialog").close();
    $("devices-heading").focus();
  }

  // ------------------------------------------------------------ wiring

  function renderReach() {
    const urls = session.pairing?.urls ?? [];
    const loopbackOnly = urls.length > 0 && urls.every(isLoopbackUrl);
    $("loopback-note").hidden = !loopbackOnly;
    $("plain-http-note").hidden = loopbackOnly || !candidateUrls().some((u) => u.startsWith("http:") && !isLoopbackUrl(u));
  }

  $("device-form").addEventListener("submit", addDevice);
  $("close-new-device").addEventListener("click", () => {
    closeFresh();
    $("device-label").focus();
  });
  $("new-device-url").addEventListener("change", () => void renderCode());
  $("copy-new-token").addEventListener("click", () => void copyFresh("token"));
  $("copy-new-payload").addEventListener("click", () => void copyFresh("payload"));
  $("devices-sort").addEventListener("change", () => render());
  $("revoke-confirm").addEventListener("click", () => void confirmRevoke());
  $("revoke-cancel").addEventListener("click", () => closeRevoke());
  $("revoke-dialog").addEventListener("close", () => {
    session.revoking = null;
  });

  return {
    start(pairing, signal) {
      session.pairing = pairing;
      session.signal = signal;
      renderWorkspaceChoices();
      renderReach();
      void refresh();
      session.refreshTimer = setInterval(() => void refresh(), REFRESH_MS);
      session.tickTimer = setInterval(() => {
        // A device that just expired leaves the active list; relative times move on.
        if (session.items.some((t) => t.state === "active" && t.expiresAt && t.expiresAt <= Date.now())) void refresh();
        else render();
      }, TICK_MS);
    },
    /** The server restarted: its settings may differ; a token being shown stays on the page. */
    reload(pairing) {
      session.pairing = pairing;
      renderWorkspaceChoices();
      renderReach();
      void refresh();
    },
    stop() {
      clearInterval(session.refreshTimer);
      clearInterval(session.tickTimer);
      closeFresh();
      if ($("revoke-dialog").open) $("revoke-dialog").close();
      session.pairing = null;
      session.signal = null;
      session.items = [];
      session.loadedAt = 0;
      $("devices").replaceChildren();
      $("ended-list").replaceChildren();
      $("device-form").reset();
      $("device-form-error").textContent = "";
    },
  };
}
