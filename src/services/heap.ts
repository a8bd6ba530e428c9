// Gives back the memory a burst of work left committed. Setting up thousands of watches and
// reading a large listing grows V8's young generation to its maximum (32 MiB here) and V8 keeps it
// for good: it shrinks only in a full collection that sees a low allocation rate since the one
// before, and an idle server has no collections at all. So after a burst, two full collections
// run: one shortly after (it also starts the quiet period V8 measures), one once the process has
// been quiet for a few seconds, which shrinks the heap back (measured with 20,000 skills: 147 ->
// 107 MiB resident). On a busy server they are just two collections.
// Where no collector can be called (a runtime without V8's flags), this does nothing.
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/** The first collection, shortly after the burst (ms). */
const FIRST_MS = 1000;
/** V8 measures the allocation rate over the last 5 s: the second comes after that (ms). */
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

/** After a burst of work: the two collections described above. A later burst starts over. */
export function settleHeapLater(): void {
  clearTimeout(timer);
  timer = setTimeout(() => {
    collector()?.();
    timer = setTimeout(() => collector()?.(), QUIET_MS);
    timer.unref?.();
  }, FIRST_MS);
  timer.unref?.();
}
