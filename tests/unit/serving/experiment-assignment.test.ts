import { describe, expect, it } from 'vitest';
import { assignArm, bucketOf } from '../../../src/serving/experiments.js';

const arms = (...shares: number[]) => shares.map((share, i) => ({ name: `arm${i}`, strategy: 'hybrid', share }));

describe('experiment arm assignment', () => {
  it('When a user is hashed, Then the bucket is the first 4 bytes of sha1("experiment:user") / 2^32', () => {
    // printf 'exp-1:alice' | sha1sum -> 484fd4a5...; 0x484fd4a5 = 1213191333; / 4294967296
    expect(bucketOf('exp-1', 'alice')).toBeCloseTo(0.2824681189, 9);
    // 0x02f62174 = 49684852
    expect(bucketOf('exp-1', 'bob')).toBeCloseTo(0.0115681561, 9);
    // 0xaf19ae47 = 2937695815
    expect(bucketOf('exp-1', 'carol')).toBeCloseTo(0.6839856075, 9);
  });

  it('When shares are 0.25 / 0.25 / 0.5, Then buckets fall into the cumulative slices [0,.25) [.25,.5) [.5,1)', () => {
    const three = arms(0.25, 0.25, 0.5);
    expect(assignArm('exp-1', 'bob', three).name).toBe('arm0'); // 0.0116
    expect(assignArm('exp-1', 'alice', three).name).toBe('arm1'); // 0.2825
    expect(assignArm('exp-1', 'carol', three).name).toBe('arm2'); // 0.6840
    // With 0.3 / 0.7 alice (0.2825) moves to the first arm.
    expect(assignArm('exp-1', 'alice', arms(0.3, 0.7)).name).toBe('arm0');
  });

  it('When 10,000 synthetic users are split 50/50, Then each arm gets 50% within 3 points, and each user the same arm every time', () => {
    const two = arms(0.5, 0.5);
    const ids = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);
    const first = ids.map((id) => assignArm('checkout-test', id, two).name);
    const inArm0 = first.filter((a) => a === 'arm0').length;
    expect(inArm0).toBeGreaterThanOrEqual(4700);
    expect(inArm0).toBeLessThanOrEqual(5300);
    expect(ids.map((id) => assignArm('checkout-test', id, two).name)).toEqual(first);
  });

  it('When shares are 10/30/60, Then 10,000 users split within 3 points of them', () => {
    const counts = [0, 0, 0];
    for (let i = 0; i < 10_000; i++) counts[Number(assignArm('ranker', `u${i}`, arms(0.1, 0.3, 0.6)).name.slice(3))]++;
    for (const [i, share] of [0.1, 0.3, 0.6].entries()) expect(Math.abs(counts[i] / 10_000 - share)).toBeLessThanOrEqual(0.03);
  });

  it('When the experiment id changes, Then users are reshuffled (the arms of two experiments are independent)', () => {
    const two = arms(0.5, 0.5);
    let same = 0;
    for (let i = 0; i < 10_000; i++) if (assignArm('exp-a', `u${i}`, two) === assignArm('exp-b', `u${i}`, two)) same++;
    // Independent halves agree for about half the users, not all of them.
    expect(same / 10_000).toBeGreaterThan(0.47);
    expect(same / 10_000).toBeLessThan(0.53);
  });
});
