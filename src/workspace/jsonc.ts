// JSONC reading and comment-preserving edits. Files on disk that do not parse are a 422 naming
// the line and column; they are never rewritten, so the user's text is not lost. A file nested
// deeper than MAX_FILE_DEPTH, or holding the same key twice in one object, is refused the same way
// (the first would blow the parser's stack; the second is ambiguous: readers take the last value,
// text edits would touch the first).
// Every step is linear in the size of the text and of the change: an edit is computed against one
// parse and applied in one pass (jsonc-parser's `modify` re-parses the whole text per key and
// re-formats through repeated string splices, which made a 16,000-key patch take 40 s).

import { isDeepStrictEqual } from "node:util";
import { type ParseError, parse, printParseErrorCode, visit } from "jsonc-parser";
import { ApiError } from "../errors.js";

/** Keys that would reach an object's prototype when assigned; refused in files and bodies. */
export const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);

/** Deepest nesting of objects and arrays a JSON(C) file may have: the same as a request body's. */
export const MAX_FILE_DEPTH = 64;

const PARSE_OPTIONS = { allowTrailingComma: true, disallowComments: false, allowEmptyContent: true };

export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

function fileError(file: string, text: string, offset: number, error: string): ApiError {
  const { line, column } = lineColumn(text, offset);
  return new ApiError(422, "invalid_file", `${file} does not parse: ${error} at line ${line}, column ${column}`, {
    file,
    line,
    column,
    error,
  });
}

/** A key of the top-level object, with the offsets a text edit needs. */
interface TopLevelProperty {
  key: string;
  /** Offset of the key's opening quote. */
  start: number;
  /** Offsets of the value's first character and just past its last. */
  valueStart: number;
  valueEnd: number;
  /** Offset of the comma after the value, or -1. */
  comma: number;
}

/** What one pass over JSONC text finds (meaningful only when the text parses). */
interface Scan {
  /** Offset of the first `{` or `[` nested deeper than the limit, or -1 (the scan stopped there). */
  tooDeep: number;
  forbidden?: { name: string; offset: number };
  duplicate?: { name: string; offset: number; first: number };
  /** The text with comments and trailing commas taken out: JSON.parse can read it. */
  json: string;
  /** The top-level object: its braces and keys (undefined when the text holds no object). */
  root?: { open: number; close: number; props: TopLevelProperty[] };
}

const isStructural = (c: number) => c === 123 || c === 125 || c === 91 || c === 93 || c === 44 || c === 58; // { } [ ] , :
// The blanks JSON and jsonc-parser skip (no others: a no-break space is an error in both).
const isJsonBlank = (c: number) => c === 32 || c === 9 || c === 10 || c === 13;

function keyName(raw: string): string {
  if (!raw.includes("\\")) return raw.slice(1, -1);
  try {
    return JSON.parse(raw) as string;
  } catch {
    return raw.slice(1, -1);
  }
}

/**
 * One linear pass over JSONC text, with no recursion (so no depth can blow the stack): the nesting
 * depth, forbidden and duplicate keys, the top-level keys' offsets, and a copy JSON.parse reads.
 */
