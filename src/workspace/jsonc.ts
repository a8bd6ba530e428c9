// JSONC reading and comment-preserving edits. Files on disk that do not parse are a 422 naming
// the line and column; they are never rewritten, so the user's text is not lost.
import { applyEdits, modify, type ParseError, parse, printParseErrorCode, visit } from "jsonc-parser";
import { ApiError } from "../errors.js";

/** Keys that would reach an object's prototype when assigned; refused in files and bodies. */
export const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);

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

/** Parses JSONC text that must hold an object. `file` names it in errors (workspace-relative). */
export function parseJsoncObject(text: string, file: string): Record<string, unknown> {
  let forbidden: { name: string; offset: number } | undefined;
  visit(text, {
    onObjectProperty(name, offset) {
      if (!forbidden && FORBIDDEN_KEYS.has(name)) forbidden = { name, offset };
    },
  });
  const errors: ParseError[] = [];
  const value = parse(text, errors, { allowTrailingComma: true, disallowComments: false, allowEmptyContent: true });
  const first = errors[0];
  if (first) throw fileError(file, text, first.offset, printParseErrorCode(first.error));
  if (forbidden) throw fileError(file, text, forbidden.offset, `forbidden key "${forbidden.name}"`);
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw fileError(file, text, 0, "top-level value must be an object");
  }
  return value as Record<string, unknown>;
}

function detectIndent(text: string): { tabSize: number; insertSpaces: boolean } {
  const match = /\n([ \t]+)\S/.exec(text);
  if (!match?.[1]) return { tabSize: 2, insertSpaces: true };
  if (match[1].startsWith("\t")) return { tabSize: 1, insertSpaces: false };
  return { tabSize: match[1].length, insertSpaces: true };
}

/**
 * Replaces (or, for `undefined`, removes) top-level keys in JSONC text. Everything else in the
 * text (comments, key order, formatting, unknown keys) is kept as it was.
 */
export function setTopLevelKeys(text: string, changes: Record<string, unknown>): string {
  let result = text.trim() === "" ? "{}\n" : text;
  const formattingOptions = { ...detectIndent(result), eol: result.includes("\r\n") ? "\r\n" : "\n" };
  for (const [key, value] of Object.entries(changes)) {
    const edits = modify(result, [key], value, { formattingOptions });
    result = applyEdits(result, edits);
  }
  return result.endsWith("\n") ? result : `${result}\n`;
}

/** Finds the first forbidden key anywhere in a JSON value (for request bodies). */
export function findForbiddenKey(value: unknown, path: string[] = []): string[] | null {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const hit = findForbiddenKey(value[i], [...path, String(i)]);
      if (hit) return hit;
    }
  } else if (value !== null && typeof value === "object") {
    for (const key of Object.keys(value)) {
      if (FORBIDDEN_KEYS.has(key)) return [...path, key];
      const hit = findForbiddenKey((value as Record<string, unknown>)[key], [...path, key]);
      if (hit) return hit;
    }
  }
  return null;
}
