import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { ONE_DB_BACKEND } from '../../helpers/services.js';

// tune.blendJudgedOn (evaluation/out-of-fold.ts) in a request's tune object: a wrong value is a 400 naming the
// field, as for keepRule and foldWeights, and no job is queued.
for (const backend of ONE_DB_BACKEND) {
  describe.skipIf(!(await backend.available()))(`tune.blendJudgedOn in requests on ${backend.name}`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp({ createDb: backend.create });
    });
    afterAll(() => t.dispose());

    it('When a training or an evaluation asks for blendJudgedOn held-out, Then 400 names blendJudgedOn and its values, and no job is queued', async () => {
      const before = (await t.services.jobs.list({ limit: 1000 })).length;
      const training = await t.app.inject({ method: 'POST', url: '/v1/training-jobs', headers: auth('admin'), payload: { tune: { blendJudgedOn: 'held-out' } } });
      expect(training.statusCode).toBe(400);
      expect(training.json().error.code).toBe('VALIDATION_FAILED');
      expect(JSON.stringify(training.json().error)).toContain('blendJudgedOn');
      const evaluation = await t.app.inject({ method: 'POST', url: '/v1/evaluations', headers: auth('admin'), payload: { split: { kind: 'temporal', cutoff: '2011-01-01' }, tune: { blendJudgedOn: 'held-out' } } });
      expect(evaluation.statusCode).toBe(400);
      expect(evaluation.json().error.details).toEqual([{ path: 'body.tune.blendJudgedOn', message: expect.stringMatching(/"in-fold"\|"out-of-fold"/) }]);
      expect((await t.services.jobs.list({ limit: 1000 })).length).toBe(before);
    });
  });
}
