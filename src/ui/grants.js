// The host page's Grants section (SPEC 8): let one device's writes of some actions in one
// workspace through without asking, for at most an hour; list the active grants; end one. The
// server never lets a grant cover a write that runs code or widens permissions, and the form says
// so next to each action. Everything from the server goes on the page as text.

const REFRESH_MS = 30_000;
const TICK_MS = 15_000;
/** The client token's grantee id (the server's `LEGACY_GRANTEE`). */
const LEGACY = "legacy";

/**
 * Actions a grant may name, with what it still never covers. `plugins.add` is not offered: a
 * plugin always runs code, so the server would ask for it anyway.
 */
const ACTIONS = [
  ["skills.upsert", ""],
  ["skills.delete", ""],
  ["commands.upsert", "not a template that runs shell"],
  ["commands.delete", ""],
  ["agents.upsert", "not a change to its permissions or tools"],
  ["agents.delete", ""],
  ["mcp.add", "remote servers only: a local one runs code"],
  ["mcp.remove", ""],
  ["plugins.remove", ""],
  ["config.patch", "not permissions, tools or anything that runs code"],
  ["config.import", "not permissions or anything that runs code"],
  ["engine.reload", ""],
];

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });

/**
 * `ctx` gives the page's helpers: `$`, `el`, `api(path, options)`, `announce`, `actionText`, and
 * `handled(error)`: true for an error the page has dealt with (an aborted request; a credential
 * the server stopped taking, which signs out).
 */