function scanJsonc(text: string, maxDepth: number): Scan {
  const n = text.length;
  const removed: number[] = []; // [start, end) pairs left out of `json`
  // Per open container: the keys seen (objects) or null (arrays).
  const stack: Array<Map<string, number> | null> = [];
  let expectKey = false;
  let pendingComma = -1;
  let pendingCommaAt = 0; // where in `removed` a trailing comma goes (comments after it come later)
  let forbidden: Scan["forbidden"];
  let duplicate: Scan["duplicate"];
  let root: Scan["root"];
  let prop: TopLevelProperty | null = null;
  let afterColon = false;
  let i = 0;
  const finish = (tooDeep: number): Scan => {
    let json = text;
    if (removed.length > 0) {
      const parts: string[] = [];
      let cursor = 0;
      for (let k = 0; k < removed.length; k += 2) {
        parts.push(text.slice(cursor, removed[k]), " ");
        cursor = removed[k + 1]!;
      }
      parts.push(text.slice(cursor));
      json = parts.join("");
    }
    return { tooDeep, forbidden, duplicate, json, root };
  };
  while (i < n) {
    const c = text.charCodeAt(i);
    if (isJsonBlank(c)) {
      i++;
      continue;
    }
    if (c === 47 && text.charCodeAt(i + 1) === 47) {
      let j = i + 2;
      while (j < n && text.charCodeAt(j) !== 10 && text.charCodeAt(j) !== 13) j++;
      removed.push(i, j);
      i = j;
      continue;
    }
    if (c === 47 && text.charCodeAt(i + 1) === 42) {
      const close = text.indexOf("*/", i + 2);
      // An unclosed comment stays in, so JSON.parse fails and the error is named.
      if (close >= 0) removed.push(i, close + 2);
      i = close < 0 ? n : close + 2;
      continue;
    }
    // A token: [start, i).
    const start = i;
    if (c === 34) {
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 92) i += 2;
        else if (d === 34 || d === 10 || d === 13) break;
        else i++;
      }
      if (i < n && text.charCodeAt(i) === 34) i++;
    } else if (isStructural(c)) i++;
    else {
      while (i < n) {
        const d = text.charCodeAt(i);
        if (isJsonBlank(d) || isStructural(d) || d === 34 || d === 47) break;
        i++;
      }
      if (i === start) i++; // a lone '/'
    }
    const top = stack.length > 0 ? stack[stack.length - 1] : undefined;
    if (pendingComma >= 0 && (c === 125 || c === 93)) removed.splice(pendingCommaAt, 0, pendingComma, pendingComma + 1); // trailing comma
    pendingComma = -1;
    const inRoot = root !== undefined && stack.length === 1 && root.close < 0;
    if (c === 123 || c === 91) {
      if (stack.length >= maxDepth) return finish(start);
      if (inRoot && prop && afterColon && prop.valueStart < 0) prop.valueStart = start;
      if (c === 123 && stack.length === 0 && root === undefined) root = { open: start, close: -1, props: [] };
      stack.push(c === 123 ? new Map() : null);
      expectKey = c === 123;
      continue;
    }
    if (c === 125 || c === 93) {
      stack.pop();
      expectKey = false;
      if (root !== undefined && root.close < 0) {
        if (stack.length === 0) {
          root.close = start;
          if (prop) root.props.push(prop);
          prop = null;
        } else if (stack.length === 1 && prop && prop.valueEnd < 0) prop.valueEnd = i;
      }
      continue;
    }
    if (c === 44) {
      pendingComma = start;
      pendingCommaAt = removed.length;
      expectKey = top instanceof Map;
      if (inRoot && prop) {
        prop.comma = start;
        root!.props.push(prop);
        prop = null;
        afterColon = false;
      }
      continue;
    }
    if (c === 58) {
      if (inRoot) afterColon = true;
      expectKey = false;
      continue;
    }
    // A string, number or literal.
    if (c === 34 && expectKey && top instanceof Map) {
      const name = keyName(text.slice(start, i));
      if (!forbidden && FORBIDDEN_KEYS.has(name)) forbidden = { name, offset: start };
      const first = top.get(name);
      if (first === undefined) top.set(name, start);
      else if (!duplicate) duplicate = { name, offset: start, first };
      if (inRoot) {
        prop = { key: name, start, valueStart: -1, valueEnd: -1, comma: -1 };
        afterColon = false;
      }
    } else if (inRoot && prop && afterColon && prop.valueStart < 0) {
      prop.valueStart = start;
      prop.valueEnd = i;
    }
    expectKey = false;
  }
  return finish(-1);
}

/** The value of JSONC text that has no syntax error, or the first error's offset and name. */
function parseScanned(text: string, scan: Scan): { value: unknown } | { offset: number; error: string } {
  if (scan.json.trim() === "") return { value: undefined };
  try {
    return { value: JSON.parse(scan.json) };
  } catch {}
  // Not plain JSON even without comments: let jsonc-parser name the first error, stopping there.
  let first: { offset: number; error: string } | undefined;
  const stop = new Error("first error");
  try {
    visit(
      text,
      {
        onError(code, offset) {
          first = { offset, error: printParseErrorCode(code) };
          throw stop;
        },
      },
      PARSE_OPTIONS,
    );
  } catch (error) {
    if (error !== stop) throw error;
  }
  if (first) return first;
  const errors: ParseError[] = [];
  const value = parse(text, errors, PARSE_OPTIONS);
  return errors[0] ? { offset: errors[0].offset, error: printParseErrorCode(errors[0].error) } : { value };
}

