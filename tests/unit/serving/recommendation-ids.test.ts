import { describe, expect, it } from 'vitest';
import { createRecommendationIds } from '../../../src/serving/recommendation-ids.js';

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
