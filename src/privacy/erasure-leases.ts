import { withQueryTimeout } from '../data/query-timeout.js';

/**
 * The leases this process holds on erasures owed (erasure_requests.next_at), renewed while it works on them: a
 * heartbeat. An erasure asked of this process (a DELETE) or taken by its re-driver is left to it for a short lease
 * (ERASURE_LEASE_MS, one minute by default); every quarter of it, one statement moves the lease of every erasure it
 * still holds (queued or in its turn) ahead again. A process that dies (or stops: a paused VM, SIGSTOP) renews nothing,
 * so another process's re-driver takes its erasures once the lease runs out, instead of the ten minutes a lease that
 * had to outlast the longest erasure (62-81 s at 420,000 customers) with the turns queued before it once took. A
 * process that works longer than the lease keeps its erasures: no two drive one. A renewal Postgres does not answer
 * is given up at `limitMs` and tried at the next beat; missing three in a row lets another process take the erasure,
 * which is safe (an erasure is idempotent, and erasures run one at a time across processes), only wasteful.
 */
export interface ErasureLeases {
  /** Holds the customer's erasure from now (after it is recorded or taken): renewed until the function it returns is called (once counts). */
  hold(userId: string): () => void;
  /** Resolves once no renewal is in flight: a failure's back-off written after it is not moved by it. */
  settled(): Promise<void>;
  /** How many erasures are held (an id held twice counts once). */
  readonly size: number;
}

export function createErasureLeases(deps: {
  /** Moves the erasures' lease `leaseMs` ahead (erasure-repository renewErasures); rows locked or gone are left. */
  renew: (userIds: string[], leaseMs: number) => Promise<unknown>;
  leaseMs: number;
  /**
   * Limit on the renewal's statement (PG_QUERY_TIMEOUT_MS), at most a quarter of the lease (the default): a renewal
   * outlives its use by the next beat, and while one is in flight no other is made, so one that Postgres never
   * answers (PG_QUERY_TIMEOUT_MS=0) would let the lease run out under the process.
   */
  limitMs?: number;
  log?: (msg: string, err?: unknown) => void;
}): ErasureLeases {
  const everyMs = Math.max(1, Math.floor(deps.leaseMs / 4));
  const limitMs = Math.min(deps.limitMs ?? everyMs, everyMs);
  /** The erasures held, with how many holds each (the same id asked twice, the second waiting for the next turn). */
  const held = new Map<string, number>();
  let timer: NodeJS.Timeout | null = null;
  let beat: Promise<void> | null = null;

  const renewNow = () => {
    if (beat || held.size === 0) return;
    const ids = [...held.keys()].sort();
    beat = withQueryTimeout(limitMs, () => deps.renew(ids, deps.leaseMs))
      .then(
        () => {},
        (err: unknown) => deps.log?.('erasure: could not renew the lease of the erasures this process drives; the next beat tries again', err),
      )
      .finally(() => (beat = null));
  };

  const release = (userId: string) => {
    const n = (held.get(userId) ?? 0) - 1;
    if (n > 0) held.set(userId, n);
    else held.delete(userId);
    if (held.size === 0 && timer) {
      clearInterval(timer);
      timer = null;
    }
  };

  return {
    hold(userId) {
      held.set(userId, (held.get(userId) ?? 0) + 1);
      if (!timer) {
        timer = setInterval(renewNow, everyMs);
        // Nothing to renew once the process is leaving: it keeps no process alive.
        timer.unref();
      }
      let released = false;
      return () => {
        if (released) return;
        released = true;
        release(userId);
      };
    },
    async settled() {
      await beat;
    },
    get size() {
      return held.size;
    },
  };
}
