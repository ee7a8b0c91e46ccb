import { describe, expect, it } from 'vitest';
import { createRecommendationIds, verifyDistinct } from '../../../src/serving/recommendation-ids.js';
import { signRecommendationToken, userTag, verifyRecommendationToken } from '../../../src/serving/recommendation-token.js';

const KEY = Buffer.alloc(32, 7);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const answer = { strategy: 'hybrid', modelVersion: 'v1', experiment: undefined };
/** ready()'s outcome, or 'waiting' when it has not settled once the timers queued before it have run. */
const settledNow = (p: Promise<boolean>) => Promise.race([p, new Promise<'waiting'>((r) => setTimeout(() => r('waiting'), 20))]);

describe('the ids answers go out under', () => {
  it('When the first read of the key is under way, Then every answer made meanwhile waits for it and is signed', async () => {
    let give: (k: Buffer) => void = () => {};
    let reads = 0;
    const ids = createRecommendationIds({ secret: () => (reads++, new Promise<Buffer>((r) => (give = r))) });
    const waiting = [ids.ready(), ids.ready(), ids.ready()];
    expect(await settledNow(waiting[0])).toBe('waiting');
    give(KEY);
    expect(await Promise.all(waiting)).toEqual([true, true, true]);
    expect(reads).toBe(1);
    expect(ids.verify(ids.issue(answer))).toMatchObject({ strategy: 'hybrid' });
  });

  it('When a read of the key failed, Then the next reads go on in the background: an answer never waits on a database that hangs', async () => {
    let t = 0;
    let give: (k: Buffer) => void = () => {};
    let reads = 0;
    const ids = createRecommendationIds({
      clock: () => t,
      secret: () => (++reads === 1 ? Promise.reject(new Error('connect ECONNREFUSED')) : new Promise<Buffer>((r) => (give = r))),
    });
    expect(await ids.ready()).toBe(false);
    expect(ids.issue(answer)).toMatch(UUID);
    // Within the retry pause: no read at all.
    expect(await ids.ready()).toBe(false);
    expect(reads).toBe(1);
    // After it: a read starts, and this answer does not wait for it (it hangs).
    t += 6_000;
    expect(await settledNow(ids.ready())).toBe(false);
    expect(reads).toBe(2);
    expect(await settledNow(ids.ready())).toBe(false);
    expect(reads).toBe(2);
    // Once it has the key, answers are signed.
    give(KEY);
    await new Promise((r) => setImmediate(r));
    expect(await ids.ready()).toBe(true);
    expect(ids.issue(answer)).not.toMatch(UUID);
  });
});

describe("a feedback batch's recommendationIds", () => {
  const NOW = Date.UTC(2026, 2, 1, 12, 0, 0);
  const DAY = 86_400_000;
  const own = { strategy: 'hybrid', modelVersion: 'v7', experiment: { id: 'home-2', arm: 'treatment' }, userId: 'c1' };

  it('When a batch names one recommendationId a hundred times among others, Then each distinct id is verified once, in the batch order', () => {
    const token = signRecommendationToken(KEY, own, NOW - 1000);
    const other = signRecommendationToken(KEY, { strategy: 'similar', modelVersion: 'v7' }, NOW - 1000);
    const asked: string[] = [];
    const claims = verifyDistinct([...Array<string>(100).fill(token), null, other, undefined, 'not-a-token', token, other, 'not-a-token'], (id) => {
      asked.push(id);
      return verifyRecommendationToken(KEY, id, NOW, Number.POSITIVE_INFINITY);
    });
    expect(asked).toEqual([token, other, 'not-a-token']);
    expect([...claims.keys()]).toEqual([token, other]);
    expect(claims.get(token)).toEqual({ strategy: 'hybrid', modelVersion: 'v7', experiment: own.experiment, issuedAt: NOW - 1000, userTag: userTag(KEY, 'c1') });
  });

  it("When a batch's claims are read, Then each event gets its list's labels (an arm only on its own customer's list, none from a list over 7 days old) and the model version and personal time of any age", async () => {
    const ids = createRecommendationIds({ secret: async () => KEY });
    await ids.ready();
    const fresh = ids.issue(own, { userId: 'c1', now: NOW - DAY });
    const old = ids.issue(own, { userId: 'c1', now: NOW - 8 * DAY });
    const ahead = ids.issue(own, { userId: 'c1', now: NOW + 3_600_000 });
    const item = ids.issue({ strategy: 'similar', modelVersion: 'v8' }, { now: NOW - DAY });
    const batch = ids.claimsOf([...Array<string>(50).fill(fresh), old, ahead, item, 'made-up', null], NOW);
    expect(batch.servedLabels(fresh, 'c1')).toEqual({ strategy: 'hybrid', experiment: own.experiment, own: true });
    expect(batch.servedLabels(fresh, 'c2')).toEqual({ strategy: 'hybrid', own: false });
    expect(batch.servedLabels(item, 'c2')).toEqual({ strategy: 'similar', own: true });
    expect(batch.servedLabels(old, 'c1')).toBeNull();
    expect(batch.servedLabels(ahead, 'c1')).toBeNull();
    expect(batch.servedLabels('made-up', 'c1')).toBeNull();
    expect(batch.servedLabels(null, 'c1')).toBeNull();
    expect(batch.personalSince(fresh, 'c1')).toBe(NOW - DAY);
    expect(batch.personalSince(old, 'c1')).toBe(NOW - 8 * DAY);
    expect(batch.personalSince(fresh, 'c2')).toBeNull();
    expect(batch.personalSince(item, 'c1')).toBeNull();
    expect(batch.personalSince(ahead, 'c1')).toBeNull();
    // A personal list of c1 (however old) named by another visitor's feedback; not a list of no customer.
    expect([fresh, old].map((id) => batch.madeForAnother(id, 'c2'))).toEqual([true, true]);
    expect([fresh, old].map((id) => batch.madeForAnother(id, 'c1'))).toEqual([false, false]);
    expect([item, ahead, 'made-up', null].map((id) => batch.madeForAnother(id, 'c2'))).toEqual([false, false, false, false]);
    expect([fresh, old, item, ahead, 'made-up', undefined].map((id) => batch.modelVersion(id))).toEqual(['v7', 'v7', 'v8', null, null, null]);
    // An id the batch did not name has no claims: the labels come from the batch's verification only.
    expect(batch.modelVersion(ids.issue(own, { userId: 'c1', now: NOW }))).toBeNull();
  });

  it('When the key is not in hand, Then no id of a batch has claims', async () => {
    const ids = createRecommendationIds({ secret: async () => Promise.reject(new Error('database down')) });
    await ids.ready();
    const token = signRecommendationToken(KEY, own, NOW);
    const batch = ids.claimsOf([token], NOW);
    expect([batch.servedLabels(token, 'c1'), batch.personalSince(token, 'c1'), batch.modelVersion(token)]).toEqual([null, null, null]);
    expect(batch.madeForAnother(token, 'c2')).toBe(false);
  });
});