/** Parses JSONC text that must hold an object. `file` names it in errors (workspace-relative). */
export function parseJsoncObject(text: string, file: string): Record<string, unknown> {
  const scan = scanJsonc(text, MAX_FILE_DEPTH);
  if (scan.tooDeep >= 0) throw fileError(file, text, scan.tooDeep, `nested deeper than ${MAX_FILE_DEPTH} levels`);
  const parsed = parseScanned(text, scan);
  if ("error" in parsed) throw fileError(file, text, parsed.offset, parsed.error);
  if (scan.forbidden) throw fileError(file, text, scan.forbidden.offset, `forbidden key "${scan.forbidden.name}"`);
  if (scan.duplicate) {
    const { line } = lineColumn(text, scan.duplicate.first);
    throw fileError(file, text, scan.duplicate.offset, `duplicate key "${scan.duplicate.name}" (first at line ${line})`);
  }
  const value = parsed.value;
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw fileError(file, text, 0, "top-level value must be an object");
  }
  return value as Record<string, unknown>;
}

function detectIndent(text: string): string {
  const match = /\n([ \t]+)\S/.exec(text);
  if (!match?.[1]) return "  ";
  if (match[1].startsWith("\t")) return "\t";
  return " ".repeat(match[1].length);
}

interface Edit {
  offset: number;
  length: number;
  content: string;
}

/** Applies non-overlapping edits in one pass (insertions before a removal at the same offset). */
function applyAll(text: string, edits: Edit[]): string {
  edits.sort((a, b) => a.offset - b.offset || a.length - b.length);
  const out: string[] = [];
  let cursor = 0;
  for (const edit of edits) {
    if (edit.offset < cursor) throw new Error("overlapping JSONC edits");
    out.push(text.slice(cursor, edit.offset), edit.content);
    cursor = edit.offset + edit.length;
  }
  out.push(text.slice(cursor));
  return out.join("");
}

/**
 * Replaces (or, for `undefined`, removes) top-level keys in JSONC text. Everything else in the
 * text (comments, key order, formatting, unknown keys) is kept as it was; a value equal to the one
 * in the file leaves its text alone. New keys go after the last one. One scan of the text, one
 * pass to apply: linear in the text and the change.
 */
