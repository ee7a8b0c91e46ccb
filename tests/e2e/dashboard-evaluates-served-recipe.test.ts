import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestApp, finishedJob, KEYS, type TestApp } from '../helpers/app.js';
import { browserAvailable, launchChromium } from '../helpers/browser.js';
import { createPgliteTestDb, createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../helpers/services.js';
import { CUTOFF, twoShopsAroundCutoff } from '../integration/evaluation/evaluation-fixture.js';

/**
 * README, Dashboard: the overview starts "a temporal-split evaluation" of the served model's recipe. A recipe
 * is a file, models/NAME.json, and may give itself another `name` (README: evaluation rows and the
 * evaluation gauges go by "the name the recipe gives itself ... whatever its file is called"); a file copied
 * from default.json and edited keeps `"name": "default"`. The served model records the recipe's own name,
 * and the overview's evaluation form sends that name back as the recipe FILE to load
 * (src/http/static/dashboard/views/overview.js: `recipes: m ? [m.recipe] : undefined`), so it evaluates
 * models/default.json, not the file the served model was trained from, and says nothing.
 */
describe.skipIf(!browserAvailable())('the overview evaluates the recipe the served model was trained from', () => {
  let t: TestApp;
  let browser: Browser;
  let page: Page;
  let base: string;
  const file = `audit-copy-${randomBytes(4).toString('hex')}`;
  const recipePath = path.join('models', `${file}.json`);

  beforeAll(async () => {
    const usePostgres = await serviceAvailable(POSTGRES_URL);
    t = await createTestApp({ createDb: usePostgres ? createPostgresTestDb : createPgliteTestDb });
    const purchases = twoShopsAroundCutoff();
    const res = await t.app.inject({ method: 'POST', url: '/v1/events', headers: auth('write'), payload: { events: purchases } });
    expect(res.statusCode, res.body).toBe(200);
    // The shop's own recipe: a copy of default.json with other weights, its "name" left as it was.
    const raw = JSON.parse(await readFile('models/default.json', 'utf8'));
    const popularityOnly = { cold: { popularity: 1 }, warm: { popularity: 1 } };
    await writeFile(recipePath, JSON.stringify({ ...raw, tune: undefined, hybrid: { ...raw.hybrid, weights: popularityOnly, repeatWeights: undefined, sourceCap: undefined } }));
    const queued = await t.app.inject({ method: 'POST', url: '/v1/training-jobs', headers: auth('admin'), payload: { recipe: file, tune: false } });
    expect(queued.statusCode, queued.body).toBe(202);
    const trained = await finishedJob(t, `/v1/training-jobs/${queued.json().jobId}`, 120_000);
    expect(trained.status, JSON.stringify(trained.error)).toBe('succeeded');
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    browser = await launchChromium();
    page = await browser.newPage();
  }, 180_000);

  afterAll(async () => {
    await rm(recipePath, { force: true });
    await browser?.close();
    await t?.dispose();
  });

  it(`When the served model was trained from models/<file>.json (a copy of default.json keeping "name": "default") and an evaluation is started from the overview, Then the evaluation is of that file`, async () => {
    await page.goto(`${base}/dashboard`);
    await page.fill('#key', KEYS.admin);
    await page.click('#use-key');
    await page.waitForSelector('body[data-ready="overview"]', { timeout: 60_000 });
    await page.fill('#eval-cutoff', CUTOFF.slice(0, 10));
    await page.fill('#eval-ks', '2');
    await page.selectOption('#eval-tune', 'false');
    await page.click('#start-evaluation');
    await page.waitForSelector('[data-testid="evaluation-status"]:text("succeeded")', { timeout: 120_000 });
    const list = await t.app.inject({ url: '/v1/evaluations', headers: auth('admin') });
    const report = list.json().reports[0];
    // Observed: ["default"] (models/default.json, another recipe), with nothing on the page saying so.
    expect(report.recipes).toEqual([file]);
  }, 180_000);
});