export function createGrants(ctx) {
  const { $, el, api, announce, actionText, handled } = ctx;
  const session = { pairing: null, signal: null, items: [], tokens: [], choicesKey: "", refreshTimer: 0, tickTimer: 0 };

  const workspaceName = (id) => session.pairing?.workspaces.find((w) => w.id === id)?.name ?? id;
  const deviceName = (tokenId) =>
    tokenId === LEGACY ? "the shared client token" : `“${session.tokens.find((t) => t.id === tokenId)?.label ?? tokenId}”`;

  function renderChoices() {
    const device = $("grant-device");
    const chosen = device.value;
    // A viewer cannot write, so a grant for it would do nothing.
    const writers = session.tokens.filter((t) => t.scope !== "viewer");
    const key = JSON.stringify([writers.map((t) => [t.id, t.label, t.scope]), session.pairing?.workspaces.map((w) => w.id)]);
    // Rebuilding a list the host has open would close it under their finger.
    if (key === session.choicesKey) return;
    session.choicesKey = key;
    device.replaceChildren(
      el("option", { value: "", text: "Choose a device…" }),
      ...writers.map((t) => el("option", { value: t.id, text: `${t.label} (${t.scope})` })),
      el("option", { value: LEGACY, text: "The shared client token (every client that has it)" }),
    );
    if ([...device.options].some((o) => o.value === chosen)) device.value = chosen;
    const workspace = $("grant-workspace");
    const picked = workspace.value;
    workspace.replaceChildren(
      ...(session.pairing?.workspaces ?? [])
        .filter((w) => w.authorized !== false)
        .map((w) => el("option", { value: w.id, text: `${w.name} (${w.id})` })),
    );
    if ([...workspace.options].some((o) => o.value === picked)) workspace.value = picked;
  }

  function renderActions() {
    $("grant-actions").replaceChildren(
      ...ACTIONS.map(([action, limit]) =>
        el(
          "label",
          { class: "grant-action" },
          el("input", { type: "checkbox", name: "grant-action", value: action }),
          el("span", {}, actionText(action), " ", el("span", { class: "muted-inline", text: limit ? `${action}; ${limit}` : action })),
        ),
      ),
    );
  }

  async function refresh() {
    if (!session.signal || session.signal.aborted) return;
    try {
      const [grants, tokens] = await Promise.all([
        api("/approvals/grants", { signal: session.signal }),
        api("/tokens", { signal: session.signal }),
      ]);
      session.items = grants?.items ?? [];
      session.tokens = tokens?.items ?? [];
      $("grants-error").textContent = "";
      renderChoices();
      render();
    } catch (e) {
      if (handled(e)) return;
      $("grants-error").textContent = `Could not load the grants: ${e.message}`;
    }
  }

  function render() {
    const now = Date.now();
    const items = session.items.filter((g) => g.expiresAt > now);
    $("grants-count").textContent = String(items.length);
    $("grants-count").dataset.count = String(items.length);
    $("grants-empty").hidden = items.length > 0;
    $("grants").replaceChildren(
      ...items.map((g) => {
        const minutes = Math.max(1, Math.round((g.expiresAt - now) / 60_000));
        return el(
          "li",
          { class: "grant" },
          el("strong", { text: deviceName(g.tokenId) }),
          ` in ${workspaceName(g.workspaceId)} may: `,
          el("span", { text: g.actions.map(actionText).join(", ") }),
          " ",
          el("span", { class: "who", text: `Ends in ${minutes} min (at ${timeFormat.format(new Date(g.expiresAt))}).` }),
          " ",
          el("button", {
            type: "button",
            class: "secondary grant-end",
            text: "End",
            "aria-label": `End the grant for ${deviceName(g.tokenId)} in ${workspaceName(g.workspaceId)}`,
            onclick: (event) => void end(g, event.currentTarget),
          }),
        );
      }),
    );
  }

  async function add(event) {
    event.preventDefault();
    const error = $("grant-form-error");
    error.textContent = "";
    const tokenId = $("grant-device").value;
    const workspaceId = $("grant-workspace").value;
    const actions = [...document.querySelectorAll("input[name=grant-action]:checked")].map((i) => i.value);
    if (!tokenId) error.textContent = "Choose a device.";
    else if (!workspaceId) error.textContent = "Choose a workspace.";
    else if (actions.length === 0) error.textContent = "Tick at least one kind of write.";
    if (error.textContent) return;
    try {
      const grant = await api("/approvals/grants", {
        method: "POST",
        body: { tokenId, workspaceId, actions, ttlMs: Number($("grant-ttl").value) },
        signal: session.signal,
      });
      for (const box of document.querySelectorAll("input[name=grant-action]")) box.checked = false;
      announce(
        `Grant added: ${deviceName(grant.tokenId)} in ${workspaceName(grant.workspaceId)} until ${timeFormat.format(new Date(grant.expiresAt))}.`,
      );
      await refresh();
    } catch (e) {
      if (handled(e)) return;
      error.textContent = `Could not add the grant: ${e.message}`;
    }
  }

  async function end(grant, button) {
    button.disabled = true;
    try {
      await api(`/approvals/grants/${encodeURIComponent(grant.id)}`, { method: "DELETE", signal: session.signal });
      announce(`Grant ended for ${deviceName(grant.tokenId)}.`);
    } catch (e) {
      if (handled(e)) return;
      if (e.status !== 404) $("grants-error").textContent = `Could not end the grant: ${e.message}`;
    }
    await refresh();
    $("grants-heading").focus();
  }

  $("grant-form").addEventListener("submit", (event) => void add(event));
  // A device added a moment ago should be in the list when the host opens it.
  $("grant-device").addEventListener("focus", () => void refresh());
  renderActions();

  return {
    start(pairing, signal) {
      session.pairing = pairing;
      session.signal = signal;
      renderChoices();
      void refresh();
      session.refreshTimer = setInterval(() => void refresh(), REFRESH_MS);
      session.tickTimer = setInterval(render, TICK_MS);
    },
    /** The server restarted: grants are gone with it, workspaces may differ. */
    reload(pairing) {
      session.pairing = pairing;
      renderChoices();
      void refresh();
    },
    stop() {
      clearInterval(session.refreshTimer);
      clearInterval(session.tickTimer);
      session.pairing = null;
      session.signal = null;
      session.items = [];
      session.tokens = [];
      session.choicesKey = "";
      $("grants").replaceChildren();
      $("grant-form-error").textContent = "";
      $("grants-error").textContent = "";
    },
  };
}
