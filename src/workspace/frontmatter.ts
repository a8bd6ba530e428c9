// Markdown with YAML frontmatter (skills and commands). YAML only: a `---js` / `---json` / `---toml`
// opening is refused, never evaluated. Aliases are capped so an alias bomb is an error, not a hang.
// Keys that reach a prototype (`__proto__`, `constructor`, `prototype`) are refused like in JSON files.
// A file on disk that does not parse is a 422 `invalid_file` (line/column in details); text that
// came in a request is a 400 `invalid_payload`.
// Cost is bounded before the YAML parser runs: the block is at most MAX_FRONTMATTER_CHARS and
// nests at most MAX_FRONTMATTER_DEPTH brackets (the yaml package needs ~30 µs per key and recurses
// per level). Duplicate keys are found with one Set per mapping: yaml's own `uniqueKeys` check
// compares each key with every earlier one, which took minutes on a 95,000-key block.
import { type Document, isMap, isScalar, isSeq, type Node, parseDocument, stringify } from "yaml";
import { ApiError } from "../errors.js";
import { findForbiddenKey, lineColumn } from "./jsonc.js";

/** Alias expansions allowed when turning YAML into values (the yaml default is 100). */
export const MAX_ALIAS_COUNT = 50;
/** Longest frontmatter block (the YAML between the fences), in characters. */
export const MAX_FRONTMATTER_CHARS = 8 * 1024;
/** Deepest nesting of `[` / `{` in a frontmatter block. */
export const MAX_FRONTMATTER_DEPTH = 64;

export type FrontmatterData = Record<string, unknown>;

export interface ParsedMarkdown {
  /** True when the text opens with a `---` frontmatter block. */
  hasFrontmatter: boolean;
  /** The frontmatter mapping ({} when there is none or it is empty). */
  data: FrontmatterData;
  /** Everything after the closing fence (the whole text when there is no frontmatter). */
  body: string;
  /** Line break used by the fences ("\n" or "\r\n"). */
  eol: string;
}

export interface ParseOptions {
  /** Names the text in errors (workspace-relative file, or e.g. "content"). */
  file: string;
  /** "file": 422 invalid_file (text read from disk); "request": 400 invalid_payload. */
  source?: "file" | "request";
  /**
   * Read the YAML as OpenCode's own frontmatter parser does (js-yaml): `<<` merge keys are merged
   * and unquoted dates become Date values. For checking what the engine will see.
   */
  asEngine?: boolean;
}

interface Fences {
  yamlStart: number;
  yamlEnd: number;
  bodyStart: number;
  eol: string;
}

/** 1-based line of the first YAML line in the whole text (the one after the opening fence). */
const FIRST_YAML_LINE = 2;

function problem(options: ParseOptions, message: string, extra: Record<string, unknown> = {}): ApiError {
  const details = { file: options.file, ...extra };
  return options.source === "request"
    ? new ApiError(400, "invalid_payload", `${options.file}: ${message}`, details)
    : new ApiError(422, "invalid_file", `${options.file} does not parse: ${message}`, details);
}

/** Finds the frontmatter fences, or null when the text has no frontmatter. */
function findFences(text: string, start: number, options: ParseOptions): Fences | null {
  if (!text.startsWith("---", start)) return null;
  const firstBreak = text.indexOf("\n", start);
  const openLine = (firstBreak === -1 ? text.slice(start) : text.slice(start, firstBreak)).replace(/\r$/, "");
  const rest = openLine.slice(3);
  // `----...` is a Markdown rule, not a fence.
  if (rest.startsWith("-")) return null;
  const lang = rest.trim().toLowerCase();
  if (lang !== "" && lang !== "yaml" && lang !== "yml") {
    throw problem(options, `frontmatter must be YAML (found "---${rest.trim()}")`, { line: 1, column: 4 });
  }
  if (firstBreak === -1) throw problem(options, "frontmatter is not closed by a --- line", { line: 1, column: 1 });
  const eol = text[firstBreak - 1] === "\r" ? "\r\n" : "\n";
  const yamlStart = firstBreak + 1;
  let lineStart = yamlStart;
  while (lineStart <= text.length) {
    const next = text.indexOf("\n", lineStart);
    const lineEnd = next === -1 ? text.length : next;
    const content = text.slice(lineStart, lineEnd).replace(/\r$/, "");
    if (/^---[ \t]*$/.test(content)) {
      return { yamlStart, yamlEnd: lineStart, bodyStart: next === -1 ? text.length : next + 1, eol };
    }
    if (next === -1) break;
    lineStart = next + 1;
  }
  throw problem(options, "frontmatter is not closed by a --- line", { line: 1, column: 1 });
}

/** Deepest run of unclosed brackets (quotes ignored: an over-estimate, never an under-estimate). */
function bracketDepth(yaml: string): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < yaml.length; i++) {
    const c = yaml.charCodeAt(i);
    if (c === 91 || c === 123) max = Math.max(max, ++depth);
    else if ((c === 93 || c === 125) && depth > 0) depth--;
  }
  return max;
}

/** The first key that repeats within one mapping, walking the document without recursion. */
function findDuplicateKey(doc: Document): { key: string; offset: number } | null {
  const stack: unknown[] = [doc.contents];
  while (stack.length > 0) {
    const node = stack.pop();
    if (isMap(node)) {
      const seen = new Set<string>();
      for (const pair of node.items) {
        const key = pair.key as Node | null;
        // Scalars compare by value and type, as yaml's own check does; other keys never collide.
        if (isScalar(key)) {
          const id = `${typeof key.value}:${String(key.value)}`;
          if (seen.has(id)) return { key: String(key.value), offset: key.range?.[0] ?? 0 };
          seen.add(id);
        } else if (key) stack.push(key);
        stack.push(pair.value);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) stack.push(item);
    }
  }
  return null;
}

