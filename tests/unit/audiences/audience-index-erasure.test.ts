import { describe, expect, it } from 'vitest';
import { buildCustomerPostings, rankAudience, withoutUser } from '../../../src/audiences/audience-index.js';
import { audienceOfComputed } from '../../../src/audiences/computed-audience.js';
import { buildServingModel } from '../../../src/serving/serving-model-builder.js';
import { twoGroups } from '../recommenders/two-groups.fixture.js';
import { fitSources } from '../serving/fit-sources.js';

/**
 * An erasure takes a customer out of an audience index the process keeps (audience-service.ts forgetUser):
 * before, the index kept their decoded entry and id for the process's life, only skipped when ranking
 * through a set of every id erased, which grew without bound.
 */
const { ds } = twoGroups();
const build = buildServingModel({ ds, fitted: fitSources(ds), precomputeDays: null });
const fresh = () => audienceOfComputed({ artifacts: [...build.artifacts], tables: [...build.tables].map(([n, rows]) => [n, [...rows]]) });

describe('a customer taken out of an audience index', () => {
  it('When a member is taken out, Then no audience of any product (either tier, buyers kept or not) holds them, and the index keeps neither their id nor their lists', () => {
    const { model, index } = fresh();
    const everyItem = model.items.ids.map((_, i) => i);
    const ranked = (excludeBuyersSince: number | null) => everyItem.flatMap((t) => rankAudience(index, { targets: [t], k: 24, gamma: 0, excludeBuyersSince }).map((m) => m.user));
    const u = ranked(null)[0];
    const userId = index.userIds[u];
    const held = (users: Int32Array) => users.filter((v) => v === u).length;
    expect(held(index.candidates.users)).toBeGreaterThan(0);
    expect(held(index.buyers.users)).toBeGreaterThan(0);
    const { indptr } = index.customers.recent;
    expect(indptr[u + 1]).toBeGreaterThan(indptr[u]);
    withoutUser(index, u);
    expect(ranked(null)).not.toContain(u);
    expect(ranked(-Infinity)).not.toContain(u);
    expect(index.userIds).not.toContain(userId);
    // No posting names them any more, and their own columns are zeroed.
    expect(held(index.candidates.users)).toBe(0);
    expect(held(index.buyers.users)).toBe(0);
    expect(index.customers.orders[u]).toBe(0);
    expect([...index.customers.recent.items.subarray(indptr[u], indptr[u + 1])].every((i) => i === 0)).toBe(true);
    expect([...index.customers.recent.ts.subarray(indptr[u], indptr[u + 1])].every((t) => t === 0)).toBe(true);
  });

  it('When a customer is taken out, Then the other customers\' audiences are as before, less them', () => {
    const a = fresh();
    const b = fresh();
    const target = a.model.items.index.get('g0')!;
    const before = rankAudience(a.index, { targets: [target], k: 24, gamma: 0, excludeBuyersSince: null }).map((m) => a.index.userIds[m.user]);
    const gone = before[1];
    withoutUser(b.index, b.index.userIds.indexOf(gone));
    const after = rankAudience(b.index, { targets: [target], k: 24, gamma: 0, excludeBuyersSince: null }).map((m) => b.index.userIds[m.user]);
    expect(after).toEqual(before.filter((id) => id !== gone));
  });

  it('When customers are erased one after another, Then each erasure once the customers\' places are built reads only that customer\'s postings, not every posting of the index', () => {
    const { model, index } = fresh();
    const members = [...new Set(model.items.ids.flatMap((_, t) => rankAudience(index, { targets: [t], k: 24, gamma: 0, excludeBuyersSince: null }).map((m) => m.user)))];
    expect(members.length).toBeGreaterThan(2);
    // The places are built in stretches (the service runs one per turn of the event loop); a customer taken out
    // between two stretches (by a scan, as before) is out all the same.
    const build = buildCustomerPostings(index, index.userIds.length, 8);
    build.next();
    withoutUser(index, members[0]);
    let stretches = 1;
    for (let step = build.next(); ; step = build.next(), stretches++) {
      if (step.done) {
        index.own = step.value;
        break;
      }
    }
    expect(stretches).toBeGreaterThan(2);
    // The postings' reads counted from here (each index read of the two arrays of customer numbers).
    let reads = 0;
    const counted = (users: Int32Array) =>
      new Proxy(users, {
        get(target, key) {
          if (typeof key === 'string' && /^\d+$/.test(key)) reads++;
          const v = Reflect.get(target, key, target);
          return typeof v === 'function' ? v.bind(target) : v;
        },
        set(target, key, value) {
          return Reflect.set(target, key, value, target);
        },
      });
    const u = members[1];
    const own = [...index.candidates.users].filter((v) => v === u).length + [...index.buyers.users].filter((v) => v === u).length;
    expect(own).toBeGreaterThan(0);
    const total = index.candidates.users.length + index.buyers.users.length;
    expect(total).toBeGreaterThan(4 * own);
    index.candidates.users = counted(index.candidates.users);
    index.buyers.users = counted(index.buyers.users);
    withoutUser(index, u);
    expect(reads).toBeLessThanOrEqual(own);
    expect([...index.candidates.users].includes(u) || [...index.buyers.users].includes(u)).toBe(false);
  });
});
