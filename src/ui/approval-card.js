// What one approval card shows (SPEC 8): the risks first, in words with an icon and a colour (never
// colour alone), then the MCP servers it adds with their command line and environment, then each
// file's diff (long ones folded) and the whole text of a skill, command, agent or plugin file, and
// who asks. Pure rendering: everything from the server goes on the page as text, through `el`.

const SVG_NS = "http://www.w3.org/2000/svg";
/** A diff or text longer than this many lines is folded ... */
const FOLD_OVER = 60;
/** ... to its first lines; "Show all" renders the rest. */
const FOLD_TO = 40;

export const ACTION_TEXT = {
  "config.patch": "Change the config",
  "plugins.add": "Add a plugin",
  "plugins.remove": "Remove a plugin",
  "skills.upsert": "Add or change a skill",
  "skills.delete": "Delete a skill",
  "mcp.add": "Add an MCP server",
  "mcp.remove": "Remove an MCP server",
  "commands.upsert": "Add or change a command",
  "commands.delete": "Delete a command",
  "agents.upsert": "Add or change an agent",
  "agents.delete": "Delete an agent",
  "config.import": "Import a setup",
  "engine.reload": "Reload the engine",
};

export const actionText = (action) => ACTION_TEXT[action] ?? action;

/** Risk kinds, most serious first; `level` picks the colour, `label` says it in words. */
const RISKS = {
  executes_code: { label: "Runs code", level: "high", icon: "code" },
  permission: { label: "Widens permissions", level: "high", icon: "unlock" },
  network: { label: "Connects out", level: "warn", icon: "globe" },
  secrets: { label: "Secrets", level: "secret", icon: "key" },
  removes: { label: "Removes", level: "warn", icon: "trash" },
};
const RISK_ORDER = Object.keys(RISKS);

/** Stroke paths of 16x16 icons, drawn with the text colour. */
const ICONS = {
  code: ["M1.5 2.5h13v11h-13z", "M4 6l2.5 2-2.5 2", "M8 10.5h4"],
  unlock: ["M3.5 7.5h9v7h-9z", "M5.5 7.5V5a2.5 2.5 0 0 1 4.9-.7", "M8 10v2"],
  globe: ["M8 1.5a6.5 6.5 0 1 0 0 13a6.5 6.5 0 1 0 0-13z", "M8 1.5c-2.6 2-2.6 11 0 13c2.6-2 2.6-11 0-13z", "M1.5 8h13"],
  key: ["M6.5 8a2.5 2.5 0 1 1-5 0a2.5 2.5 0 1 1 5 0z", "M6.5 8h8", "M12 8v2.5", "M14.5 8v2"],
  trash: ["M2.5 4h11", "M6 4V2.5h4V4", "M4 4l.8 9.5h6.4L12 4", "M6.8 6.5v5", "M9.2 6.5v5"],
  check: ["M3 8.5l3 3 7-7"],
};

export function icon(name) {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 16 16");
  svg.setAttribute("class", "icon");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  for (const d of ICONS[name] ?? []) {
    const path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", d);
    svg.append(path);
  }
  return svg;
}

/** Risks sorted by seriousness (the server's order within a kind). */
export function sortedRisks(risks) {
  const rank = (kind) => {
    const i = RISK_ORDER.indexOf(kind);
    return i < 0 ? RISK_ORDER.length : i;
  };
  return [...(risks ?? [])].sort((a, b) => rank(a.kind) - rank(b.kind));
}

/** "high" when the request runs code or widens permissions (what a grant never covers). */
export function riskLevel(risks) {
  if ((risks ?? []).some((r) => RISKS[r.kind]?.level === "high")) return "high";
  return (risks ?? []).length > 0 ? "some" : "none";
}

export function riskLabel(kind) {
  return RISKS[kind]?.label ?? kind;
}

