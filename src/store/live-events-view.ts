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
 */
export type LiveEvents = readonly { itemId: string; ts: number }[];

export class LiveEventsView {
  private readonly users = new Map<string, LiveEvents>();
  private enabled = false;
  /** Bumped by every invalidation; a read keeps its result only if it did not change meanwhile. */
  private generation = 0;

  constructor(private readonly maxUsers: number) {}

  get(userId: string): LiveEvents | undefined {
    return this.enabled ? this.users.get(userId) : undefined;
  }

  /** Call before reading from the store; pass the result to keep(). */
  ticket(): number {
    return this.generation;
  }

  keep(userId: string, events: LiveEvents, ticket: number): void {
    if (!this.enabled || ticket !== this.generation || this.maxUsers === 0) return;
    // Oldest first out: Map iteration follows insertion order.
    if (this.users.size >= this.maxUsers) this.users.delete(this.users.keys().next().value!);
    this.users.set(userId, Object.freeze(events));
  }

  invalidate(userIds: readonly string[]): void {
    this.generation++;
    for (const id of userIds) this.users.delete(id);
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
  }
}
