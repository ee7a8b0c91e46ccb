/**
 * `work`'s outcome, or `late()`'s (its value, or its throw) when `work` has not settled within `ms`: a
 * probe or a scrape must not wait on a store that hangs. `work`'s later outcome is ignored (handled).
 */
export async function within<T>(work: Promise<T>, ms: number, late: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<T>((resolve, reject) => {
    timer = setTimeout(() => {
      try {
        resolve(late());
      } catch (err) {
        reject(err);
      }
    }, ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
