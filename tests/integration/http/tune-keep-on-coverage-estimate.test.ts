import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { ONE_DB_BACKEND } from '../../helpers/services.js';

// tune.keepOn (evaluation/keep-on.ts) and tune.coverageEstimate (evaluation/coverage-estimate.ts) in a request's tune
// object: a wrong value is a 400 naming the field and its values, in the documented error shape, and no job is queued.
for (const backend of ONE_DB_BACKEND) {
  describe.skipIf(!(await backend.available()))(`tune.keepOn and tune.coverageEstimate in requests on ${backend.name}`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp({ createDb: backend.create });
    });
    afterAll(() => t.dispose());

    const cases = [
      { field: 'keepOn', bad: 'leftout', values: /"sample"\|"left-out"/ },
      { field: 'coverageEstimate', bad: 'chao2', values: /"sample"\|"extrapolated"\|"every-customer"/ },
      // The value's spelling as a person might guess it (reviewer r5): refused, naming every-customer among the values.
      { field: 'coverageEstimate', bad: 'every_customer', values: /"sample"\|"extrapolated"\|"every-customer"/ },
      // tune.coverageMargin (fifty-sixth session, reviewer r5): a share from 0 to 0.5, a number; anything else is the caller's 400, not a 500.
      { field: 'coverageMargin', bad: 0.6, values: /0\.5/ },
      { field: 'coverageMargin', bad: -0.01, values: /0/ },
      { field: 'coverageMargin', bad: '0.07', values: /number/ },
      { field: 'coverageMargin', bad: null, values: /number/ },
    ] as { field: string; bad: unknown; values: RegExp }[];
    for (const { field, bad, values } of cases) {
      it(`When a training or an evaluation asks for ${field} ${JSON.stringify(bad)}, Then 400 names body.tune.${field} and its values, and no job is queued`, async () => {
        const before = (await t.services.jobs.list({ limit: 1000 })).length;
        const training = await t.app.inject({ method: 'POST', url: '/v1/training-jobs', headers: auth('admin'), payload: { tune: { [field]: bad } } });
        expect(training.statusCode).toBe(400);
        expect(training.json().error.code).toBe('VALIDATION_FAILED');
        expect(training.json().error.details).toEqual([{ path: `body.tune.${field}`, message: expect.stringMatching(values) }]);
        const evaluation = await t.app.inject({ method: 'POST', url: '/v1/evaluations', headers: auth('admin'), payload: { split: { kind: 'temporal', cutoff: '2011-01-01' }, tune: { [field]: bad } } });
        expect(evaluation.statusCode).toBe(400);
        expect(evaluation.json().error.code).toBe('VALIDATION_FAILED');
        expect(evaluation.json().error.details).toEqual([{ path: `body.tune.${field}`, message: expect.stringMatching(values) }]);
        expect((await t.services.jobs.list({ limit: 1000 })).length).toBe(before);
      });
    }
  });
}
