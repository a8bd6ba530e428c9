// The bytes of a listing response, `{"items":[...]}`, kept with where each item starts, so a change
// of a few items makes the next response by copying the unchanged runs of bytes around the new
// items' JSON (a memory copy of the body, no serialisation of the thousands of others). The items'
// JSON lives only here: a 20,000-skill listing costs its 3.5 MB of bytes, the names and an offset
// per item.
const PREFIX = '{"items":[';
const SUFFIX = "]}";
const COMMA = 44;

const decoder = new TextDecoder();

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Index of the first element of `sorted` at or after `from` that is >= `name`. */
export function lowerBound(sorted: readonly string[], name: string, from = 0): number {
  let lo = from;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < name) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A run of unchanged items [from, to) of the old body, or the JSON of a new item. */
type Segment = { from: number; to: number } | { name: string; json: string };

export class ItemsBody {
  private constructor(
    /** `{"items":[item,item,...]}` */
    readonly bytes: Uint8Array<ArrayBuffer>,
    /** The items' names, in order (code-unit order, as listings sort). */
    readonly names: readonly string[],
    /** Where item i starts; `starts[i + 1] - 1` is where it ends (one more entry than items). */
    private readonly starts: Uint32Array,
  ) {}

  static empty(): ItemsBody {
    return ItemsBody.build([], () => "");
  }

  /** The body of `names` (sorted) with each item's JSON from `jsonOf`. */
  static build(names: readonly string[], jsonOf: (name: string) => string): ItemsBody {
    const jsons = names.map(jsonOf);
    let total = PREFIX.length + SUFFIX.length + Math.max(0, names.length - 1);
    for (const json of jsons) total += Buffer.byteLength(json);
    const bytes = new Uint8Array(total);
    const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const starts = new Uint32Array(names.length + 1);
    let at = view.write(PREFIX, 0, "latin1");
    jsons.forEach((json, i) => {
      if (i > 0) bytes[at++] = COMMA;
      starts[i] = at;
      at += view.write(json, at, "utf8");
    });
    starts[names.length] = at + 1;
    view.write(SUFFIX, at, "latin1");
    return new ItemsBody(bytes, names, starts);
  }

  get length(): number {
    return this.names.length;
  }

  indexOf(name: string): number {
    const at = lowerBound(this.names, name);
    return this.names[at] === name ? at : -1;
  }

  /** The JSON text of the item named `name`, if there is one. */
  jsonOf(name: string): string | undefined {
    const i = this.indexOf(name);
    return i < 0 ? undefined : decoder.decode(this.bytes.subarray(this.starts[i]!, this.starts[i + 1]! - 1));
  }

  /** Every item, parsed. */
  items<T>(): T[] {
    return (JSON.parse(decoder.decode(this.bytes)) as { items: T[] }).items;
  }

  /** A new body with `edits` applied: name -> its JSON (added or replaced), or null (removed). */
  patch(edits: ReadonlyMap<string, string | null>): ItemsBody {
    const segments: Segment[] = [];
    let i = 0;
    for (const name of [...edits.keys()].sort(byName)) {
      const at = lowerBound(this.names, name, i);
      if (at > i) segments.push({ from: i, to: at });
      i = at;
      if (this.names[i] === name) i++; // the old item goes: replaced or removed
      const json = edits.get(name);
      if (json !== null && json !== undefined) segments.push({ name, json });
    }
    if (i < this.names.length) segments.push({ from: i, to: this.names.length });

    let count = 0;
    let total = PREFIX.length + SUFFIX.length;
    for (const s of segments) {
      if ("json" in s) {
        count++;
        total += Buffer.byteLength(s.json);
      } else {
        count += s.to - s.from;
        total += this.starts[s.to]! - 1 - this.starts[s.from]!; // the run, its inner commas included
      }
    }
    total += Math.max(0, segments.length - 1);
    const bytes = new Uint8Array(total);
    const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const names: string[] = new Array(count);
    const starts = new Uint32Array(count + 1);
    let at = view.write(PREFIX, 0, "latin1");
    let n = 0;
    segments.forEach((s, k) => {
      if (k > 0) bytes[at++] = COMMA;
      if ("json" in s) {
        names[n] = s.name;
        starts[n++] = at;
        at += view.write(s.json, at, "utf8");
        return;
      }
      const from = this.starts[s.from]!;
      const to = this.starts[s.to]! - 1;
      bytes.set(this.bytes.subarray(from, to), at);
      for (let j = s.from; j < s.to; j++) {
        names[n] = this.names[j]!;
        starts[n++] = this.starts[j]! - from + at;
      }
      at += to - from;
    });
    starts[count] = at + 1;
    view.write(SUFFIX, at, "latin1");
    return new ItemsBody(bytes, names, starts);
  }
}
