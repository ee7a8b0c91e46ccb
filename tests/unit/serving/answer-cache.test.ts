import { describe, expect, it } from 'vitest';
import { AnswerCache, answerKey } from '../../../src/serving/answer-cache.js';
import type { Recommendation } from '../../../src/serving/recommendation.js';

const answer = (n: number): Recommendation => ({
  recommendationId: `r-${n}`,
  modelVersion: 'v1',
  strategy: 'hybrid',
  fallback: false,
  items: [{ itemId: `i-${n}`, score: 1, sources: ['als'] }],
});

describe('answerKey', () => {
  it('Given queries that differ in any field, When keyed, Then no two share a key; equal queries do', () => {
    const base = { k: 10 };
    const keys = [
      answerKey('hybrid', true, base),
      answerKey('als', true, base),
      answerKey('hybrid', false, base),
      answerKey('hybrid', true, { k: 5 }),
      answerKey('hybrid', true, { k: 10, diversity: 0.5 }),
      answerKey('hybrid', true, { k: 10, category: 'mugs' }),
      answerKey('hybrid', true, { k: 10, minPrice: 1 }),
      answerKey('hybrid', true, { k: 10, maxPrice: 1 }),
      answerKey('hybrid', true, { k: 10, category: 'mugs', maxPrice: 1 }),
    ];
    expect(new Set(keys).size).toBe(keys.length);
    expect(answerKey('hybrid', true, { k: 10, diversity: 0 })).toBe(answerKey('hybrid', true, base));
  });

  it('Given a query with an exclude list, When keyed, Then it has no key (such answers are not kept)', () => {
    expect(answerKey('hybrid', true, { k: 10, exclude: ['a'] })).toBeUndefined();
  });
});

describe('AnswerCache', () => {
  it('Given a stored answer, When read twice, Then the same frozen items come back under new recommendationIds', () => {
    const cache = new AnswerCache();
    cache.set('u1', 'q', answer(1));
    const a = cache.get('u1', 'q')!;
    const b = cache.get('u1', 'q')!;
    expect(a.items).toBe(b.items);
    expect(Object.isFrozen(a.items)).toBe(true);
    expect(a.recommendationId).not.toBe(b.recommendationId);
    expect(cache.get('u1', 'other')).toBeUndefined();
    expect(cache.get('u2', 'q')).toBeUndefined();
  });

  it('Given answers, When the user is forgotten or the cache cleared, Then they are gone', () => {
    const cache = new AnswerCache();
    cache.set('u1', 'q', answer(1));
    cache.set('u2', 'q', answer(2));
    cache.forget('u1');
    expect(cache.get('u1', 'q')).toBeUndefined();
    expect(cache.get('u2', 'q')).toBeDefined();
    cache.clear();
    expect(cache.get('u2', 'q')).toBeUndefined();
  });

  it('Given more query variants than kept per user, When stored, Then the oldest goes first', () => {
    const cache = new AnswerCache();
    for (let n = 0; n < 9; n++) cache.set('u1', `q${n}`, answer(n));
    expect(cache.get('u1', 'q0')).toBeUndefined();
    expect(cache.get('u1', 'q8')?.items[0].itemId).toBe('i-8');
  });

  it('Given a zero bound, When stored, Then nothing is kept', () => {
    const cache = new AnswerCache(0);
    cache.set('u1', 'q', answer(1));
    expect(cache.get('u1', 'q')).toBeUndefined();
  });
});
