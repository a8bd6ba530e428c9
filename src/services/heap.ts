// Gives back the memory a burst of work left committed. Setting up thousands of watches and
// reading a large listing grows V8's young generation to its maximum (32 MiB here) and V8 keeps it
// for good: it shrinks only in a full collection that follows a quiet spell, and an idle server
// has no collections at all. So a few seconds after the burst one full collection runs; on a
// server that is quiet by then it shrinks the heap back (measured with 20,000 skills: 143 -> 102
// MiB resident), on a busy one it is just a collection.
// Where no collector can be called (a runtime without V8's flags), this does nothing.
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/** V8 measures the allocation rate over the last 5 s; the collection must come after that. */
const QUIET_MS = 6000;

let collect: (() => void) | null | undefined;
let timer: NodeJS.Timeout | undefined;

function collector(): (() => void) | null {
  if (collect !== undefined) return collect;
  try {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (typeof exposed === "function") collect = exposed;
    else {
      setFlagsFromString("--expose-gc");
      collect = runInNewContext("gc") as () => void;
    }
  } catch {
    collect = null;
  }
  return collect;
}

/** After a burst of work: one full collection once the process has been quiet for a while. */
export function settleHeapLater(): void {
  clearTimeout(timer);
  timer = setTimeout(() => collector()?.(), QUIET_MS);
  timer.unref?.();
}
