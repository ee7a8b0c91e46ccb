import { describe, expect, it } from 'vitest';
import { EntryCache } from '../../../src/serving/entry-cache.js';

// Each entry's accounted size is bytes + 2 x key length + 64, so a one-letter key with 0 bytes takes 66.
describe('entry cache', () => {
  it('When full, Then the oldest entry not read since it was added is evicted first', () => {
    const cache = new EntryCache<string>(66 * 3);
    cache.set('a', 'A', 0);
    cache.set('b', 'B', 0);
    cache.set('c', 'C', 0);
    expect(cache.get('a')).toBe('A'); // a gets a second chance
    cache.set('d', 'D', 0);
    expect(cache.get('b')).toBeUndefined();
    expect([cache.get('a'), cache.get('c'), cache.get('d')]).toEqual(['A', 'C', 'D']);
  });

  it('When a user has no entry, Then that is remembered as null, distinct from not cached', () => {
    const cache = new EntryCache<string>(1000);
    cache.set('ghost', null, 0);
    expect(cache.get('ghost')).toBeNull();
    expect(cache.get('other')).toBeUndefined();
  });

  it('When an entry is larger than the whole cache, Then it is not kept', () => {
    const cache = new EntryCache<string>(100);
    cache.set('big', 'x', 1000);
    expect(cache.get('big')).toBeUndefined();
    expect(cache.size).toBe(0);
  });
});
