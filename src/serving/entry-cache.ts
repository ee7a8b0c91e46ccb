/**
 * A byte-bounded cache (CLOCK eviction, close to LRU) of decoded per-user entries of one model version. Entries of a published version
 * never change, so a cached entry (or the fact that a user has none) stays true for as long as the
 * version is served; caching them saves the model-store round trip for returning users. Live events
 * are never cached: they are read on every request.
 */
export class EntryCache<T> {
  private readonly map = new Map<string, { value: T | null; bytes: number; used: boolean }>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** The cached entry, null when the user is known to have none, undefined when not cached. */
  get(key: string): T | null | undefined {
    const hit = this.map.get(key);
    if (!hit) return undefined;
    // Second chance (CLOCK) instead of strict LRU: a hit only sets a flag, eviction skips flagged
    // entries once. Re-inserting on every hit would cost two Map operations per request.
    hit.used = true;
    return hit.value;
  }

  set(key: string, value: T | null, bytes: number): void {
    const size = bytes + key.length * 2 + 64;
    if (size > this.maxBytes) return;
    const old = this.map.get(key);
    if (old) {
      this.bytes -= old.bytes;
      this.map.delete(key);
    }
    this.map.set(key, { value, bytes: size, used: false });
    this.bytes += size;
    while (this.bytes > this.maxBytes) {
      const [k, e] = this.map.entries().next().value!;
      this.map.delete(k);
      if (e.used) {
        e.used = false;
        this.map.set(k, e);
      } else this.bytes -= e.bytes;
    }
  }

  get size(): number {
    return this.map.size;
  }
}
