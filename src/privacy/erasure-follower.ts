import type { ErasureRepository, OwedMark, OwedRead } from '../data/erasure-repository.js';
import { withQueryTimeout } from '../data/query-timeout.js';
import type { OwedErasures } from './owed-erasures.js';

/**
 * How old the last read of the erasures owed may be for the next to read only what changed since it: past this, every
 * id owed is read again. Well within the day the ids settled are kept (migration 037), which such a read needs.
 */
export const OWED_FULL_READ_MS = 3_600_000;

export interface ErasureFollower {
  /** Starts a read of new erasures in the background when the last one is older than `refreshMs`. */
  check(): void;
  /** Reads new erasures now and forgets them (a read already running is awaited instead). */
  poll(): Promise<void>;
  /** Reads new erasures with a read that starts now (after a read already running): what is committed now is followed. */
  catchUp(): Promise<void>;
  /**
   * Reads as `poll` does, and rejects with the cause when that read did not put the erasures owed in place (Postgres
   * did not answer, a statement past its limit): what must not run without them (`npm run export`, which selects the
   * customers from them) refuses instead of going on with the list of its last read, or with none.
   */
  owedRead(): Promise<void>;
  /**
   * `catchUp`'s read (one that starts now), rejecting as `owedRead` does when it did not put the erasures owed in place:
   * an export job (POST /v1/exports) waits through an outage for it, or fails, instead of going on with the list of the
   * last read (or none: a server started while Postgres was down) and writing customers whose erasure was asked since.
   */
  owedCaughtUp(): Promise<void>;
}

/**
 * Keeps what this process holds of customers (cached entries, answers, profiles, the on-request
 * scorer's index) in step with erasures made by any process. The process that erases forgets at once
 * and tells the others through the model store (Redis pub/sub), but a message is lost while a
 * subscriber reconnects, and a Redis user without pub/sub rights gets none: so each process also reads
 * `erased_users` past the highest number it has seen, at most every `refreshMs`, while it serves.
 * Forgetting is idempotent, so a customer forgotten twice (message and read) costs nothing. Each read
 * also checks that the model store still holds every erasure's scrub (catchUpStore).
 * Erasures committed before the process started are not followed: what it holds, it read after them.
 */
const isList = (read: readonly string[] | OwedRead): read is readonly string[] => Array.isArray(read);

export function createErasureFollower(deps: {
  erasures: Pick<ErasureRepository, 'markBefore' | 'erasuresAfter'>;
  forget: (userId: string) => Promise<void>;
  refreshMs: number;
  /**
   * After each read, with the highest erasure number: does again what the model store lost of erasures
   * (user-erasure.ts catchUp), so a store brought back from before some is scrubbed of them again, by the
   * process that starts on it and, within `refreshMs`, by those running. A failure is logged, not thrown.
   */
  catchUpStore?: (through: number) => Promise<unknown>;
  /**
   * Limit on each statement of a read (PG_QUERY_TIMEOUT_MS): reads start outside any request, and one
   * that never gets an answer would stop the following for good. Unset = none.
   */
  limitMs?: number;
  /**
   * The erasures owed (erasure_requests), which serving answers as erased (owed-erasures.ts), read with each read of
   * erased_users: a process learns of one asked through another within `refreshMs`. `read` is the read of their ids
   * (erasure_requests); `list` is this process's list, replaced by it. Read first: an erasure that completes between
   * the two reads is still owed at the first or erased at the second, never neither. Put in place last, once the
   * customers read from erased_users are forgotten: in place first, an id completed elsewhere left the list while this
   * process still held what it had cached of the customer (entries, answers), and was answered from those until the
   * erased_users read came back and forgot them (a process that missed the store's message of the erasure).
   * `read(since)` reads what changed since the mark of this process's last read that was put in place (erasure-repository
   * owedSince), or every id owed (`since` null: the first read, or the last is older than OWED_FULL_READ_MS); a plain
   * list is every id owed.
   */
  owed?: { list: Pick<OwedErasures, 'refresh'>; read: (since: OwedMark | null) => Promise<readonly string[] | OwedRead> };
  log?: (msg: string, err?: unknown) => void;
}): ErasureFollower {
  // What the process holds it read after the erasures made before it started; those after are followed,
  // however late the first read succeeds.
  // A minute early: erased_at is the database's clock, and forgetting someone twice costs nothing.
  const startedAt = new Date(Date.now() - 60_000);
  let mark: number | undefined;
  let readAt = Number.NEGATIVE_INFINITY;
  let pending: Promise<void> | null = null;
  /** The mark of the last read of the erasures owed that was put in place, and when it began. */
  let owedMark: { mark: OwedMark; at: number } | null = null;
  /** Why the last read did not put the erasures owed in place (null: it did). */
  let owedFailure: unknown = null;

  /** Reads erasures past the mark and forgets them; the mark reached. */
  async function followErased(): Promise<number> {
    mark ??= await deps.erasures.markBefore(startedAt);
    for (const { userId, seq } of await deps.erasures.erasuresAfter(mark)) {
      await deps.forget(userId);
      mark = seq;
    }
    return mark;
  }

  async function read(): Promise<void> {
    let erased: Promise<number> | undefined;
    const readErased = () => (erased ??= followErased());
    const owed = deps.owed;
    // The owed ids first; the list replaced once erased_users is read and its customers forgotten. A failure of the
    // owed read keeps what was known (logged), and erased_users is read all the same; one of the erased_users read
    // keeps it too, and fails the read as before.
    if (owed) {
      const at = performance.now();
      const since = owedMark && at - owedMark.at < OWED_FULL_READ_MS ? owedMark.mark : null;
      let mark: OwedMark | null = null;
      await owed.list
        .refresh(async () => {
          const got = await owed.read(since);
          await readErased();
          if (isList(got)) return got;
          mark = got.mark;
          return 'all' in got ? got.all : { owed: got.owed, settled: got.settled };
        })
        // Put in place: the next read reads what changed since this one. One not put in place leaves the mark as it
        // was, so what it read is read again; so does one that a change made here meanwhile went against (an id this
        // process settled, found asked again by the read: off the list until a read finds it owed with nothing here
        // against it, which a read from this read's mark never would).
        .then((agreed) => {
          owedFailure = null;
          if (agreed) owedMark = mark && { mark, at };
        })
        .catch((err: unknown) => {
          owedFailure = err;
          if (!erased) deps.log?.('could not read the erasures owed', err);
        });
    }
    const through = await readErased();
    // What was read is forgotten whatever the store does.
    await deps.catchUpStore?.(through).catch((err: unknown) => deps.log?.('could not scrub the model store again of the erasures it lost', err));
  }

  function poll(): Promise<void> {
    pending ??= (deps.limitMs ? withQueryTimeout(deps.limitMs, read) : read())
      // Postgres down: the next request's check tries again (the erasing process forgot at once anyway).
      .catch((err: unknown) => deps.log?.('could not read the erased customers', err))
      .finally(() => {
        readAt = performance.now();
        pending = null;
      });
    return pending;
  }

  return {
    check() {
      if (performance.now() - readAt >= deps.refreshMs) void poll();
    },
    poll,
    async catchUp() {
      await pending;
      await poll();
    },
    async owedRead() {
      await poll();
      if (owedFailure !== null) throw owedFailure;
    },
    async owedCaughtUp() {
      await pending;
      await poll();
      if (owedFailure !== null) throw owedFailure;
    },
  };
}
