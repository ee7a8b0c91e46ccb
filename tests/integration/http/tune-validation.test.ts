import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb } from '../../helpers/services.js';

/**
 * `tune` is `true`, `false` or a spec object (a zod union). A spec wrong inside was one issue at `body.tune`
 * naming the field only in its message, and a wrong field together with an unknown key was "body.tune: Invalid
 * input", naming neither. Each problem is now its own issue at its own path, as every other field's is.
 */
describe('a bad tune spec on the training and evaluation routes', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ createDb: createPgliteTestDb });
  });
  afterAll(() => t?.dispose());

  const routes = [
    { url: '/v1/training-jobs', body: (tune: unknown) => ({ tune }) },
    { url: '/v1/evaluations', body: (tune: unknown) => ({ split: { kind: 'temporal', cutoff: '2011-01-01' }, tune }) },
  ];
  const details = async (url: string, payload: object) => {
    const res = await t.app.inject({ method: 'POST', url, headers: auth('admin'), payload });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().error.code).toBe('VALIDATION_FAILED');
    return res.json().error.details as { path: string; message: string }[];
  };

  it('When one field of the spec is wrong, Then the issue\'s path names the field and the message the values it takes', async () => {
    for (const { url, body } of routes) {
      expect(await details(url, body({ foldWeights: 'latest' }))).toEqual([{ path: 'body.tune.foldWeights', message: expect.stringMatching(/"equal"\|"recency"/) }]);
      expect(await details(url, body({ keepRule: 'whole' }))).toEqual([{ path: 'body.tune.keepRule', message: expect.stringMatching(/"sum"\|"per-mode"/) }]);
      expect(await details(url, body({ folds: 9, coverageFloor: 'none' }))).toEqual([
        { path: 'body.tune.folds', message: expect.stringMatching(/6/) },
        { path: 'body.tune.coverageFloor', message: expect.stringMatching(/"accuracy-share"\|"best-single"/) },
      ]);
    }
  });

  it('When a wrong field comes with an unknown key, Then both are named, each at its path', async () => {
    for (const { url, body } of routes) {
      expect(await details(url, body({ keepRule: 'whole', extra: 1 }))).toEqual([
        { path: 'body.tune.keepRule', message: expect.stringMatching(/"sum"\|"per-mode"/) },
        { path: 'body.tune', message: 'Unrecognized key: "extra"' },
      ]);
      // An unknown key alone, as before.
      expect(await details(url, body({ extra: 1 }))).toEqual([{ path: 'body.tune', message: 'Unrecognized key: "extra"' }]);
    }
  });

  it('When tune is neither a boolean nor an object, Then the one issue is at body.tune', async () => {
    for (const { url, body } of routes) {
      const issues = await details(url, body('please'));
      expect(issues).toHaveLength(1);
      expect(issues[0].path).toBe('body.tune');
    }
  });
});
