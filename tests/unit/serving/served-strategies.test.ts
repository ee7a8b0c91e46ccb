import { describe, expect, it } from 'vitest';
import { createServedStrategies, strategiesOfVersion } from '../../../src/serving/served-strategies.js';
import type { ModelMeta } from '../../../src/store/model-store.js';

const version = (name: string, sources: string[]): ModelMeta => ({
  version: name,
  recipe: 'r',
  trainedAt: '2026-12-01T00:00:00Z',
  info: { recipe: { sources: Object.fromEntries(sources.map((s) => [s, { params: {} }])) } },
});
const settle = () => new Promise((r) => setImmediate(r));

describe('served strategies', () => {
  it("When the store keeps versions trained by other recipes, Then their sources become known once read, with hybrid and the fallbacks'", async () => {
    const served = createServedStrategies({ listVersions: async () => [version('v1', ['item-knn', 'als']), version('v2', ['user-knn'])] });
    expect([...served.now()].sort()).toEqual(['content', 'context', 'cooccurrence', 'popularity']);
    await settle();
    expect([...served.now()].sort()).toEqual(['als', 'content', 'context', 'cooccurrence', 'hybrid', 'item-knn', 'popularity', 'user-knn']);
  });

  it('When the store does not answer or fails, Then what was learnt stands and nothing waits or throws', async () => {
    const silent = createServedStrategies({ listVersions: () => new Promise<ModelMeta[]>(() => {}) });
    silent.learn(['hybrid', 'ease']);
    expect(silent.now().has('ease')).toBe(true);
    const logged: string[] = [];
    const failing = createServedStrategies({ listVersions: async () => Promise.reject(new Error('Connection is closed')), log: (m) => logged.push(m) });
    failing.learn(['trend']);
    expect(failing.now().has('trend')).toBe(true);
    await settle();
    expect(logged).toEqual(['could not read the kept versions for their strategies']);
    expect(failing.now().has('trend')).toBe(true);
  });

  it('When a version has no recipe in its metadata (older versions, tests), Then it names no strategy', () => {
    expect(strategiesOfVersion({ info: {} })).toEqual([]);
    expect(strategiesOfVersion({ info: { recipe: 'default' } })).toEqual([]);
  });
});
