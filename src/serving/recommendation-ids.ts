import { randomUUID } from 'node:crypto';
import type { ServedLabels } from '../data/event-repository.js';
import type { Recommendation } from './recommendation.js';
import { signRecommendationToken, userTag, verifyRecommendationToken, type TokenClaims } from './recommendation-token.js';

/**
 * How far back a browser's (frontend key's) feedback may be dated, and how old a recommendationId it names may
 * be. Feedback of a closed day makes the online report count that day again: a browser's key dating a batch
 * across a year would have every later report recount the year. A server's key (write) may send any time, as
 * imports do.
 */
export const BROWSER_FEEDBACK_DAYS_BACK = 7;

/** After a failed read of the key, answers go out unsigned for this long before the next read is tried. */
const RETRY_MS = 5000;

/**
 * The recommendationIds of this process: signed tokens (recommendation-token.ts) under the key every replica
 * reads from the database (`secret`, read once, on first use, and kept in memory). While the key cannot be
 * read (the database down since this process started), answers go out under a random UUID, as they did before
 * tokens: feedback on them keeps no A/B label from a browser, and the answer is not held up.
 */
export function createRecommendationIds(deps: { secret: () => Promise<Buffer>; log?: (msg: string, err?: unknown) => void; clock?: () => number }) {
  const clock = deps.clock ?? (() => performance.now());
  let key: Buffer | undefined;
  let loading: Promise<boolean> | undefined;
  let failedAt = Number.NEGATIVE_INFINITY;
  let failedOnce = false;
  const load = (): Promise<boolean> =>
    (loading ??= deps
      .secret()
      .then((k) => {
        key = k;
        return true;
      })
      .catch((err: unknown) => {
        // The error only: never the key.
        deps.log?.('could not read the key recommendationIds are signed with', err);
        failedAt = clock();
        failedOnce = true;
        loading = undefined;
        return false;
      }));
  /** The labels of a recommendationId this service issued at most BROWSER_FEEDBACK_DAYS_BACK days before `now`; else null. */
  const verify = (id: string | null | undefined, now = Date.now()): TokenClaims | null => {
    if (!key || !id) return null;
    return verifyRecommendationToken(key, id, now, BROWSER_FEEDBACK_DAYS_BACK * 86_400_000);
  };
  return {
    /**
     * Reads the key unless in hand (or tried in the last seconds); true when it is in hand. Never throws.
     * Only the process's first read is waited for (by every answer made meanwhile: an export's first
     * customers are all signed); once a read failed, the next ones go on in the background, so no answer
     * waits on a database that hangs.
     */
    async ready(): Promise<boolean> {
      if (key) return true;
      if (!loading && clock() - failedAt < RETRY_MS) return false;
      const read = load();
      return failedOnce ? false : read;
    },
    /** The key is in hand: issue() signs. */
    signing: (): boolean => key !== undefined,
    /**
     * A new id for this answer: a signed token of its labels (and of `userId`, the customer a personal list
     * is for), or a random UUID while the key is not in hand.
     */
    issue(r: Pick<Recommendation, 'strategy' | 'modelVersion' | 'experiment'>, opts: { userId?: string; now?: number } = {}): string {
      if (!key) return randomUUID();
      return signRecommendationToken(key, { strategy: r.strategy, modelVersion: r.modelVersion, experiment: r.experiment, userId: opts.userId }, opts.now ?? Date.now());
    },
    /**
     * The claims of the lists a feedback batch names (`ids`: each event's recommendationId), each distinct id
     * verified once (an HMAC, ~3 µs), before the insert's transaction: a browser's batch of 100 events names a
     * page's few lists, and each event reads its list's claims three times (its labels, its personal list's
     * time, its model version). None without the key.
     */
    claimsOf(ids: Iterable<string | null | undefined>, now = Date.now()): BatchClaims {
      const k = key;
      if (!k) return NO_CLAIMS;
      return batchClaims(k, verifyDistinct(ids, (id) => verifyRecommendationToken(k, id, now, Number.POSITIVE_INFINITY)), now);
    },
    verify,
  };
}

