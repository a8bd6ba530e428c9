// Path containment: every path we build from a request must stay inside its workspace,
// both lexically (no `..`, no absolute segments) and after symlinks are resolved. Names taken
// from a request are checked (validateName) before any path is built from them. A write or
// delete goes only where its approval says: resolveWriteTarget refuses any symlink on the way.
import { lstatSync, readlinkSync, realpathSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { ApiError, badRequest } from "../errors.js";

/** True when `child` is `root` itself or lies below it (not merely sharing a prefix). */
export function isInside(root: string, child: string): boolean {
  const rel = relative(root, child);
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel));
}

/** True when `path` lies inside `root` both as written and after symlinks are resolved. */
export function isContained(root: string, path: string): boolean {
  return isInside(root, path) && isInside(realpathLoose(root), realpathLoose(path));
}

/**
 * The real path of `p`, or of its deepest existing ancestor joined with the rest. A dangling
 * symlink on the way counts as where it points (a write through it would create its target).
 */
export function realpathLoose(p: string, hops = 0): string {
  let current = resolve(p);
  const rest: string[] = [];
  for (;;) {
    try {
      return join(realpathSync(current), ...rest.reverse());
    } catch {
      const link = danglingLinkTarget(current);
      if (link !== null && hops < 40) return realpathLoose(join(link, ...rest.reverse()), hops + 1);
      const parent = dirname(current);
      if (parent === current) return resolve(p);
      rest.push(current.slice(parent.length).replace(/^[/\\]+/, ""));
      current = parent;
    }
  }
}

/** Where the symlink at `p` points (absolute), or null when `p` is not a symlink. */
function danglingLinkTarget(p: string): string | null {
  try {
    if (!lstatSync(p).isSymbolicLink()) return null;
    return resolve(dirname(p), readlinkSync(p));
  } catch {
    return null;
  }
}

/** Joins `segments` under `root`, refusing a NUL byte and a path that leaves `root` as written (`..`, absolute). */
function joinInside(root: string, segments: string[]): string {
  for (const segment of segments) {
    if (segment.includes("\0")) throw badRequest("invalid_path", "Path contains a NUL byte");
  }
  const target = resolve(root, ...segments);
  if (!isInside(root, target)) {
    throw badRequest("path_escape", "Path resolves outside the workspace", { path: segments.join("/") });
  }
  return target;
}

/**
 * Joins `segments` under `root` and proves the result stays inside it, after symlinks.
 * Segments come from validated names, but this is the last line of defence, so it checks again.
 */
export function resolveInside(root: string, ...segments: string[]): string {
  const target = joinInside(root, segments);
  if (!isInside(realpathLoose(root), realpathLoose(target))) throw escapesThroughLink(segments);
  return target;
}

const escapesThroughLink = (segments: string[]) =>
  badRequest("path_escape", "Path resolves outside the workspace through a symlink", { path: segments.join("/") });

/**
 * The path a write or delete names, proven to be reached without following a symlink anywhere
 * below the workspace root, so the change lands exactly where the approval said (with
 * `.opencode/skills` linked to the workspace root, deleting skill `src` would otherwise delete the
 * user's `src/`). 400 path_escape when the path leads out of the workspace (as written, or through
 * a symlink), 422 symlink_in_path when a component is a symlink that stays inside. Components that
 * do not exist yet are fine: they are created as real folders. Also for a link as the last
 * component: a write would go through it, and a delete of "the skill folder" would not delete
 * what was listed. (No component below the root being a link, the path is inside after symlinks
 * too: only the root's own real path is never resolved.)
 */
export function resolveWriteTarget(root: string, ...segments: string[]): string {
  const target = joinInside(root, segments);
  const base = resolve(root);
  let current = base;
  for (const part of relative(base, target).split(sep)) {
    if (part === "") continue;
    current = join(current, part);
    let isLink: boolean;
    try {
      isLink = lstatSync(current).isSymbolicLink();
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === "ENOENT" || code === "ENOTDIR") return target;
      throw error;
    }
    if (isLink) {
      if (!isInside(realpathLoose(base), realpathLoose(target))) throw escapesThroughLink(segments);
      const link = displayPath(base, current);
      const named = displayPath(base, target);
      throw new ApiError(
        422,
        "symlink_in_path",
        `${link} is a symlink: ${named} would be written or deleted through it, somewhere the approval does not name`,
        { path: link, target: named },
      );
    }
  }
  return target;
}

/**
 * Names Windows reserves for devices, in any case, with or without an extension and with trailing
 * dots or spaces (`con`, `NUL.md`, `com1.tar.gz`, `aux .`): a file named so cannot be created or
 * read there. Refused for every name a request gives (skills, commands, MCP servers, agents).
 */
export function isWindowsReservedName(name: string): boolean {
  const stem = name
    .replace(/[. ]+$/, "")
    .split(".")[0]!
    .trimEnd();
  return /^(con|prn|aux|nul|com[0-9\u00b9\u00b2\u00b3]|lpt[0-9\u00b9\u00b2\u00b3]|conin\$|conout\$)$/i.test(stem);
}

/** How one kind of name taken from a request (skill, command, MCP server) is checked. */
export interface NameRule {
  /** Names the thing in messages, e.g. "Skill name". */
  label: string;
  pattern: RegExp;
  max: number;
  /** Completes "<label> must ..." when the pattern does not match. */
  must: string;
  /** Names refused although they match (e.g. prototype keys, for names that become object keys). */
  reserved?: ReadonlySet<string>;
}

/** Checks a name from a request before any path or key is built from it; 400 invalid_name otherwise. */
export function validateName(raw: unknown, rule: NameRule): string {
  if (typeof raw !== "string" || raw.length === 0) throw badRequest("invalid_name", `${rule.label} is required`);
  if (raw.length > rule.max) {
    throw badRequest("invalid_name", `${rule.label} is longer than ${rule.max} characters`, { max: rule.max });
  }
  if (!rule.pattern.test(raw) || rule.reserved?.has(raw)) {
    throw badRequest("invalid_name", `${rule.label} must ${rule.must}`, { pattern: rule.pattern.source });
  }
  if (isWindowsReservedName(raw)) {
    throw badRequest("invalid_name", `${rule.label} "${raw}" is a device name on Windows (con, prn, aux, nul, com1-9, lpt1-9)`, {
      reserved: true,
    });
  }
  return raw;
}

/** Relative, forward-slashed path for messages, approvals and audit entries. */
export function displayPath(root: string, absolute: string): string {
  return relative(root, absolute).split(sep).join("/") || ".";
}
