import { describe, expect, it } from 'vitest';
import { queryTimeout } from '../../../src/data/query-timeout.js';
import { createErasureFollower } from '../../../src/privacy/erasure-follower.js';

describe('the erasure follower outside requests', () => {
  it('When it reads erasures (at start, or from a request hook outside any handler), Then its statements carry the configured limit, so a Postgres that never answers cannot stop the following for good', async () => {
    const limits: (number | undefined)[] = [];
    const forgotten: string[] = [];
    const follower = createErasureFollower({
      erasures: {
        markBefore: async () => (limits.push(queryTimeout()), 0),
        erasuresAfter: async () => (limits.push(queryTimeout()), [{ userId: 'u1', seq: 1 }]),
      },
      forget: async (id) => void forgotten.push(id),
      refreshMs: 1000,
      limitMs: 1234,
    });
    await follower.poll();
    expect(limits).toEqual([1234, 1234]);
    expect(forgotten).toEqual(['u1']);
  });
});
