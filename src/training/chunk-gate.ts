/**
 * A bound on the chunks of per-user rows that the serving build has handed on and the store has not yet written.
 * Without it a store slower than the build (a remote Redis, one under load) would let the chunks pile up in memory,
 * and at 16 x Online Retail the rows are ~1 GB. The count lives in shared memory, so the build's threads (which take a
 * slot before they hand a chunk on, and wait while none is free) and the writer (which gives it back once the chunk is
 * written or dropped) see the same count.
 */
export interface ChunkGate {
  /** [0]: chunks handed on and not yet given back; OPEN once the writer has stopped. */
  readonly count: Int32Array;
  readonly limit: number;
}

/**
 * Chunks in flight by default. A chunk of 2,000 customers is ~24 MB (~12 KB of rows per customer with the default
 * recipe on the Online Retail sample), so the wait bounds them at ~100 MB, plus the one each producing thread holds;
 * with a local Redis the writer keeps up (the one 16 x Online Retail training that logged it never held over 70 MiB).
 */
export const CHUNKS_IN_FLIGHT = 4;

/** A count far below any limit: nobody waits once the writer has stopped taking chunks. */
const OPEN = -(2 ** 30);
/** How long a wait lasts before the count is read again (a missed wake-up costs at most this). */
const RECHECK_MS = 1000;

type WaitAsync = (a: Int32Array, index: number, value: number, timeout?: number) => { async: boolean; value: Promise<unknown> | string };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

export function chunkGate(limit = CHUNKS_IN_FLIGHT): ChunkGate {
  if (!(limit >= 1)) throw new RangeError(`a chunk gate needs a limit of at least 1, not ${limit}`);
  return { count: new Int32Array(new SharedArrayBuffer(4)), limit };
}

/** Takes a slot if one is free; otherwise returns the count seen, to wait on. */
function tryTake(gate: ChunkGate): number | true {
  for (;;) {
    const n = Atomics.load(gate.count, 0);
    if (n >= gate.limit) return n;
    if (Atomics.compareExchange(gate.count, 0, n, n + 1) === n) return true;
  }
}

/**
 * Takes a slot, waiting without blocking the event loop (for a thread that also passes other threads' chunks on). An
 * asynchronous wait alone does not keep a thread's event loop alive, so a timer does meanwhile.
 */
export async function takeSlot(gate: ChunkGate): Promise<void> {
  for (let seen = tryTake(gate); seen !== true; seen = tryTake(gate)) {
    const wait = waitAsync(gate.count, 0, seen, RECHECK_MS); // its own timeout drops the waiter when the timer wins
    if (!wait.async) continue;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([wait.value, new Promise((resolve) => (timer = setTimeout(resolve, RECHECK_MS)))]);
    clearTimeout(timer);
  }
}

/** Takes a slot, blocking the thread until one is free (for a worker thread that does nothing else meanwhile). */
export function takeSlotSync(gate: ChunkGate): void {
  for (let seen = tryTake(gate); seen !== true; seen = tryTake(gate)) Atomics.wait(gate.count, 0, seen, RECHECK_MS);
}

/** Gives a slot back: its chunk was written or dropped. */
export function giveSlot(gate: ChunkGate): void {
  Atomics.sub(gate.count, 0, 1);
  Atomics.notify(gate.count, 0);
}

/** The writer takes no more chunks (the training failed): nobody waits for a slot from now on. */
export function openGate(gate: ChunkGate): void {
  Atomics.store(gate.count, 0, OPEN);
  Atomics.notify(gate.count, 0);
}

/** Chunks handed on and not yet given back (negative once the gate is open). */
export const chunksInFlight = (gate: ChunkGate) => Atomics.load(gate.count, 0);
