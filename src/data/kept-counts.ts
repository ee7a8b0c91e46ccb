/** Counts read once and kept in the process, with the time they were read. */
export interface Kept<T> {
  value: T;
  /** When the count that gave `value` began (epoch ms): every write committed before then is in it. */
  countedAt: number;
}

/**
 * Keeps the last result of `read` (counts over whole tables: seconds at ten times our data) and answers with
 * it while it is younger than `maxAgeMs`. An older one starts a new read, shared by every caller meanwhile (one
 * read in flight per process), and is answered with itself once `waitMs` pass from that read's start without it
 * finishing (every caller meanwhile shares that deadline):
 * on a small store the answer is the fresh count, on a large one it is the last count, its `countedAt` saying
 * how old, and the next call gets the new one. Only the first call (nothing kept yet), and every call with
 * `maxAgeMs` 0, waits for its read whatever it takes (calls at once share it). A kept value dated after now (the
 * clock set back) is read again. A read that fails leaves the kept value (older, as `countedAt` says) and is logged; the
 * next call reads again. So a served value is never older than `maxAgeMs` plus one read plus the time since the
 * last call (idle for an hour, the first call may answer the hour-old value, saying so).
 */
export function keepCounts<T>(read: () => Promise<T>, opts: { maxAgeMs: number; waitMs: number; now?: () => number; log?: (msg: string, err: unknown) => void }) {
  const now = opts.now ?? Date.now;
  let kept: Kept<T> | null = null;
  let reading: Promise<Kept<T>> | null = null;
  /** What a call answers while `reading` runs: its result, or the last counts once `waitMs` passed since it began. */
  let answer: Promise<Kept<T>> | null = null;

  const refresh = (): Promise<Kept<T>> =>
    (reading ??= (async () => {
      const countedAt = now();
      const value = await read();
      return (kept = { value, countedAt });
    })().finally(() => (reading = answer = null)));

  return {
    async get(): Promise<Kept<T>> {
      // With no age allowed, every call counts again and waits for its count, as before counts were kept.
      if (kept === null || opts.maxAgeMs === 0) return refresh();
      // A kept count dated after now (the wall clock set back since: NTP, a restored VM) is of unknown age: counted again.
      const age = now() - kept.countedAt;
      if (age >= 0 && age < opts.maxAgeMs) return kept;
      if (answer) return answer;
      const last = kept;
      const fresh = refresh();
      let timer: NodeJS.Timeout | undefined;
      const waited = new Promise<Kept<T>>((resolve) => (timer = setTimeout(() => resolve(last), opts.waitMs)));
      const failed = (err: unknown) => (opts.log?.('counting the overview again failed: the last counts are served', err), last);
      const answered = Promise.race([fresh.catch(failed), waited]).finally(() => clearTimeout(timer));
      // Callers while the count runs share its deadline: none waits longer than `waitMs` from its start.
      if (reading) answer = answered;
      return answered;
    },
    /** The read under way, if any (tests: wait for a background count to land). */
    settled: (): Promise<unknown> => reading?.catch(() => {}) ?? Promise.resolve(),
  };
}
