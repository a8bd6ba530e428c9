// Wildcard and glob matching in time linear in the text for a given pattern (states x characters),
// with no backtracking. A pattern becomes a small NFA (Thompson construction) that is run over the
// text with a set of live states, so `*a*a*a*a*a*a*a*ab` against a 64-character name costs a few
// thousand steps instead of the exponential backtracking a RegExp (or picomatch's) does.
// Two pattern languages, the two OpenCode's `tools` block uses:
// - wildcards (OpenCode's own `Wildcard.match`): `*` any run of characters, `?` any one
//   character, everything else literal, whole string;
// - globs (the SPEC's `tools.deny`, picomatch with `dot: true`): `*` and `?` (not across `/`), `**`
//   as a whole path segment (across `/`), `[...]` classes (ranges, `^` negation, POSIX
//   `[:alpha:]` and friends; as picomatch 4 reads them, `!` does not negate and a plain class
//   also matches its own text: `[!a]` is `!`, `a` or `[!a]`), `{a,b}` alternatives (nested), `\` escapes and a leading `!` that
//   negates. Extglobs (`@(a|b)`, `+(...)`) and numeric ranges (`{1..3}`) are matched literally.

/** One NFA state: consumes a character matching `test`, then goes to `next[0]`; or, without `test`, moves to every state in `next` for free. */
interface State {
  test: ((c: number) => boolean) | null;
  next: number[];
}

/** A pattern piece: one character (`code` when it is a literal one), a run of them, or alternatives. */
type Item =
  | { kind: "char"; test: (c: number) => boolean; code?: number }
  | { kind: "star"; test: (c: number) => boolean }
  | { kind: "alt"; options: Item[][] };

const SLASH = 47;
const any = () => true;
const notSlash = (c: number) => c !== SLASH;
const literal = (code: number) => (c: number) => c === code;

/** A compiled pattern. `cost(text)` bounds the steps `matches(text)` takes. */
export interface Matcher {
  /** The literal text every match starts with (a cheap pre-check). */
  readonly prefix: string;
  matches(text: string): boolean;
  cost(text: string): number;
}

/** Deepest `{...}` nesting a glob may have; a deeper pattern never matches. */
const MAX_BRACE_DEPTH = 16;

class Nfa implements Matcher {
  private readonly states: State[] = [];
  private readonly start: number;
  private readonly accept: number;
  private readonly mark: Int32Array;
  private generation = 0;

  constructor(
    items: Item[],
    readonly prefix: string,
    private readonly negate = false,
  ) {
    this.accept = this.add(null, []);
    this.start = this.sequence(items, this.accept, 0);
    this.mark = new Int32Array(this.states.length);
  }

  private add(test: State["test"], next: number[]): number {
    this.states.push({ test, next });
    return this.states.length - 1;
  }

  /** States for `items` followed by `then`; built back to front so each item knows what follows. */
  private sequence(items: Item[], then: number, depth: number): number {
    let next = then;
    for (let i = items.length - 1; i >= 0; i--) {
      const item = items[i]!;
      if (item.kind === "char") next = this.add(item.test, [next]);
      else if (item.kind === "star") {
        const loop = this.add(null, []);
        const consume = this.add(item.test, [loop]);
        this.states[loop]!.next.push(consume, next);
        next = loop;
      } else {
        if (depth >= MAX_BRACE_DEPTH) throw new RangeError("braces nested too deeply");
        const after = next;
        next = this.add(
          null,
          item.options.map((option) => this.sequence(option, after, depth + 1)),
        );
      }
    }
    return next;
  }

  /** Adds `state` and every state reachable from it for free to `into` (once per generation). */
  private close(state: number, into: number[]): void {
    const stack = [state];
    while (stack.length > 0) {
      const s = stack.pop()!;
      if (this.mark[s] === this.generation) continue;
      this.mark[s] = this.generation;
      const { test, next } = this.states[s]!;
      if (test) into.push(s);
      else if (s === this.accept) into.push(s);
      else for (let k = next.length - 1; k >= 0; k--) stack.push(next[k]!);
    }
  }

  cost(text: string): number {
    return this.states.length * (text.length + 1);
  }

