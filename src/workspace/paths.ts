// Path containment: every path we build from a request must stay inside its workspace,
// both lexically (no `..`, no absolute segments) and after symlinks are resolved.
import { lstatSync, readlinkSync, realpathSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { badRequest } from "../errors.js";

/** True when `child` is `root` itself or lies below it (not merely sharing a prefix). */
export function isInside(root: string, child: string): boolean {
  const rel = relative(root, child);
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel));
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

/**
 * Joins `segments` under `root` and proves the result stays inside it, after symlinks.
 * Segments come from validated names, but this is the last line of defence, so it checks again.
 */
export function resolveInside(root: string, ...segments: string[]): string {
  for (const segment of segments) {
    if (segment.includes("\0")) throw badRequest("invalid_path", "Path contains a NUL byte");
  }
  const target = resolve(root, ...segments);
  if (!isInside(root, target)) {
    throw badRequest("path_escape", "Path resolves outside the workspace", { path: segments.join("/") });
  }
  const realRoot = realpathLoose(root);
  const realTarget = realpathLoose(target);
  if (!isInside(realRoot, realTarget)) {
    throw badRequest("path_escape", "Path resolves outside the workspace through a symlink", {
      path: segments.join("/"),
    });
  }
  return target;
}

/** Relative, forward-slashed path for messages, approvals and audit entries. */
export function displayPath(root: string, absolute: string): string {
  return relative(root, absolute).split(sep).join("/") || ".";
}