export type RecommendationIds = ReturnType<typeof createRecommendationIds>;

/** What feedback on the lists of one batch may carry, read from their verified recommendationIds (claimsOf). */
export interface BatchClaims {
  /**
   * The labels feedback from customer `userId` on the list `id` names may carry: the token's strategy, and
   * its experiment and arm only when the list was made for that customer (a personal list's token names
   * its customer): one customer's list cannot be replayed as many customers' clicks in an arm. `own` says
   * the list was made for that customer or for none. Null when the id does not verify or is older than
   * BROWSER_FEEDBACK_DAYS_BACK days.
   */
  servedLabels(id: string | null | undefined, userId: string): ServedLabels | null;
  /**
   * When the list `id` names was made for customer `userId` (ms), however long ago: a personal list this
   * service signed for them. Feedback on a list made before their erasure is the erased customer's, even a
   * page left open for longer than the labels are kept. Null for any other id.
   */
  personalSince(id: string | null | undefined, userId: string): number | null;
  /**
   * The model version of the list `id` names, however long ago it was issued, when the service signed it
   * and it carried one (a version too long to carry in the token does not); else null. Not a label a
   * client can choose: the online report's per-version rates read it.
   */
  modelVersion(id: string | null | undefined): string | null;
  /**
   * The list `id` names is a personal list the service signed for a customer other than `userId` (however
   * long ago): feedback of another visitor on it is stored without the id, which would tie the row to that
   * customer (the token carries their tag) after they are erased.
   */
  madeForAnother(id: string | null | undefined, userId: string): boolean;
}

const NO_CLAIMS: BatchClaims = { servedLabels: () => null, personalSince: () => null, modelVersion: () => null, madeForAnother: () => false };

/**
 * The claims of each distinct id of `ids` that `verify` accepts, each verified once (an HMAC each), in the
 * order the ids first come; empty and missing ids are not verified.
 */
export function verifyDistinct(ids: Iterable<string | null | undefined>, verify: (id: string) => TokenClaims | null): Map<string, TokenClaims> {
  const seen = new Set<string>();
  const claims = new Map<string, TokenClaims>();
  for (const id of ids) {
    if (!id || seen.has(id)) continue;
    seen.add(id);
    const c = verify(id);
    if (c) claims.set(id, c);
  }
  return claims;
}

/**
 * BatchClaims from the claims of a batch's ids (verified with no age limit: the labels' BROWSER_FEEDBACK_DAYS_BACK
 * is checked here, on the time they carry), under `key`, at `now`. A customer's tag is computed once per batch.
 */
function batchClaims(key: Buffer, claims: ReadonlyMap<string, TokenClaims>, now: number): BatchClaims {
  const oldest = now - BROWSER_FEEDBACK_DAYS_BACK * 86_400_000;
  const tags = new Map<string, string>();
  const tagOf = (userId: string): string => {
    let tag = tags.get(userId);
    if (tag === undefined) tags.set(userId, (tag = userTag(key, userId)));
    return tag;
  };
  const of = (id: string | null | undefined) => (id ? claims.get(id) : undefined);
  return {
    servedLabels(id, userId) {
      const c = of(id);
      if (!c || c.issuedAt < oldest) return null;
      const own = c.userTag === undefined || c.userTag === tagOf(userId);
      return { strategy: c.strategy, ...(c.experiment && own ? { experiment: c.experiment } : {}), own };
    },
    personalSince(id, userId) {
      const c = of(id);
      return c?.userTag !== undefined && c.userTag === tagOf(userId) ? c.issuedAt : null;
    },
    modelVersion: (id) => of(id)?.modelVersion ?? null,
    madeForAnother(id, userId) {
      const c = of(id);
      return c?.userTag !== undefined && c.userTag !== tagOf(userId);
    },
  };
}