  matches(text: string): boolean {
    let live: number[] = [];
    this.generation++;
    this.close(this.start, live);
    for (let i = 0; i < text.length && live.length > 0; i++) {
      const c = text.charCodeAt(i);
      const next: number[] = [];
      this.generation++;
      for (const s of live) {
        const { test, next: to } = this.states[s]!;
        if (test?.(c)) this.close(to[0]!, next);
      }
      live = next;
    }
    return live.includes(this.accept) !== this.negate;
  }
}

/** A pattern that never matches (one whose braces nest too deeply). */
const NEVER: Matcher = { prefix: "", matches: () => false, cost: () => 1 };

function literalPrefix(items: Item[]): string {
  let prefix = "";
  for (const item of items) {
    if (item.kind !== "char" || item.code === undefined) break;
    prefix += String.fromCharCode(item.code);
  }
  return prefix;
}

const lit = (code: number): Item => ({ kind: "char", test: literal(code), code });

/** OpenCode's wildcard: `*` any run (also `/` and line breaks), `?` any one character. */
export function compileWildcard(pattern: string): Matcher {
  const items: Item[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charCodeAt(i);
    if (c === 42) {
      if (items.at(-1)?.kind !== "star") items.push({ kind: "star", test: any }); // `**` is `*`
    } else if (c === 63) items.push({ kind: "char", test: any });
    else items.push(lit(c));
  }
  return new Nfa(items, literalPrefix(items));
}

const POSIX_CLASSES: Record<string, (c: number) => boolean> = {
  alnum: (c) => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122),
  alpha: (c) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122),
  digit: (c) => c >= 48 && c <= 57,
  lower: (c) => c >= 97 && c <= 122,
  upper: (c) => c >= 65 && c <= 90,
  space: (c) => c === 32 || (c >= 9 && c <= 13),
  word: (c) => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95,
  xdigit: (c) => (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102),
  punct: (c) => (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126),
};

/**
 * Parses `[...]` starting at `start` (the `[`); null when it is not closed (then `[` is literal).
 * `^` negates; `!` does not. As picomatch 4 does, a class without `^` or `[:name:]` also matches
 * its own text (`[ab]` matches `a`, `b` or `[ab]`): `orText` says so.
 */
function parseClass(pattern: string, start: number): { test: (c: number) => boolean; end: number; orText: boolean } | null {
  let i = start + 1;
  let negated = false;
  if (pattern[i] === "^") {
    negated = true;
    i++;
  }
  const ranges: Array<[number, number]> = [];
  const named: Array<(c: number) => boolean> = [];
  let first = true;
  while (i < pattern.length) {
    const ch = pattern[i]!;
    if (ch === "]" && !first) {
      const inClass = (c: number) => ranges.some(([lo, hi]) => c >= lo && c <= hi) || named.some((t) => t(c));
      return { test: negated ? (c) => c !== SLASH && !inClass(c) : inClass, end: i + 1, orText: !negated && named.length === 0 };
    }
    first = false;
    if (ch === "[" && pattern[i + 1] === ":") {
      const close = pattern.indexOf(":]", i + 2);
      const name = close < 0 ? "" : pattern.slice(i + 2, close);
      const posix = POSIX_CLASSES[name];
      if (posix) {
        named.push(posix);
        i = close + 2;
        continue;
      }
    }
    let code: number;
    if (ch === "\\" && i + 1 < pattern.length) {
      code = pattern.charCodeAt(i + 1);
      i += 2;
    } else {
      code = pattern.charCodeAt(i);
      i++;
    }
    if (pattern[i] === "-" && i + 1 < pattern.length && pattern[i + 1] !== "]") {
      let hi: number;
      if (pattern[i + 1] === "\\" && i + 2 < pattern.length) {
        hi = pattern.charCodeAt(i + 2);
        i += 3;
      } else {
        hi = pattern.charCodeAt(i + 1);
        i += 2;
      }
      ranges.push([code, hi]);
    } else ranges.push([code, code]);
  }
  return null;
}

