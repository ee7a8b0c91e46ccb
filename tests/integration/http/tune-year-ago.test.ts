import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { ONE_DB_BACKEND } from '../../helpers/services.js';

// tune.yearAgo (evaluation/rolling-tune.ts yearAgoFolds) and tune.yearAgoFloor in a request's tune object: a value that is not a boolean is a
// 400 naming the field, as for blendJudgedOn, and no job is queued; true is queued with the option as asked.
for (const backend of ONE_DB_BACKEND) {
  describe.skipIf(!(await backend.available()))(`tune.yearAgo in requests on ${backend.name}`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp({ createDb: backend.create });
    });
    afterAll(() => t.dispose());

    it('When a training or an evaluation asks for yearAgo "yes", Then 400 names yearAgo, and no job is queued', async () => {
      const before = (await t.services.jobs.list({ limit: 1000 })).length;
      const training = await t.app.inject({ method: 'POST', url: '/v1/training-jobs', headers: auth('admin'), payload: { tune: { yearAgo: 'yes' } } });
      expect(training.statusCode).toBe(400);
      expect(training.json().error.code).toBe('VALIDATION_FAILED');
      expect(JSON.stringify(training.json().error)).toContain('yearAgo');
      const evaluation = await t.app.inject({ method: 'POST', url: '/v1/evaluations', headers: auth('admin'), payload: { split: { kind: 'temporal', cutoff: '2011-01-01' }, tune: { yearAgo: 'yes' } } });
      expect(evaluation.statusCode).toBe(400);
      expect(JSON.stringify(evaluation.json().error)).toContain('yearAgo');
      expect((await t.services.jobs.list({ limit: 1000 })).length).toBe(before);
    });

    it('When a training asks for yearAgo (and yearAgoFloor) true, Then the job is queued with the options as asked', async () => {
      const training = await t.app.inject({ method: 'POST', url: '/v1/training-jobs', headers: auth('admin'), payload: { tune: { yearAgo: true, yearAgoFloor: true } } });
      expect(training.statusCode).toBe(202);
      const job = (await t.services.jobs.list({ limit: 1000 })).find((j) => j.id === training.json().jobId);
      expect(JSON.stringify(job?.params)).toContain('"yearAgo":true');
      expect(JSON.stringify(job?.params)).toContain('"yearAgoFloor":true');
    });

    // tune.yearAgoFloor (sixtieth session): the same checks as yearAgo's.
    it('When a training or an evaluation asks for yearAgoFloor "yes", Then 400 names yearAgoFloor, and no job is queued', async () => {
      const before = (await t.services.jobs.list({ limit: 1000 })).length;
      const training = await t.app.inject({ method: 'POST', url: '/v1/training-jobs', headers: auth('admin'), payload: { tune: { yearAgo: true, yearAgoFloor: 'yes' } } });
      expect(training.statusCode).toBe(400);
      expect(training.json().error.code).toBe('VALIDATION_FAILED');
      expect(JSON.stringify(training.json().error)).toContain('yearAgoFloor');
      const evaluation = await t.app.inject({ method: 'POST', url: '/v1/evaluations', headers: auth('admin'), payload: { split: { kind: 'temporal', cutoff: '2011-01-01' }, tune: { yearAgo: true, yearAgoFloor: 1 } } });
      expect(evaluation.statusCode).toBe(400);
      expect(evaluation.json().error.code).toBe('VALIDATION_FAILED');
      expect(JSON.stringify(evaluation.json().error)).toContain('yearAgoFloor');
      expect((await t.services.jobs.list({ limit: 1000 })).length).toBe(before);
    });
  });
}
