import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PurchaseInput } from '../../../src/data/event-repository.js';
import { createEvaluationService } from '../../../src/evaluation/evaluation-service.js';
import type { JobContext } from '../../../src/jobs/job-runner.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';

const available = await serviceAvailable(POSTGRES_URL);
const DAY = 86_400_000;
const start = Date.UTC(2026, 7, 3, 9);

/**
 * docs/DESIGN.md: "An evaluation's training side is net of the returns before its cutoff only." A validation split
 * without `end` ends at the latest purchase; its test period [latest - days, latest) is its cutoff, so a return made
 * inside the test period must not change the training side (it is a fact the training side could not know).
 */
describe.skipIf(!available)('an evaluation does not see returns made after its cutoff', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ createDb: createPostgresTestDb });
    // 60 customers buying weekly baskets of 4 out of 20 products for six weeks.
    const purchases: PurchaseInput[] = [];
    for (let week = 0; week < 6; week++) {
      for (let user = 0; user < 60; user++) {
        for (let line = 0; line < 4; line++) {
          purchases.push({ userId: `c-${user}`, itemId: `p-${(user + line * 3 + week) % 20}`, quantity: 1, price: 2, orderId: `c-${user}-w${week}`, ts: new Date(start + week * 7 * DAY + user * 60_000) });
        }
      }
    }
    // The planted one: bought in week 1, long before any cutoff below.
    purchases.push({ userId: 'planted', itemId: 'p-1', quantity: 1, price: 2, orderId: 'planted-o1', ts: new Date(start + 7 * DAY) });
    purchases.push({ userId: 'planted', itemId: 'p-2', quantity: 1, price: 2, orderId: 'planted-o1', ts: new Date(start + 7 * DAY) });
    await t.services.events.insertPurchases(purchases);
  }, 120_000);
  afterAll(async () => {
    await t?.dispose();
  });

  const evaluate = async (split: object) => {
    const evaluations = createEvaluationService({ jobs: t.services.jobs, reports: t.services.reports, events: t.services.events, catalog: t.services.catalog, defaultRecipe: 'default' });
    const id = randomUUID();
    const ctx = { job: { id }, signal: new AbortController().signal, progress: async () => {} } as unknown as JobContext;
    await evaluations.handler({ split, recipes: ['default'], modes: ['novel'], ks: [10], strategies: ['popularity'], tune: false }, ctx);
    return (await t.services.reports.get(id))!.report.split;
  };

  it('When p-1 of week 1 is returned in the last week (a validation split without end), Then the training side is as before the return', async () => {
    const validation = { kind: 'validation', days: 7 };
    const temporal = { kind: 'temporal', cutoff: new Date(start + 5 * 7 * DAY - DAY).toISOString() };
    const before = { validation: await evaluate(validation), temporal: await evaluate(temporal) };
    // Returned in week 6: inside the validation split's test period and after the temporal cutoff.
    await t.services.events.insertReturns([{ userId: 'planted', itemId: 'p-1', quantity: 1, orderId: 'planted-o1', ts: new Date(start + 5 * 7 * DAY + 2 * DAY) }]);
    const after = { validation: await evaluate(validation), temporal: await evaluate(temporal) };
    expect(after.temporal.trainEvents).toBe(before.temporal.trainEvents);
    expect(after.validation.cutoff).toBe(before.validation.cutoff);
    expect(after.validation.trainEvents).toBe(before.validation.trainEvents);
  }, 180_000);
});