/**
 * For each `{`, the offset of its matching `}` when the group holds a top-level `,` (a real
 * alternative), else nothing (the `{` is literal). One pass with a stack.
 */
function braceGroups(pattern: string): Map<number, number> {
  const groups = new Map<number, number>();
  const open: Array<{ at: number; comma: boolean }> = [];
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === "\\") i++;
    else if (ch === "[") {
      const cls = parseClass(pattern, i);
      if (cls) i = cls.end - 1;
    } else if (ch === "{") open.push({ at: i, comma: false });
    else if (ch === "," && open.length > 0) open[open.length - 1]!.comma = true;
    else if (ch === "}" && open.length > 0) {
      const group = open.pop()!;
      if (group.comma) groups.set(group.at, i);
    }
  }
  return groups;
}

/** picomatch-style glob (see the file comment), whole string. */
export function compileGlob(pattern: string): Matcher {
  let start = 0;
  let negate = false;
  while (pattern[start] === "!" && pattern[start + 1] !== "(") {
    negate = !negate;
    start++;
  }
  while (pattern.startsWith("./", start)) start += 2; // picomatch drops a leading `./`
  const groups = braceGroups(pattern);
  // The sequence being built, and for each open brace group its finished options so far.
  const root: Item[] = [];
  const frames: Array<{ options: Item[][]; current: Item[]; close: number }> = [];
  let current = root;
  for (let i = start; i < pattern.length; i++) {
    const ch = pattern[i]!;
    const frame = frames.at(-1);
    if (frame && i === frame.close) {
      frame.options.push(frame.current);
      frames.pop();
      current = frames.at(-1)?.current ?? root;
      current.push({ kind: "alt", options: frame.options });
      continue;
    }
    if (frame && ch === ",") {
      frame.options.push(frame.current);
      frame.current = [];
      current = frame.current;
      continue;
    }
    if (ch === "{" && groups.has(i)) {
      frames.push({ options: [], current: [], close: groups.get(i)! });
      current = frames.at(-1)!.current;
      continue;
    }
    if (ch === "\\") {
      if (i + 1 < pattern.length) current.push(lit(pattern.charCodeAt(++i)));
      else current.push(lit(92));
    } else if (ch === "*") {
      let end = i;
      while (pattern[end + 1] === "*") end++;
      const segmentStart = i === start || pattern[i - 1] === "/";
      const segmentEnd =
        end + 1 === pattern.length ||
        pattern[end + 1] === "/" ||
        (frame !== undefined && (end + 1 === frame.close || pattern[end + 1] === ","));
      const globstar = end > i && segmentStart && segmentEnd;
      if (globstar && pattern[end + 1] === "/") {
        // `**/` is any number of whole segments, none included: `**/x` matches `x` too.
        current.push({ kind: "alt", options: [[], [{ kind: "star", test: any }, lit(SLASH)]] });
        i = end + 1;
        continue;
      }
      current.push({ kind: "star", test: globstar ? any : notSlash });
      i = end;
    } else if (ch === "?") current.push({ kind: "char", test: notSlash });
    else if (ch === "[") {
      const cls = parseClass(pattern, i);
      if (cls?.orText) {
        const text: Item[] = [...pattern.slice(i, cls.end)].map((c) => lit(c.charCodeAt(0)));
        current.push({ kind: "alt", options: [[{ kind: "char", test: cls.test }], text] });
        i = cls.end - 1;
      } else if (cls) {
        current.push({ kind: "char", test: cls.test });
        i = cls.end - 1;
      } else current.push(lit(91));
    } else current.push(lit(pattern.charCodeAt(i)));
  }
  try {
    return new Nfa(root, negate ? "" : literalPrefix(root), negate);
  } catch (error) {
    if (error instanceof RangeError) return NEVER;
    throw error;
  }
}

/** True when a glob has no special characters (it matches only itself). */
export function isLiteralGlob(pattern: string): boolean {
  return !/[*?[\]{}\\!]/.test(pattern) && !pattern.startsWith("./");
}

/** True when a wildcard has no `*` or `?` (it matches only itself). */
export function isLiteralWildcard(pattern: string): boolean {
  return !/[*?]/.test(pattern);
}