/** Who asked, as text: the device's label (from the token store), the shared token, or the host. */
export function actorText(actor) {
  if (!actor) return "unknown";
  let who = "the shared client token";
  if (actor.type === "host") who = "the host";
  else if (actor.type === "token") who = `the device “${actor.label ?? actor.tokenId}” (${actor.scope})`;
  // The client id is whatever the client chose to send: say so.
  return actor.clientId ? `${who}, calling itself “${actor.clientId}” (self-declared)` : who;
}

/** A command line as a person would type it (the server's risk messages quote the same way). */
export function commandLine(command) {
  if (!Array.isArray(command)) return String(command);
  return command.map((part) => (typeof part === "string" && /^[\w@%+=:,./-]+$/.test(part) ? part : JSON.stringify(part))).join(" ");
}

// ---------------------------------------------------------------- JSONC, enough to read a config

/** Parses JSON with comments and trailing commas (what OpenCode accepts); null when it does not parse. */
export function parseJsonc(text) {
  if (typeof text !== "string") return null;
  const strip = (source, keep) => {
    let out = "";
    let i = 0;
    while (i < source.length) {
      const c = source[i];
      if (c === '"') {
        let j = i + 1;
        while (j < source.length && source[j] !== '"') j += source[j] === "\\" ? 2 : 1;
        out += source.slice(i, j + 1);
        i = j + 1;
      } else {
        const skip = keep(source, i);
        if (skip > 0) i += skip;
        else {
          out += c;
          i++;
        }
      }
    }
    return out;
  };
  const comments = (s, i) => {
    if (s[i] !== "/") return 0;
    if (s[i + 1] === "/") {
      const end = s.indexOf("\n", i);
      return (end < 0 ? s.length : end) - i;
    }
    if (s[i + 1] === "*") {
      const end = s.indexOf("*/", i + 2);
      return (end < 0 ? s.length : end + 2) - i;
    }
    return 0;
  };
  const trailingCommas = (s, i) => (s[i] === "," && /^\s*[}\]]/.test(s.slice(i + 1, i + 200)) ? 1 : 0);
  try {
    return JSON.parse(strip(strip(text, comments), trailingCommas));
  } catch {
    return null;
  }
}

const CONFIG_FILE = /^(\.opencode\/)?opencode\.jsonc?$/;
const FULL_TEXT = [
  [/^\.opencode\/skills?\/([^/]+)\/SKILL\.md$/, "skill"],
  [/^\.opencode\/commands?\/(.+)\.md$/, "command"],
  [/^\.opencode\/agents?\/(.+)\.md$/, "agent"],
  [/^\.opencode\/plugins?\/(.+\.[cm]?[jt]s)$/, "plugin file"],
];

const isObject = (v) => typeof v === "object" && v !== null && !Array.isArray(v);

/** The MCP servers a config change adds or changes: `[{ name, entry }]`. */
export function changedMcpServers(change) {
  if (!CONFIG_FILE.test(change.path) || change.after === undefined) return [];
  const after = parseJsonc(change.after);
  if (!isObject(after) || !isObject(after.mcp)) return [];
  const before = parseJsonc(change.before ?? "{}");
  const was = isObject(before) && isObject(before.mcp) ? before.mcp : {};
  return Object.entries(after.mcp)
    .filter(([name, entry]) => isObject(entry) && JSON.stringify(was[name]) !== JSON.stringify(entry))
    .map(([name, entry]) => ({ name, entry }));
}

// ---------------------------------------------------------------- rendering

/**
 * Card parts, given the page's `el(tag, props, ...children)`. `onLayout(fn)` wraps anything that
 * moves the card's buttons (folding), so the page can make moved buttons ignore input for a moment.
 */
