import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runImport } from '../../src/data/importers/run-import.js';
import { auth, createTestApp, KEYS, type TestApp } from '../helpers/app.js';
import { browserAvailable, launchChromium } from '../helpers/browser.js';
import { leanRecipeDir } from '../helpers/lean-recipe.js';
import { writeSampleSlice } from '../helpers/sample-slice.js';
import { createPgliteTestDb, createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../helpers/services.js';

/** Screenshots of each view, for a person to look at (gitignored). */
const SHOTS = path.resolve('test-output/dashboard');

/**
 * The recipe the overview's form trains: the default less ALS, EASE and the repurchase regression, which are
 * not what this file tests (their fits are most of a training's and an evaluation's CPU); a version without
 * ALS is also what the item view must show without asking for ALS neighbours.
 */
const RECIPE = 'dashboard-lean';
const DROPPED = ['als', 'ease', 'repurchase'];

/**
 * The dashboard as the data team uses it, in a real headless chromium against the real app on the
 * bundled sample's purchases from July 2011 on (below): key typed into the form, overview numbers, a training started and watched to the
 * end, an evaluation, a customer's recommendations, an item, segments and online metrics.
 */
describe.skipIf(!browserAvailable())('the dashboard in a browser', () => {
  let t: TestApp;
  let browser: Browser;
  let page: Page;
  let base: string;
  let recipesDir: string;
  let sliceDir: string;
  const problems: string[] = [];
  /** Every answer of 400 or more the page got, with its request. */
  const refused: string[] = [];

  const get = async (url: string) => {
    const res = await t.app.inject({ url, headers: auth('admin') });
    expect(res.statusCode, `${url}: ${res.body}`).toBe(200);
    return res.json();
  };
  const ready = (view: string) => page.waitForSelector(`body[data-ready="${view}"]`, { timeout: 60_000 });
  const open = async (hash: string, view: string) => {
    await page.evaluate((h) => (location.hash = h), hash);
    await ready(view);
  };
  const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    const usePostgres = await serviceAvailable(POSTGRES_URL);
    recipesDir = await leanRecipeDir(RECIPE, DROPPED);
    t = await createTestApp({ createDb: usePostgres ? createPostgresTestDb : createPgliteTestDb, recipesDir });
    // The sample's purchases from 2011-07-01 on (22,000 of its 37,700 kept rows, tests/helpers/sample-slice.ts): what the
    // views show is checked against the API's answers, whatever the data, and the evaluation's cutoff (2011-11-01) still
    // has 95 of the whole sample's 113 customers who bought something new after it (a quarter of the customers left 29,
    // too few for the lift's interval). The file's CPU with its Postgres backends: 13.3 s against 17.1 s (bench/README,
    // fifty-sixth session, helper s5).
    sliceDir = mkdtempSync(path.join(tmpdir(), 'dashboard-slice-'));
    const sample = writeSampleSlice(path.join(sliceDir, 'online-retail-sample-slice.csv.gz'), { every: 1, from: '2011-07-01' });
    await runImport({ db: t.services.db }, { format: 'online-retail', path: sample });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    // Any console error, uncaught exception or failed request (a CSP refusal shows as one of these) fails the suite.
    page.on('console', (m) => void (m.type() === 'error' && problems.push(`console: ${m.text()}`)));
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
    page.on('response', (r) => void (r.status() >= 400 && refused.push(`${r.status()} ${r.request().method()} ${r.url()}`)));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await t?.dispose();
    if (recipesDir) rmSync(recipesDir, { recursive: true, force: true });
    if (sliceDir) rmSync(sliceDir, { recursive: true, force: true });
  });

  it('When the admin key is typed into the form, Then the overview shows the counts the API gives, and the key stays out of the URL', async () => {
    await page.goto(`${base}/dashboard`);
    await page.fill('#key', KEYS.admin);
    await page.click('#use-key');
    await ready('overview');
    const overview = await get('/v1/overview');
    const shown = async (id: string) => Number((await page.textContent(`[data-testid="${id}"]`))!.replace(/,/g, ''));
    expect(overview.counts.purchases).toBeGreaterThan(1000);
    for (const [id, value] of Object.entries({ items: overview.counts.items, customers: overview.counts.customers, purchases: overview.counts.purchases, orders: overview.counts.orders })) {
      expect(await shown(`count-${id}`), id).toBe(value);
    }
    expect(page.url()).not.toContain(KEYS.admin);
    expect(await page.evaluate(() => Object.values(sessionStorage))).toContain(KEYS.admin);
    expect(await page.inputValue('#key')).toBe('');
  });

  // Both are started with the recipe's weights as written: tuning is the API's and the training's own
  // tests' subject, and here it would only make the browser wait.
  it('When a training is started from the overview, Then its progress shows until it succeeds and the new version is served', async () => {
    await page.fill('#train-recipe', RECIPE);
    await page.selectOption('#train-tune', 'false');
    await page.click('#start-training');
    await page.waitForSelector('[data-testid="training-status"]:text("succeeded")', { timeout: 180_000 });
    const { jobs } = await get('/v1/training-jobs');
    const version = jobs[0].result.version;
    expect(jobs[0]).toMatchObject({ status: 'succeeded', params: { recipe: RECIPE, tune: false } });
    expect(jobs[0].result.tuning).toBeUndefined();
    // The view refreshes itself after a training: the served version is the new one.
    await page.waitForSelector(`[data-testid="model-version"]:text("${version}")`, { timeout: 30_000 });
    expect((await get('/v1/models')).active).toBe(version);
    await ready('overview');
    expect(await page.textContent('#jobs')).toContain(`${RECIPE} (weights as written)`);
    await shot('overview');
  }, 240_000);

  it('When an evaluation is started and opened, Then the evaluation view charts its report', async () => {
    await page.fill('#eval-cutoff', '2011-11-01');
    await page.fill('#eval-baseline', 'item-knn');
    await page.selectOption('#eval-tune', 'false');
    await page.click('#start-evaluation');
    await page.waitForSelector('[data-testid="evaluation-status"]:text("succeeded")', { timeout: 180_000 });
    expect((await get('/v1/evaluations')).reports[0].request).toMatchObject({ recipes: [RECIPE], baseline: 'item-knn', tune: false });
    await open('#evaluation', 'evaluation');
    // The history line, then per report: bars, precision/recall lines, two breakdowns.
    expect(await page.locator('canvas').count()).toBeGreaterThanOrEqual(5);
    // Each strategy's NDCG lift over the baseline asked for (item-kNN) with its paired 95% interval; the baseline's own is 0, without one.
    const run = page.locator('[data-part="run"] table');
    expect(await run.locator('th').allTextContents()).toEqual(expect.arrayContaining(['NDCG lift over item-knn', '95% CI']));
    expect((await run.locator('tr:has(td:text-is("item-knn")) td').allTextContents()).slice(-2)).toEqual(['+0.0%', '-']);
    expect((await run.locator(`tr:has(td:text-is("${RECIPE}")) td`).allTextContents()).at(-1)).toMatch(/^[+-]\d+\.\d% \.\. [+-]\d+\.\d%$/);
    await shot('evaluation');
  }, 240_000);

  it("When a customer is found and opened, Then their recommendations per strategy are the API's", async () => {
    await open('#customer', 'customer');
    await page.click('[data-testid="customer-link"] >> nth=0');
    await ready('customer');
    await page.waitForSelector('[data-testid="customer-id"]');
    const id = (await page.textContent('[data-testid="customer-id"]'))!;
    const { model } = await get('/v1/overview');
    expect(model.strategies.length).toBeGreaterThan(1);
    for (const strategy of model.strategies) {
      const api = await get(`/v1/users/${encodeURIComponent(id)}/recommendations?k=10&strategy=${strategy}`);
      const shown = await page.locator(`[data-strategy="${strategy}"] li[data-item]`).evaluateAll((els) => els.map((e) => e.getAttribute('data-item')));
      expect(shown, strategy).toEqual(api.items.map((i: { itemId: string }) => i.itemId));
    }
    expect(await page.locator('[data-strategy="hybrid"] li').count()).toBe(10);
    const profile = await get(`/v1/users/${encodeURIComponent(id)}/profile`);
    expect(await page.textContent('[data-testid="profile-segment"]')).toBe(profile.segment);
    await shot('customer');

    await page.click('[data-strategy="hybrid"] li a >> nth=0');
    await ready('item');
    await shot('item');
  });

  // The item view asked for item-kNN, content, ALS and co-occurrence neighbours whatever the version held:
  // a version without one answered 400, the console showed it and its panel showed the refusal as an error.
  it('When an item is opened on a version without ALS, Then only the kinds it has are asked for, each as the API lists it, and ALS is shown as not in this model', async () => {
    const id = (await page.textContent('[data-testid="item-id"]'))!;
    const enc = encodeURIComponent(id);
    // The version has no ALS neighbours to give: the API refuses them, so the page must not ask.
    const als = await t.app.inject({ url: `/v1/items/${enc}/similar?k=10&strategy=als`, headers: auth('admin') });
    expect(als.statusCode, als.body).toBe(400);
    expect(refused).toEqual([]);
    expect(await page.locator('#view .error').count()).toBe(0);
    expect(await page.textContent('[data-kind="als"]')).toContain('not in this model');
    for (const kind of ['item-knn', 'content', 'cooccurrence']) {
      const listed = await get(`/v1/items/${enc}/similar?k=10&strategy=${kind}`);
      const shown = await page.locator(`[data-kind="${kind}"] li[data-item]`).evaluateAll((els) => els.map((e) => e.getAttribute('data-item')));
      expect(shown.length, kind).toBeGreaterThan(0);
      expect(shown, kind).toEqual(listed.items.map((i: { itemId: string }) => i.itemId));
    }
  });

  it('When the customers and online views are opened, Then they render their charts', async () => {
    const { customers } = await get('/v1/users?sort=spend&limit=3');
    const rec = await get(`/v1/users/${customers[0].id}/recommendations?k=3`);
    // An earlier experiment, stopped, some of whose feedback the retention sweep deleted (noted as the sweep does).
    const trimmed = { id: 'trimmed-1', arms: [{ name: 'control', strategy: 'hybrid', share: 0.5 }, { name: 'pop', strategy: 'popularity', share: 0.5 }] };
    expect((await t.app.inject({ method: 'POST', url: '/v1/experiments', headers: auth('admin'), payload: trimmed })).statusCode).toBe(201);
    expect((await t.app.inject({ method: 'POST', url: `/v1/experiments/${trimmed.id}/stop`, headers: auth('admin') })).statusCode).toBe(200);
    await t.services.db.query('INSERT INTO experiment_feedback_trimmed (experiment_id) VALUES ($1)', [trimmed.id]);
    // Two stopped two months ago, before any window of the view: one with a late click on a list it served.
    for (const id of ['stopped-quiet', 'stopped-late']) {
      expect((await t.app.inject({ method: 'POST', url: '/v1/experiments', headers: auth('admin'), payload: { ...trimmed, id } })).statusCode).toBe(201);
      expect((await t.app.inject({ method: 'POST', url: `/v1/experiments/${id}/stop`, headers: auth('admin') })).statusCode).toBe(200);
      await t.services.db.query("UPDATE experiments SET created_at = now() - interval '70 days', stopped_at = now() - interval '60 days' WHERE id = $1", [id]);
    }
    const late = { userId: customers[1].id, itemId: rec.items[0].itemId, type: 'click', strategy: 'hybrid', experimentId: 'stopped-late', arm: 'control', ts: new Date().toISOString() };
    expect((await t.app.inject({ method: 'POST', url: '/v1/feedback', headers: auth('write'), payload: { events: [late] } })).statusCode).toBe(200);
    const experiment = {
      id: 'knn-vs-hybrid',
      arms: [
        { name: 'control', strategy: 'hybrid', share: 0.4 },
        { name: 'knn', strategy: 'item-knn', share: 0.3 },
        { name: 'pop', strategy: 'popularity', share: 0.3 },
      ],
    };
    expect((await t.app.inject({ method: 'POST', url: '/v1/experiments', headers: auth('admin'), payload: experiment })).statusCode).toBe(201);
    // Started 40 days ago: longer ago than the view's 30-day window.
    const started = new Date(Date.now() - 40 * 86_400_000);
    await t.services.db.query('UPDATE experiments SET created_at = $1 WHERE id = $2', [started.toISOString(), experiment.id]);
    const ts = new Date().toISOString();
    // Three customers per arm (the same three in both, as a storefront's test never has), each shown the
    // three items; per customer the control clicks 0, 1, 0 of them, the knn arm 1, 2, 2, the pop arm 0, 0, 1.
    const clicks: Record<string, number[]> = { control: [0, 1, 0], knn: [1, 2, 2], pop: [0, 0, 1] };
    const feedback = customers.flatMap(({ id: userId }: { id: string }, c: number) =>
      rec.items.flatMap((i: { itemId: string }, n: number) =>
        experiment.arms.flatMap((arm) => [
          { userId, itemId: i.itemId, type: 'impression', strategy: arm.strategy, recommendationId: `${rec.recommendationId}-${arm.name}`, experimentId: experiment.id, arm: arm.name, ts },
          ...(n < clicks[arm.name][c]
            ? [{ userId, itemId: i.itemId, type: 'click', strategy: arm.strategy, recommendationId: `${rec.recommendationId}-${arm.name}`, experimentId: experiment.id, arm: arm.name, ts }]
            : []),
        ]),
      ),
    );
    // And one impression dated before the experiment started (a storefront's clock behind): the view reads from it.
    const backdated = { userId: customers[0].id, itemId: rec.items[0].itemId, type: 'impression', strategy: 'popularity', experimentId: experiment.id, arm: 'pop', ts: new Date(started.getTime() - 2 * 86_400_000).toISOString() };
    // And one impression on the list as served (its signed id names its model version); the rest name made-up ids.
    const signed = { userId: customers[2].id, itemId: rec.items[0].itemId, type: 'impression', recommendationId: rec.recommendationId, ts };
    expect((await t.app.inject({ method: 'POST', url: '/v1/feedback', headers: auth('write'), payload: { events: [...feedback, backdated, signed] } })).statusCode).toBe(200);

    await open('#customers', 'customers');
    expect(await page.locator('canvas').count()).toBe(3);
    await shot('customers');
    await open('#online', 'online');
    expect(await page.textContent('#strategies')).toContain('item-knn');
    // Per model version: the served list's version with its one impression, the made-up ids' feedback apart.
    const versionRows = await page.locator('#versions tr').evaluateAll((rows) => rows.map((r) => [...(r as HTMLTableRowElement).cells].map((c) => c.textContent)));
    expect(rec.modelVersion).toBeTruthy();
    // model version, impressions, clicks, CTR, ...
    expect(versionRows.find((r) => r[0] === rec.modelVersion)?.slice(0, 3)).toEqual([rec.modelVersion, '1', '0']);
    expect(versionRows.some((r) => r[0] === '(no signed recommendationId)')).toBe(true);
    // The overview's kept versions show the same beside their rollback buttons.
    await open('#overview', 'overview');
    // Drawn once the online report is read (the rest of the view does not wait for it).
    await page.waitForSelector('#versions[data-rates="read"]');
    const kept = await page.locator('#versions tr').evaluateAll((rows) => rows.map((r) => [...(r as HTMLTableRowElement).cells].map((c) => c.textContent)));
    const header = kept[0];
    const served = kept.find((r) => r[0] === rec.modelVersion)!;
    expect(served[header.indexOf('impressions (30 days)')]).toBe('1');
    expect(served[header.indexOf('CTR')]).toBe('0.0%');
    await open('#online', 'online');
    const experiments = await page.textContent('#experiments');
    expect(experiments).toContain(experiment.id);
    // Each arm's customers, and its tests' p-values for one look and for any time.
    expect(experiments).toContain('customers');
    expect(experiments).toContain('p (any time)');
    expect(experiments).toContain('vs control (95%, any time)');
    // CTR 1/9 against 5/9: +44.44 points; 3 customers an arm are too few for the any-time interval.
    expect(experiments).toContain('+44.44 pts (interval from 30 customers an arm)');
    // Two treatments: the reader is told the tests are adjusted for them.
    expect(experiments).toContain('2 treatments against the control: every p and interval is adjusted for them');
    // Its tests are read from its start, not from the view's window.
    expect(experiments).toContain(`feedback since ${backdated.ts.slice(0, 10)}`);
    expect(experiments).not.toContain('started earlier');
    // The stopped one says why its any-time p is not to be read.
    expect(experiments).toContain('some of its feedback is deleted, as feedback is kept for FEEDBACK_RETENTION_DAYS, so read p, not the any-time p');
    // Those stopped before the window: one has nothing in it, the other only late feedback on its lists.
    const panel = (id: string) => page.locator('#experiments .panel', { has: page.locator('h3', { hasText: id }) }).textContent();
    expect(await panel('stopped-quiet')).toContain('before this window: none of its feedback is in it');
    expect(await panel('stopped-late')).toContain('before this window: only late feedback on lists it served is in it');
    await shot('online');
  });

  it('When every view has been used, Then the browser reported no error, and the API refused the page nothing', () => {
    expect(problems).toEqual([]);
    expect(refused).toEqual([]);
  });
});
