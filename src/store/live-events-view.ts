/**
 * A process-local copy of users' live events (purchases since training), read through from Redis and
 * dropped when they change: the recommendation of a known user then costs no round trip at all.
 *
 * Changes reach it two ways: this process's own writes invalidate at once (read-your-writes), and every
 * writer publishes the changed user ids, which each process's subscriber passes to invalidate(). While
 * the subscriber is not subscribed, messages can be lost, so the view is disabled (every read goes to
 * Redis) and emptied; it is enabled again only once the subscription is confirmed.
 *
 * A read that was in flight while any invalidation happened is not kept: it may predate the change.
 * A kept read also expires after `ttlMs`, which bounds how stale it can be whatever goes wrong with the
 * messages (a writer that does not publish, such as an older version during a rolling deploy, or a
 * subscriber connection that died silently).
 *
 * Size: bounded by `maxUnits`, one unit per user plus one per event kept (at most ~150 bytes each).
 */
export type LiveEvents = readonly { itemId: string; ts: number }[];

export class LiveEventsView {
  private readonly users = new Map<string, { events: LiveEvents; until: number }>();
  private units = 0;
  private enabled = false;
  /** Bumped by every invalidation; a read keeps its result only if it did not change meanwhile. */
  private generation = 0;

  constructor(
    private readonly maxUnits: number,
    private readonly ttlMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get(userId: string): LiveEvents | undefined {
    if (!this.enabled) return undefined;
    const kept = this.users.get(userId);
    if (kept === undefined) return undefined;
    if (kept.until > this.now()) return kept.events;
    this.drop(userId);
    return undefined;
  }

  /** Call before reading from the store; pass the result to keep(). */
  ticket(): number {
    return this.generation;
  }

  keep(userId: string, events: LiveEvents, ticket: number): void {
    const cost = 1 + events.length;
    if (!this.enabled || ticket !== this.generation || cost > this.maxUnits) return;
    this.drop(userId);
    // Oldest first out: Map iteration follows insertion order.
    while (this.units + cost > this.maxUnits) this.drop(this.users.keys().next().value!);
    this.users.set(userId, { events: Object.freeze(events), until: this.now() + this.ttlMs });
    this.units += cost;
  }

  invalidate(userIds: readonly string[]): void {
    this.generation++;
    for (const id of userIds) this.drop(id);
  }

  /** The subscription is live: start keeping reads, from empty. */
  enable(): void {
    this.invalidateAll();
    this.enabled = true;
  }

  /** The subscription is lost (or not there yet): keep nothing. */
  disable(): void {
    this.enabled = false;
    this.invalidateAll();
  }

  get size(): number {
    return this.users.size;
  }

  private invalidateAll(): void {
    this.generation++;
    this.users.clear();
    this.units = 0;
  }

  private drop(userId: string): void {
    const kept = this.users.get(userId);
    if (kept === undefined) return;
    this.users.delete(userId);
    this.units -= 1 + kept.events.length;
  }
}