export function setTopLevelKeys(text: string, changes: Record<string, unknown>): string {
  const source = text.trim() === "" ? "{}\n" : text;
  const withNewline = (t: string) => (t.endsWith("\n") ? t : `${t}\n`);
  const scan = scanJsonc(source, MAX_FILE_DEPTH);
  if (scan.tooDeep >= 0) throw fileError("config", source, scan.tooDeep, `nested deeper than ${MAX_FILE_DEPTH} levels`);
  const parsed = parseScanned(source, scan);
  if ("error" in parsed) throw fileError("config", source, parsed.offset, parsed.error);
  const eol = source.includes("\r\n") ? "\r\n" : "\n";
  const unit = detectIndent(source);
  /** A value as indented JSON whose continuation lines start at `indent`. */
  const render = (value: unknown, indent: string) => JSON.stringify(value, null, unit).replace(/\n/g, eol + indent);
  const renderProperty = (key: string, value: unknown, indent: string) => `${indent}${JSON.stringify(key)}: ${render(value, indent)}`;

  const additions: Array<[string, unknown]> = [];
  const root = scan.root;
  if (parsed.value === undefined || !root) {
    // Only comments: the object goes after them.
    for (const [key, value] of Object.entries(changes)) if (value !== undefined) additions.push([key, value]);
    if (additions.length === 0) return withNewline(source);
    const body = additions.map(([k, v]) => renderProperty(k, v, unit)).join(`,${eol}`);
    return `${source.trimEnd()}${eol}{${eol}${body}${eol}}${eol}`;
  }
  const current = parsed.value as Record<string, unknown>;
  const props = root.props;
  const byKey = new Map<string, number[]>();
  props.forEach((p, i) => {
    const list = byKey.get(p.key);
    if (list) list.push(i);
    else byKey.set(p.key, [i]);
  });
  const removed = new Array<boolean>(props.length).fill(false);
  const replaced = new Map<number, unknown>();
  for (const [key, value] of Object.entries(changes)) {
    const at = byKey.get(key);
    if (!at) {
      if (value !== undefined) additions.push([key, value]);
      continue;
    }
    for (const i of at) {
      if (value === undefined) removed[i] = true;
      else if (!isDeepStrictEqual(current[key], value)) replaced.set(i, value);
    }
  }
  if (additions.length === 0 && replaced.size === 0 && !removed.includes(true)) return withNewline(source);

  const atLineStart = (offset: number) => offset === 0 || source[offset - 1] === "\n";
  /** The start of `offset`'s line when only blanks precede it there, else `offset`. */
  const blankLineStart = (offset: number) => {
    let i = offset;
    while (i > 0 && (source[i - 1] === " " || source[i - 1] === "\t")) i--;
    return atLineStart(i) ? i : offset;
  };
  /** Where the rest of the line after `offset` ends when it is blank or a line comment (before the line break), else -1. */
  const blankRestEnd = (offset: number) => {
    let i = offset;
    while (source[i] === " " || source[i] === "\t") i++;
    if (source.startsWith("//", i)) while (i < source.length && source[i] !== "\n" && source[i] !== "\r") i++;
    return i >= source.length || source[i] === "\n" || source[i] === "\r" ? i : -1;
  };
  /** Moves a line start up over the whole-line comments right above it (they describe that key). */
  const commentLinesAbove = (lineStart: number) => {
    let start = lineStart;
    while (start > 0) {
      const prevStart = source.lastIndexOf("\n", start - 2) + 1;
      const line = source.slice(prevStart, start).trim();
      const comment = (line.startsWith("//") && !line.includes("*/")) || (/^\/\*.*\*\/$/.test(line) && !line.slice(2, -2).includes("*/"));
      if (!comment) break;
      start = prevStart;
    }
    return start;
  };
  const lineBreakAt = (offset: number) => (source.startsWith("\r\n", offset) ? 2 : source[offset] === "\n" ? 1 : 0);
  const indentOf = (p: TopLevelProperty) => {
    const start = blankLineStart(p.start);
    return start === p.start && !atLineStart(p.start) ? unit : source.slice(start, p.start);
  };

  if (!source.slice(root.open, root.close).includes("\n")) {
    // `{}` or `{ "a": 1 }`: written out again whole, one key per line (as an editor would).
    const entries: Array<[string, unknown]> = [];
    props.forEach((p, i) => {
      if (!removed[i]) entries.push([p.key, replaced.has(i) ? replaced.get(i) : current[p.key]]);
    });
    entries.push(...additions);
    const object = entries.length === 0 ? "{}" : `{${eol}${entries.map(([k, v]) => renderProperty(k, v, unit)).join(`,${eol}`)}${eol}}`;
    return withNewline(source.slice(0, root.open) + object + source.slice(root.close + 1));
  }

  const edits: Edit[] = [];
  for (const [i, value] of replaced) {
    const p = props[i]!;
    edits.push({ offset: p.valueStart, length: p.valueEnd - p.valueStart, content: render(value, indentOf(p)) });
  }
  let lastKept = -1;
  for (let i = 0; i < props.length; i++) if (!removed[i]) lastKept = i;
  // Each run of removed keys goes with its own trailing comma and, when it fills whole lines,
  // with those lines, the comment lines right above it and a comment at the end of its line.
  for (let a = 0; a < props.length; a++) {
    if (!removed[a]) continue;
    let b = a;
    while (b + 1 < props.length && removed[b + 1]) b++;
    const last = props[b]!;
    let spanEnd = last.comma >= 0 ? last.comma + 1 : last.valueEnd;
    if (b + 1 === props.length && a > 0 && additions.length === 0) {
      // The last keys go: the comma before them goes too (new keys would have reused it).
      const before = props[a - 1]!.comma;
      if (before >= 0) edits.push({ offset: before, length: 1, content: "" });
    }
    let spanStart = blankLineStart(props[a]!.start);
    const restEnd = blankRestEnd(spanEnd);
    if (restEnd >= 0 && atLineStart(spanStart)) {
      spanEnd = restEnd + lineBreakAt(restEnd);
      spanStart = commentLinesAbove(spanStart);
    } else if (restEnd >= 0) {
      spanEnd = restEnd;
      while (source[spanStart - 1] === " " || source[spanStart - 1] === "\t") spanStart--;
    } else {
      spanStart = props[a]!.start;
      while (source[spanEnd] === " " || source[spanEnd] === "\t") spanEnd++;
    }
    edits.push({ offset: spanStart, length: spanEnd - spanStart, content: "" });
    a = b;
  }
  if (additions.length > 0) {
    const indent = props.length > 0 ? indentOf(props[0]!) : unit;
    const lines = additions.map(([k, v]) => renderProperty(k, v, indent)).join(`,${eol}`);
    if (lastKept >= 0) {
      const anchor = props[lastKept]!;
      const after = anchor.comma >= 0 ? anchor.comma + 1 : anchor.valueEnd;
      if (anchor.comma < 0) edits.push({ offset: anchor.valueEnd, length: 0, content: "," });
      const restEnd = blankRestEnd(after);
      edits.push({ offset: restEnd >= 0 ? restEnd : after, length: 0, content: `${eol}${lines}` });
    } else {
      const closing = source.slice(root.open + 1, root.close).includes("\n") ? "" : eol;
      edits.push({ offset: root.open + 1, length: 0, content: `${eol}${lines}${closing}` });
    }
  }
  return withNewline(applyAll(source, edits));
}

