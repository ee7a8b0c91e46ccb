import { describe, expect, it } from 'vitest';
import { plainJsonSerializer } from '../../../src/http/routes/plain-json.js';
import { recommendationResponse } from '../../../src/http/schemas/recommendations.js';

const serialize = plainJsonSerializer({ schema: recommendationResponse, method: 'GET', url: '/x', httpStatus: '200' } as never) as (d: unknown) => string;
const items = [
  { itemId: '85123A', score: 0.5, sources: ['item-knn', 'als'], explanation: 'because you bought "JUMBO" \\ BAG\nRED', title: 'CRÈME ✓ mug' },
  { itemId: '22423', score: 0.25, sources: ['popularity'] },
];
const answer = (recommendationId: string, list: unknown[]) => ({ recommendationId, modelVersion: null, strategy: 'hybrid', fallback: false, items: list });

describe('list response serializer', () => {
  it('Given a reused (frozen) items list, When two responses share it, Then each is exactly what JSON.stringify writes', () => {
    const shared = Object.freeze([...items]);
    for (const id of ['r-1', 'r-"2"']) expect(serialize(answer(id, shared as unknown[]))).toBe(JSON.stringify(answer(id, shared as unknown[])));
  });

  it('Given a fresh items list or another shape, When serialized, Then it is plain JSON.stringify', () => {
    expect(serialize(answer('r-3', items))).toBe(JSON.stringify(answer('r-3', items)));
    const extra = { ...answer('r-4', Object.freeze([...items]) as unknown[]), note: 'x' };
    expect(JSON.parse(serialize(extra))).toEqual(JSON.parse(JSON.stringify(extra)));
  });

  it('Given a reused list tagged with an experiment, When serialized, Then it is exactly JSON.stringify, tag included', () => {
    const shared = Object.freeze([...items]) as unknown[];
    const tagged = { ...answer('r-5', shared), experiment: { id: 'home "v2"', arm: 'treatment' } };
    expect(serialize(tagged)).toBe(JSON.stringify(tagged));
    expect(JSON.parse(serialize(tagged)).experiment).toEqual({ id: 'home "v2"', arm: 'treatment' });
  });
});
