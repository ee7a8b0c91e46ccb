import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../../src/errors.js';
import { createEvaluationService } from '../../../src/evaluation/evaluation-service.js';
import type { EvaluationRequestInput } from '../../../src/evaluation/evaluation-request.js';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';
import { CUTOFF, twoShopsAroundCutoff } from './evaluation-fixture.js';

/**
 * Two recipe files compared in one evaluation whose `name` fields are the same (a recipe file copied from
 * another and edited, its "name" left as it was — the README says a recipe may give itself a name other
 * than its file's). Each recipe asked for must be reported, or the request refused: the run must not
 * silently report one recipe's numbers for both. Likewise a recipe named like a single strategy the report
 * also holds (the popularity baseline, a source of the first recipe).
 */
describe.skipIf(!(await serviceAvailable(POSTGRES_URL)))('evaluating two recipes that give themselves the same name', () => {
  let t: TestApp;
  let dir: string;
  let service: ReturnType<typeof createEvaluationService>;
  const split = { kind: 'temporal' as const, cutoff: CUTOFF };

  beforeAll(async () => {
    t = await createTestApp({ createDb: createPostgresTestDb });
    const purchases = twoShopsAroundCutoff();
    const res = await t.app.inject({ method: 'POST', url: '/v1/events', headers: auth('write'), payload: { events: purchases } });
    expect(res.json()).toMatchObject({ inserted: purchases.length });
    dir = await mkdtemp(join(tmpdir(), 'recipes-'));
    const raw = JSON.parse(await readFile('models/default.json', 'utf8'));
    await writeFile(join(dir, 'base.json'), JSON.stringify({ ...raw, name: 'base', tune: undefined }));
    // The copy weighs popularity alone: a different recipe with the copied name.
    const popularityOnly = { cold: { popularity: 1 }, warm: { popularity: 1 } };
    await writeFile(join(dir, 'candidate.json'), JSON.stringify({ ...raw, name: 'base', tune: undefined, hybrid: { ...raw.hybrid, weights: popularityOnly, repeatWeights: undefined, sourceCap: undefined } }));
    await writeFile(join(dir, 'pop.json'), JSON.stringify({ ...raw, name: 'popularity', tune: undefined }));
    await writeFile(join(dir, 'als.json'), JSON.stringify({ ...raw, name: undefined, tune: undefined }));
    service = createEvaluationService({ ...t.services, defaultRecipe: 'base', recipesDir: dir, isolation: 'inline' });
  });
  afterAll(() => t.dispose());

  async function refusal(input: EvaluationRequestInput): Promise<AppError> {
    const err = await service.submit(input).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }

  it('When recipes ["base", "candidate"] both say name "base", Then the request is refused (422) naming both, before a job is queued', async () => {
    const err = await refusal({ recipes: ['base', 'candidate'], strategies: [], split, ks: [5] });
    expect(err).toMatchObject({ status: 422, code: 'UNPROCESSABLE' });
    expect(err.message).toMatch(/recipes "base" and "candidate" all give themselves the name "base": the report would show one row for them/);
    expect(err.details).toEqual([{ path: 'recipes', message: err.message }]);
    expect(await t.services.jobs.list({ type: 'evaluate' })).toEqual([]);
  });

  it('When a recipe names itself like the popularity baseline or like a source the report holds, Then it is refused naming it', async () => {
    const pop = await refusal({ recipes: ['base', 'pop'], strategies: [], split, ks: [5] });
    expect(pop).toMatchObject({ status: 422, code: 'UNPROCESSABLE' });
    expect(pop.message).toMatch(/recipe "pop" \(named "popularity"\) is named like the popularity baseline/);
    // als.json has no name of its own: it is "als", as is the first recipe's source asked for (all of them by default).
    const als = await refusal({ recipes: ['base', 'als'], split, ks: [5] });
    expect(als).toMatchObject({ status: 422, code: 'UNPROCESSABLE' });
    expect(als.message).toMatch(/recipe "als" is named like the source "als" of recipe "base" the report also holds.*leave the source out of strategies/);
    // First in the list, its own source "als" would be reported beside its hybrid.
    expect((await refusal({ recipes: ['als'], split, ks: [5] })).message).toMatch(/recipe "als" is named like the source "als" of recipe "als"/);
    expect(await t.services.jobs.list({ type: 'evaluate' })).toEqual([]);
  });

  it('When the source of that name is left out of the report, Then the recipe named like it runs and is reported under its name', async () => {
    const params = await service.prepare({ recipes: ['base', 'als'], strategies: ['item-knn'], split, ks: [5] });
    const job = await t.services.jobs.enqueue('evaluate', params as unknown as Record<string, unknown>);
    await service.handler(params as unknown as Record<string, unknown>, { job, signal: new AbortController().signal, progress: async () => {}, note: async () => {} });
    const report = (await t.services.reports.get(job.id))!.report;
    expect(report.rows.filter((r) => r.mode === 'novel' && r.k === 5).map((r) => r.strategy).sort()).toEqual(['als', 'base', 'item-knn', 'popularity']);
  });
});