export function createCardParts({ el, onLayout = (fn) => fn() }) {
  function risksView(risks) {
    const list = sortedRisks(risks);
    if (list.length === 0) {
      return el(
        "p",
        { class: "risk-none" },
        icon("check"),
        " No special risks found: it runs no code, connects nowhere, widens no permission and removes nothing.",
      );
    }
    return el(
      "ul",
      { class: "risks", "aria-label": "Risks" },
      list.map((risk) =>
        el(
          "li",
          { class: "risk", dataset: { kind: risk.kind, level: RISKS[risk.kind]?.level ?? "warn" } },
          icon(RISKS[risk.kind]?.icon ?? "code"),
          el("strong", { class: "risk-label", text: `${riskLabel(risk.kind)}:` }),
          " ",
          el("span", { class: "risk-message", text: risk.message }),
        ),
      ),
    );
  }

  /**
   * What each line of a unified diff is. File headers (`--- a/x`, `+++ b/x`) only come before the
   * first hunk: after it, a line is what its first character says, whatever text follows.
   */
  function lineKinds(lines) {
    let inHunk = false;
    return lines.map((line) => {
      if (line.startsWith("@@")) {
        inHunk = true;
        return "hunk";
      }
      if (!inHunk) return line.startsWith("--- ") || line.startsWith("+++ ") ? "file" : "ctx";
      if (line.startsWith("+")) return "add";
      if (line.startsWith("-")) return "del";
      if (line.startsWith("\\")) return "note";
      return "ctx";
    });
  }

  /** A <pre> of lines, folded when long, with a button to show all (rendered only when asked). */
  function foldedLines(text, { diff, label }) {
    const lines = text.replace(/\n$/, "").split("\n");
    const kinds = diff ? lineKinds(lines) : [];
    const pre = el("pre", { class: diff ? "diff" : "text" });
    const line = (l, i) => el("span", { class: diff ? `ln ln-${kinds[i]}` : "ln", text: l === "" ? " " : l });
    const folded = lines.length > FOLD_OVER;
    pre.append(...(folded ? lines.slice(0, FOLD_TO) : lines).map(line));
    if (!folded) return pre;
    const rest = lines.length - FOLD_TO;
    const shown = el("span", { class: "meta", text: `${FOLD_TO} of ${lines.length} lines shown. ` });
    const button = el("button", {
      type: "button",
      class: "secondary fold",
      "aria-expanded": "false",
      text: `Show all ${lines.length} lines (${rest} more)`,
      "aria-label": `Show all ${lines.length} lines of ${label} (${rest} more)`,
    });
    button.addEventListener("click", () =>
      onLayout(() => {
        const open = button.getAttribute("aria-expanded") === "true";
        if (open) {
          while (pre.childElementCount > FOLD_TO) pre.lastElementChild.remove();
          shown.textContent = `${FOLD_TO} of ${lines.length} lines shown. `;
          button.textContent = `Show all ${lines.length} lines (${rest} more)`;
          button.setAttribute("aria-label", `Show all ${lines.length} lines of ${label} (${rest} more)`);
        } else {
          pre.append(...lines.slice(FOLD_TO).map((l, i) => line(l, FOLD_TO + i)));
          shown.textContent = `All ${lines.length} lines shown. `;
          button.textContent = "Show fewer lines";
          button.setAttribute("aria-label", `Show fewer lines of ${label}`);
        }
        button.setAttribute("aria-expanded", open ? "false" : "true");
      }),
    );
    return el("div", { class: "folded" }, pre, el("p", { class: "fold-row" }, shown, button));
  }

  function diffStats(diff) {
    const kinds = lineKinds(diff.split("\n"));
    return { added: kinds.filter((k) => k === "add").length, removed: kinds.filter((k) => k === "del").length };
  }

  const OPS = { create: "New file", update: "Changes", delete: "Deletes" };

  function changeView(change) {
    const { added, removed } = diffStats(change.diff ?? "");
    const full = FULL_TEXT.map(([re, kind]) => [re.exec(change.path), kind]).find(([m]) => m);
    return el(
      "section",
      { class: "change", "aria-label": `${OPS[change.op] ?? change.op}: ${change.path}` },
      el(
        "p",
        { class: "change-head" },
        el("span", { class: "op", dataset: { op: change.op }, text: OPS[change.op] ?? change.op }),
        " ",
        el("code", { text: change.path }),
        change.op === "delete" && change.path.endsWith("/") ? null : el("span", { class: "meta", text: ` +${added} −${removed}` }),
      ),
      change.truncated
        ? el("p", {
            class: "warn-text",
            text: "Too long to show whole: the text below is cut (at 256 KiB), and the write changes more than you can see here.",
          })
        : null,
      foldedLines(change.diff ?? "", { diff: true, label: `the diff of ${change.path}` }),
      full && typeof change.after === "string"
        ? el(
            "details",
            // A new file's diff already shows every line; a change's diff shows only the hunks.
            { class: "fulltext", open: change.op !== "create" },
            el("summary", {
              class: "fulltext-summary",
              text: `Full text of the ${full[1]} “${full[0][1]}” after this write (${change.after.replace(/\n$/, "").split("\n").length} lines)`,
            }),
            foldedLines(change.after, { diff: false, label: `the ${full[1]} ${full[0][1]}` }),
          )
        : null,
    );
  }

  function mapList(map) {
    if (!isObject(map) || Object.keys(map).length === 0) return el("dd", { text: "none" });
    return el(
      "dd",
      {},
      el(
        "ul",
        { class: "env" },
        Object.entries(map).map(([k, v]) => el("li", {}, el("code", { text: `${k}=${typeof v === "string" ? v : JSON.stringify(v)}` }))),
      ),
    );
  }

  function mcpView({ name, entry }) {
    const facts = [];
    const fact = (term, ...value) =>
      facts.push(el("dt", { text: term }), value.length === 1 && value[0]?.tagName === "DD" ? value[0] : el("dd", {}, ...value));
    if (entry.type === "local") {
      fact("Command line", el("code", { class: "cmdline", text: commandLine(entry.command) }));
      if (entry.cwd !== undefined) fact("Runs in", el("code", { text: String(entry.cwd) }));
      fact("Environment", mapList(entry.environment));
    } else {
      fact("URL", el("code", { text: String(entry.url) }));
      fact("Headers", mapList(entry.headers));
    }
    if (entry.enabled === false) fact("Enabled", "no (added disabled)");
    return el(
      "section",
      { class: "mcp", "aria-label": `MCP server ${name}` },
      el(
        "h4",
        {},
        `MCP server “${name}” `,
        el("span", { class: "tag", text: entry.type === "local" ? "runs on this computer" : String(entry.type) }),
      ),
      el("dl", { class: "facts compact" }, facts),
    );
  }

  function actorView(actor) {
    const parts = [];
    if (!actor) parts.push(el("strong", { text: "unknown" }));
    else if (actor.type === "host") parts.push(el("strong", { text: "the host" }), " (host token)");
    else if (actor.type === "token")
      parts.push(
        "the device ",
        el("strong", { text: `“${actor.label ?? actor.tokenId}”` }),
        ` (${actor.scope}; name from your device list)`,
      );
    else parts.push(el("strong", { text: "the shared client token" }), ` (${actor.scope}; any client holding it)`);
    if (actor?.clientId) {
      parts.push(
        ", calling itself ",
        el("span", { class: "self-declared" }, `“${actor.clientId}”`, el("span", { class: "tag", text: "self-declared, not verified" })),
      );
    }
    return el("p", { class: "asked-by" }, "Asked by ", parts);
  }

  /** Everything a card shows about a request, risks first. */
  function body(request) {
    const changes = request.changes ?? [];
    const servers = changes.flatMap(changedMcpServers);
    const paths = request.paths ?? [];
    return [
      risksView(request.risks),
      el("p", { class: "summary", text: request.summary }),
      actorView(request.actor),
      servers.map(mcpView),
      changes.length > 0
        ? el("div", { class: "changes" }, changes.map(changeView))
        : paths.length > 0
          ? el(
              "p",
              { class: "meta" },
              "Files: ",
              paths.map((p, i) => [i ? ", " : "", el("code", { text: p })]),
            )
          : el("p", { class: "meta", text: "It writes no files." }),
    ];
  }

  return { body, risksView, changeView, mcpView, actorView };
}