/**
 * One iterative walk over a parsed value (a request body, parsed frontmatter): whether objects and
 * arrays nest deeper than `maxDepth`, the path of an object with more than `maxKeys` keys, and the
 * path of a forbidden key. Only objects and arrays are
 * queued (a 50,000-key object of strings is one pass over its keys), each once: YAML aliases can
 * share or even cycle values.
 */
export function inspectJson(
  value: unknown,
  maxDepth = Number.POSITIVE_INFINITY,
  maxKeys = Number.POSITIVE_INFINITY,
): { tooDeep: boolean; forbidden: string[] | null; tooWide?: string[] } {
  if (value === null || typeof value !== "object") return { tooDeep: false, forbidden: null };
  // Breadth first over a growing list; parents and keys rebuild a path only for a hit.
  const nodes: object[] = [value];
  const depths = [1];
  const parents = [-1];
  const keys = [""];
  const seen = new Set<object>(nodes);
  const pathTo = (index: number, last: string) => {
    const path = [last];
    for (let i = index; i > 0; i = parents[i]!) path.push(keys[i]!);
    return path.reverse();
  };
  const queue = (child: unknown, depth: number, parent: number, key: string) => {
    if (child === null || typeof child !== "object" || seen.has(child)) return;
    seen.add(child);
    nodes.push(child);
    depths.push(depth);
    parents.push(parent);
    keys.push(key);
  };
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i]!;
    const depth = depths[i]!;
    if (depth > maxDepth) return { tooDeep: true, forbidden: null };
    if (Array.isArray(node)) {
      for (let k = 0; k < node.length; k++) queue(node[k], depth + 1, i, String(k));
      continue;
    }
    const record = node as Record<string, unknown>;
    const names = Object.keys(record);
    if (names.length > maxKeys) return { tooDeep: false, forbidden: null, tooWide: i === 0 ? [] : pathTo(parents[i]!, keys[i]!) };
    for (const key of names) {
      if (FORBIDDEN_KEYS.has(key)) return { tooDeep: false, forbidden: pathTo(i, key) };
      queue(record[key], depth + 1, i, key);
    }
  }
  return { tooDeep: false, forbidden: null };
}

/** The path of the first forbidden key anywhere in a JSON value, or null (see inspectJson). */
export function findForbiddenKey(value: unknown): string[] | null {
  return inspectJson(value).forbidden;
}