/** Parses the YAML of a frontmatter block into a plain mapping (throws 422/400). */
function parseYamlMapping(yaml: string, options: ParseOptions): FrontmatterData {
  const firstLine = FIRST_YAML_LINE;
  const at = (offset: number) => {
    const { line, column } = lineColumn(yaml, offset);
    return { line: line + firstLine - 1, column };
  };
  if (yaml.length > MAX_FRONTMATTER_CHARS) {
    throw problem(options, `frontmatter is longer than ${MAX_FRONTMATTER_CHARS} characters`, { maxChars: MAX_FRONTMATTER_CHARS });
  }
  if (bracketDepth(yaml) > MAX_FRONTMATTER_DEPTH) {
    throw problem(options, `frontmatter is nested deeper than ${MAX_FRONTMATTER_DEPTH} levels`, { maxDepth: MAX_FRONTMATTER_DEPTH });
  }
  let doc: Document;
  try {
    doc = parseDocument(yaml, {
      prettyErrors: true,
      uniqueKeys: false,
      strict: true,
      ...(options.asEngine ? { merge: true, customTags: ["timestamp"] } : {}),
    });
  } catch (error) {
    throw problem(options, `frontmatter could not be parsed (${(error as Error).message})`);
  }
  const first = doc.errors[0];
  if (first) {
    const pos = first.linePos?.[0];
    const line = pos ? pos.line + firstLine - 1 : firstLine;
    const column = pos ? pos.col : 1;
    const reason = first.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
    throw problem(options, `${reason} at line ${line}, column ${column}`, { line, column, error: reason });
  }
  const duplicate = findDuplicateKey(doc);
  if (duplicate) {
    const { line, column } = at(duplicate.offset);
    const reason = `duplicate key "${duplicate.key.slice(0, 200)}"`;
    throw problem(options, `${reason} at line ${line}, column ${column}`, { line, column, error: reason });
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    // ReferenceError for an alias bomb, RangeError for absurd nesting: both are a bad file.
    throw problem(options, `frontmatter is not usable: ${(error as Error).message}`);
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    throw problem(options, "frontmatter must be a YAML mapping (key: value lines)", { line: firstLine, column: 1 });
  }
  const forbidden = findForbiddenKey(value);
  if (forbidden) throw problem(options, `forbidden key "${forbidden.at(-1)}" in frontmatter`, { key: forbidden.join(".") });
  return value as FrontmatterData;
}

/** Splits Markdown into frontmatter (parsed as YAML) and body. */
export function parseFrontmatter(text: string, options: ParseOptions): ParsedMarkdown {
  const start = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const fences = findFences(text, start, options);
  if (!fences) {
    return { hasFrontmatter: false, data: {}, body: text.slice(start), eol: text.includes("\r\n") ? "\r\n" : "\n" };
  }
  const data = parseYamlMapping(text.slice(fences.yamlStart, fences.yamlEnd), options);
  return { hasFrontmatter: true, data, body: text.slice(fences.bodyStart), eol: fences.eol };
}

/**
 * YAML for a flat mapping, written so every YAML reader agrees on it: strings that a YAML 1.1
 * reader would take for something else (`yes`, `no`, `on`, `null`, `1.0`, dates) are quoted,
 * and long lines are never folded. Keys whose value is undefined or null are left out.
 */
export function stringifyFrontmatterData(data: FrontmatterData): string {
  const clean: FrontmatterData = {};
  for (const [key, value] of Object.entries(data)) {
    if (value !== undefined && value !== null) clean[key] = value;
  }
  if (Object.keys(clean).length === 0) return "";
  return stringify(clean, { version: "1.1", lineWidth: 0, minContentWidth: 0 });
}

/** `---\n<yaml>---\n<body>`; no fences at all when `data` has no values and the body cannot be mistaken for them. */
export function renderFrontmatter(data: FrontmatterData, body: string, eol = "\n"): string {
  let yaml = stringifyFrontmatterData(data);
  if (eol !== "\n") yaml = yaml.replace(/\n/g, eol);
  if (yaml === "") return /^(\uFEFF)?---/.test(body) ? `---${eol}---${eol}${body}` : body;
  return `---${eol}${yaml}---${eol}${body}`;
}

/**
 * Adds keys that are missing from an existing frontmatter block without touching the user's
 * other lines (comments, order, quoting). The new lines go first. Returns null when the block is
 * not a plain block mapping that can safely take them (the caller then re-renders it).
 */
export function prependFrontmatterKeys(text: string, additions: FrontmatterData): string | null {
  const start = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let fences: Fences | null;
  try {
    fences = findFences(text, start, { file: "content", source: "request" });
  } catch {
    return null;
  }
  if (!fences) return null;
  let lines = stringifyFrontmatterData(additions);
  if (fences.eol !== "\n") lines = lines.replace(/\n/g, fences.eol);
  const yaml = text.slice(fences.yamlStart, fences.yamlEnd);
  // Only a block mapping at column 0 (or an empty block) can take extra top-level lines in front.
  const firstContent = yaml.split(/\r?\n/).find((l) => l.trim() !== "" && !l.trimStart().startsWith("#"));
  if (
    firstContent !== undefined &&
    !/^[^\s{[\-?&*!|>'"%@`][^\n]*:(\s|$)/.test(firstContent) &&
    !/^["'][^\n]*["']\s*:(\s|$)/.test(firstContent)
  ) {
    return null;
  }
  return text.slice(0, fences.yamlStart) + lines + text.slice(fences.yamlStart);
}
