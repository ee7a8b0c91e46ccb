import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recommendationResponse } from '../../../src/http/schemas/recommendations.js';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { DB_BACKENDS } from '../../helpers/services.js';
import { seedShop, trainAndPublish } from '../serving/shop-fixture.js';

const EXPERIMENT = {
  id: 'home-1',
  arms: [
    { name: 'control', strategy: 'hybrid', share: 0.5 },
    { name: 'treatment', strategy: 'popularity', share: 0.5 },
  ],
};

// Buckets by hand: printf 'home-1:g-user0' | sha1sum -> ba1b9e6f..., 0xba1b9e6f / 2^32 = 0.727 -> treatment (>= 0.5).
const EXPECTED_ARMS: Record<string, string> = {
  'g-user0': 'treatment', // 0xba1b9e6f -> 0.7270
  'g-user1': 'control', // 0x7cc7a1fa -> 0.4874
  'g-user2': 'treatment', // 0x80c7d48f -> 0.5030
  'k-user0': 'control', // 0x3a28963b -> 0.2272
  stranger: 'control', // 0x62722f36 -> 0.3846 (a user the model does not know is in the experiment too)
};
const STRATEGY_OF: Record<string, string> = { control: 'hybrid', treatment: 'popularity' };

type FeedbackType = 'impression' | 'click' | 'purchase';
/** `n` feedback events of one type for an arm, each on its own item. */
function feedback(arm: string, type: FeedbackType, n: number) {
  const ts = new Date(Date.now() - 3_600_000).toISOString();
  return Array.from({ length: n }, (_, i) => ({
    userId: `${arm}-u${i % 7}`,
    itemId: `${arm}-${type}-${i}`,
    type,
    strategy: STRATEGY_OF[arm],
    experimentId: 'home-1',
    arm,
    ts,
  }));
}

/**
 * home-3's CTR test, by hand: CTR 0.1 against 0.2, V = 0.000459770 (each arm's clicks vary 0-2 around 1 or 2 on
 * 10 impressions), z = 0.1 / sqrt(V) = 4.66369 on 58 degrees of freedom, p = 1.8713e-5 (scipy); one-look
 * interval 0.1 +- 0.042921. Any time: tau = 0.2 x 0.15 = 0.03, 1 / Lambda = 0.0012866 (above p); the confidence
 * sequence 0.1 +- 0.070108.
 */
const HOME3_CTR = {
  z: expect.closeTo(4.6636895265, 7),
  p: expect.closeTo(1.871287e-5, 10),
  anytimeP: expect.closeTo(0.0012866212, 9),
  difference: expect.closeTo(0.1, 12),
  low: expect.closeTo(0.0570786719, 8),
  high: expect.closeTo(0.1429213281, 8),
  anytimeLow: expect.closeTo(0.0298916240, 8),
  anytimeHigh: expect.closeTo(0.1701083760, 8),
};

// Both backends, not ONE_DB_BACKEND: a second active experiment is refused (409) by reading the unique violation's
// SQLSTATE (23505) off the driver's error, pg's or PGlite's; no other PGlite test reaches that mapping.
for (const backend of DB_BACKENDS) {
  describe.skipIf(!(await backend.available()))(`A/B experiments on ${backend.name}`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp({ createDb: backend.create });
      await seedShop(t.services);
      await trainAndPublish(t.services);
    });
    afterAll(() => t.dispose());

    const post = (url: string, payload?: unknown, scope: 'read' | 'write' | 'admin' = 'admin') =>
      t.app.inject({ method: 'POST', url, headers: auth(scope), ...(payload === undefined ? {} : { payload: payload as object }) });
    const recommend = async (userId: string, query = '') => {
      const res = await t.app.inject({ url: `/v1/users/${userId}/recommendations?k=3${query}`, headers: auth('read') });
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json();
      expect(() => recommendationResponse.parse(body)).not.toThrow();
      return body as { strategy: string; fallback: boolean; experiment?: { id: string; arm: string } };
    };

    it('When an experiment is created, Then 201 with its arms and it is listed as active', async () => {
      const res = await post('/v1/experiments', EXPERIMENT);
      expect(res.statusCode, res.body).toBe(201);
      expect(res.json()).toMatchObject({ ...EXPERIMENT, active: true, stoppedAt: null });
      const list = (await t.app.inject({ url: '/v1/experiments', headers: auth('admin') })).json();
      expect(list.experiments.map((e: { id: string; active: boolean }) => [e.id, e.active])).toEqual([['home-1', true]]);
    });

    it('When a definition is wrong, Then a clear 4xx in the error shape and nothing is stored', async () => {
      const arms = EXPERIMENT.arms;
      const cases: [unknown, number, string][] = [
        [{ id: 'bad-1', arms: [arms[0], { ...arms[1], share: 0.4 }] }, 400, 'add up to 1'],
        [{ id: 'bad-2', arms: [arms[0], { ...arms[1], name: 'control' }] }, 400, 'used twice'],
        [{ id: 'bad-3', arms: [arms[0]] }, 400, ''],
        [{ id: 'bad 4', arms }, 400, ''],
        [{ id: 'bad-5', arms: [arms[0], { ...arms[1], strategy: 'telepathy' }] }, 422, 'telepathy'],
        // One experiment at a time, and ids are never reused.
        [{ id: 'home-2', arms }, 409, 'home-1'],
        [{ ...EXPERIMENT, active: false }, 409, 'exists'],
      ];
      for (const [body, status, text] of cases) {
        const res = await post('/v1/experiments', body);
        expect(res.statusCode, JSON.stringify(body)).toBe(status);
        expect(res.json().error.code).toMatch(/^[A-Z_]+$/);
        expect(JSON.stringify(res.json().error)).toContain(text);
      }
      expect((await post('/v1/experiments', { ...EXPERIMENT, id: 'by-writer' }, 'write')).statusCode).toBe(403);
      const list = (await t.app.inject({ url: '/v1/experiments', headers: auth('admin') })).json();
      expect(list.experiments).toHaveLength(1);
    });

    it('When users ask without a strategy, Then each gets the arm of their hash, its strategy, and the same arm every time', async () => {
      for (const [userId, arm] of Object.entries(EXPECTED_ARMS)) {
        for (let i = 0; i < 3; i++) {
          const body = await recommend(userId);
          expect(body.experiment, userId).toEqual({ id: 'home-1', arm });
          // A user the model does not know gets the cold-start answer (popularity, fallback) in either arm.
          expect(body.strategy, userId).toBe(userId === 'stranger' ? 'popularity' : STRATEGY_OF[arm]);
          expect(body.fallback, userId).toBe(userId === 'stranger');
        }
      }
    });

    it('When a strategy is asked for, Then the experiment is bypassed and the response names none', async () => {
      const body = await recommend('g-user0', '&strategy=hybrid');
      expect(body.strategy).toBe('hybrid');
      expect(body).not.toHaveProperty('experiment');
    });

    it('When feedback per arm is sent, Then the online metrics give counts, rates, customers and tests against the control', async () => {
      const events = [
        ...feedback('control', 'impression', 100),
        ...feedback('control', 'click', 10),
        ...feedback('control', 'purchase', 2),
        ...feedback('treatment', 'impression', 100),
        ...feedback('treatment', 'click', 20),
        ...feedback('treatment', 'purchase', 5),
      ];
      const res = await post('/v1/feedback', { events }, 'write');
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().inserted).toBe(events.length);

      const body = (await t.app.inject({ url: '/v1/metrics/online', headers: auth('admin') })).json();
      expect(body.experiments).toHaveLength(1);
      const [control, treatment] = body.experiments[0].arms;
      expect(body.experiments[0]).toMatchObject({ id: 'home-1', active: true, stoppedAt: null });
      expect(Date.now() - Date.parse(body.experiments[0].createdAt)).toBeLessThan(3_600_000);
      expect(control).toEqual({
        name: 'control', strategy: 'hybrid', share: 0.5, customers: 7,
        impressions: 100, clicks: 10, addToCart: 0, purchases: 2, ctr: 0.1, conversion: 0.02, vsControl: null,
      });
      expect(treatment).toMatchObject({ name: 'treatment', customers: 7, impressions: 100, clicks: 20, purchases: 5, ctr: 0.2, conversion: 0.05 });
      // Customers as the unit (delta method), by hand: the 7 customers of each arm have impressions
      // 15, 15, 14, 14, 14, 14, 14 (i % 7 of 100), control clicks 2, 2, 2, 1, 1, 1, 1, treatment clicks
      // 3, 3, 3, 3, 3, 3, 2. Each treatment customer clicked about 3 in 14, each control customer 1-2: they
      // agree so well that the difference is clearer than events alone say (event-level p was 0.0477).
      // Var(R) = (s_x^2 - 2 R s_nx + R^2 s_n^2) / (N mean_n^2) per arm; z = 0.1 / sqrt(Var_c + Var_t) = 6.10468
      // on Welch's 10.98 degrees of freedom: p = 7.7377e-5 (Student's t, scipy).
      expect(treatment.vsControl.ctr.z).toBeCloseTo(6.1046769567, 5);
      expect(treatment.vsControl.ctr.p).toBeCloseTo(7.737675e-5, 10);
      // The difference, 0.1, with its one-look 95% interval: 0.1 +- t(0.975, 10.98) x 0.016381 (scipy). Seven
      // customers an arm are too few for the any-time answers (from 30).
      expect(treatment.vsControl.ctr).toMatchObject({ difference: expect.closeTo(0.1, 12), low: expect.closeTo(0.0639389886, 8), high: expect.closeTo(0.1360610114, 8) });
      expect(treatment.vsControl.ctr).toMatchObject({ anytimeP: null, anytimeLow: null, anytimeHigh: null });
      // Conversion: control purchases 1, 1, 0, 0, 0, 0, 0, treatment 1, 1, 1, 1, 1, 0, 0: z = 1.67579 on 12.0
      // degrees of freedom, p = 0.11962; 1 / Lambda = 0.89130.
      expect(treatment.vsControl.conversion.z).toBeCloseTo(1.6757858932, 5);
      expect(treatment.vsControl.conversion.p).toBeCloseTo(0.1196183655, 5);
      expect(treatment.vsControl.conversion.anytimeP).toBeNull();
    });

    it('When one customer of an arm sends many clicks without impressions, Then its CTR moves but its test counts none of them', async () => {
      const before = (await t.app.inject({ url: '/v1/metrics/online', headers: auth('admin') })).json().experiments[0].arms[1];
      // A customer with their own page clicking everything: 60 clicks and no impressions (a bot, or a client
      // that does not send impressions).
      const ts = new Date(Date.now() - 3_600_000).toISOString();
      const clicks = Array.from({ length: 60 }, (_, i) => ({
        userId: 'treatment-clicker', itemId: `clicker-${i}`, type: 'click', strategy: 'popularity', experimentId: 'home-1', arm: 'treatment', ts,
      }));
      expect((await post('/v1/feedback', { events: clicks }, 'write')).statusCode).toBe(200);
      const after = (await t.app.inject({ url: '/v1/metrics/online', headers: auth('admin') })).json().experiments[0].arms[1];
      expect(after).toMatchObject({ customers: before.customers + 1, clicks: before.clicks + 60, ctr: 0.8 });
      // The tests count a customer's clicks up to their impressions: the clicker is a customer with none of
      // either. By hand (numpy, scipy): treatment R = 20 / 100, over 8 customers (impressions 15, 15, 14 x 5, 0;
      // clicks 3 x 6, 2, 0) Var = 9.142857e-5, control's 1.75e-4: z = 0.1 / sqrt(2.6643e-4) = 6.12646 on 11.27
      // degrees of freedom, p = 6.7158e-5. Counting the clicker's 60 had given z = 1.02, p = 0.34: one customer
      // hid what the other seven show.
      expect(after.vsControl.ctr.difference).toBeCloseTo(0.1, 12);
      expect(after.vsControl.ctr.z).toBeCloseTo(6.126459994510951, 6);
      expect(after.vsControl.ctr.p).toBeCloseTo(6.715798094402372e-5, 9);
      // The clicker's clicks are theirs to delete with them: erasure takes them out of the report.
      expect((await t.app.inject({ method: 'DELETE', url: '/v1/users/treatment-clicker', headers: auth('admin') })).statusCode).toBe(204);
      const erased = (await t.app.inject({ url: '/v1/metrics/online', headers: auth('admin') })).json().experiments[0].arms[1];
      expect(erased).toEqual(before);
    });

    it('When feedback names an experiment without an arm, Then 400 and nothing is stored', async () => {
      const event = { userId: 'u', itemId: 'i', type: 'click', experimentId: 'home-1', ts: new Date().toISOString() };
      const res = await post('/v1/feedback', { events: [event] }, 'write');
      expect(res.statusCode).toBe(400);
      expect(JSON.stringify(res.json().error)).toContain('experimentId and arm go together');
    });

    it('When the experiment is stopped, Then answers use the default strategy untagged, and its results stay readable', async () => {
      const res = await post('/v1/experiments/home-1/stop');
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().active).toBe(false);
      expect(Date.parse(res.json().stoppedAt)).not.toBeNaN();
      const body = await recommend('g-user0');
      expect(body.strategy).toBe('hybrid');
      expect(body).not.toHaveProperty('experiment');
      const metrics = (await t.app.inject({ url: '/v1/metrics/online', headers: auth('admin') })).json();
      expect(metrics.experiments[0]).toMatchObject({ id: 'home-1', active: false, stoppedAt: res.json().stoppedAt });
      expect(metrics.experiments[0].arms[1].clicks).toBe(20);
      expect((await post('/v1/experiments/nope/stop')).statusCode).toBe(404);
      // With none active a new one may start (under a new id).
      expect((await post('/v1/experiments', { ...EXPERIMENT, id: 'home-2' })).statusCode).toBe(201);
    });

    it('When an arm holds far fewer customers than its share, Then the report calls a sample ratio mismatch', async () => {
      const ts = new Date(Date.now() - 3_600_000).toISOString();
      // 40 customers in control, 10 in treatment, of a 50/50 split (say the treatment's lists failed and fell
      // back untagged): chi-square = 2 x 15^2 / 25 = 18 on 1 degree of freedom, p = 2.2e-5 (scipy).
      const events = [
        ...Array.from({ length: 40 }, (_, i) => ({ userId: `srm-c${i}`, itemId: 'srm-item', type: 'impression', strategy: 'hybrid', experimentId: 'home-2', arm: 'control', ts })),
        ...Array.from({ length: 10 }, (_, i) => ({ userId: `srm-t${i}`, itemId: 'srm-item', type: 'impression', strategy: 'popularity', experimentId: 'home-2', arm: 'treatment', ts })),
      ];
      expect((await post('/v1/feedback', { events }, 'write')).statusCode).toBe(200);
      const metrics = (await t.app.inject({ url: '/v1/metrics/online', headers: auth('admin') })).json();
      const [home2, home1] = metrics.experiments;
      expect(home2.id).toBe('home-2');
      expect(home2.sampleRatio).toEqual({ chiSquare: expect.closeTo(18, 10), p: expect.closeTo(2.2090496998585482e-5, 12), mismatch: true });
      // home-1's arms hold 7 customers each (the clicker erased): chi-square 0, p = 1.
      expect(home1.arms.map((a: { customers: number }) => a.customers)).toEqual([7, 7]);
      expect(home1.sampleRatio).toEqual({ chiSquare: 0, p: 1, mismatch: false });
    });

    it('When each arm has 30 customers, Then the report gives the any-time p and interval beside the one-look ones', async () => {
      expect((await post('/v1/experiments/home-2/stop')).statusCode).toBe(200);
      expect((await post('/v1/experiments', { ...EXPERIMENT, id: 'home-3' })).statusCode).toBe(201);
      const ts = new Date(Date.now() - 3_600_000).toISOString();
      // Customer i of control: 10 impressions, i % 3 clicks; of treatment: 10 impressions, i % 3 + 1 clicks.
      const events = ['control', 'treatment'].flatMap((arm, a) =>
        Array.from({ length: 30 }, (_, i) => [
          ...Array.from({ length: 10 }, (_, k) => ({ userId: `h3-${arm}-${i}`, itemId: `h3-${k}`, type: 'impression', strategy: STRATEGY_OF[arm], experimentId: 'home-3', arm, ts })),
          ...Array.from({ length: (i % 3) + a }, (_, k) => ({ userId: `h3-${arm}-${i}`, itemId: `h3-${k}`, type: 'click', strategy: STRATEGY_OF[arm], experimentId: 'home-3', arm, ts })),
        ]).flat(),
      );
      expect((await post('/v1/feedback', { events }, 'write')).statusCode).toBe(200);
      const [home3] = (await t.app.inject({ url: '/v1/metrics/online', headers: auth('admin') })).json().experiments;
      expect(home3.id).toBe('home-3');
      expect(home3.arms[1].vsControl.ctr).toEqual(HOME3_CTR);
    });

    it('When an experiment has two treatments, Then each test is adjusted for both: p and any-time p doubled, intervals at 2.5%', async () => {
      expect((await post('/v1/experiments/home-3/stop')).statusCode).toBe(200);
      const arms = [...EXPERIMENT.arms.map((a) => ({ ...a, share: a.name === 'control' ? 0.34 : 0.33 })), { name: 'other', strategy: 'hybrid', share: 0.33 }];
      expect((await post('/v1/experiments', { id: 'home-4', arms })).statusCode).toBe(201);
      const ts = new Date(Date.now() - 3_600_000).toISOString();
      // As home-3, and a third arm whose customers click as the control's.
      const clicksOf: Record<string, number> = { control: 0, treatment: 1, other: 0 };
      const events = Object.keys(clicksOf).flatMap((arm) =>
        Array.from({ length: 30 }, (_, i) => [
          ...Array.from({ length: 10 }, (_, k) => ({ userId: `h4-${arm}-${i}`, itemId: `h4-${k}`, type: 'impression', experimentId: 'home-4', arm, ts })),
          ...Array.from({ length: (i % 3) + clicksOf[arm] }, (_, k) => ({ userId: `h4-${arm}-${i}`, itemId: `h4-${k}`, type: 'click', experimentId: 'home-4', arm, ts })),
        ]).flat(),
      );
      expect((await post('/v1/feedback', { events }, 'write')).statusCode).toBe(200);
      const [home4] = (await t.app.inject({ url: '/v1/metrics/online', headers: auth('admin') })).json().experiments;
      expect(home4).toMatchObject({ id: 'home-4', comparisons: 2 });
      // home-3's numbers for two comparisons (scipy): p = 2 x 1.871287e-5; any time 2 x 0.0012866212; the
      // one-look interval 0.1 +- t(1 - 0.025 / 2, 58) x sqrt(V) = 0.1 +- 0.049340; the confidence sequence at
      // 0.025: 0.1 +- sqrt(2 V (V + tau^2) / tau^2 (ln 40 + ln((V + tau^2) / V) / 2)) = 0.1 +- 0.076669.
      expect(home4.arms[1].vsControl.ctr).toEqual({
        z: expect.closeTo(4.6636895265, 7),
        p: expect.closeTo(3.742574665e-5, 10),
        anytimeP: expect.closeTo(0.0025732424, 9),
        difference: expect.closeTo(0.1, 12),
        low: expect.closeTo(0.0506595883, 8),
        high: expect.closeTo(0.1493404117, 8),
        anytimeLow: expect.closeTo(0.0233307844, 8),
        anytimeHigh: expect.closeTo(0.1766692156, 8),
      });
      expect(home4.arms[2].vsControl.ctr).toMatchObject({ difference: 0, p: expect.closeTo(1, 12) });
    });

    /** Feedback of one customer of an arm of an experiment at `ts`: impressions and clicks on items h-0, h-1, ... */
    const customerFeedback = (experimentId: string, arm: string, userId: string, ts: string, impressions: number, clicks: number, firstItem = 0) => [
      ...Array.from({ length: impressions }, (_, k) => ({ userId, itemId: `h-${firstItem + k}`, type: 'impression', experimentId, arm, ts })),
      ...Array.from({ length: clicks }, (_, k) => ({ userId, itemId: `h-${firstItem + k}`, type: 'click', experimentId, arm, ts })),
    ];

    it("When customers' feedback is spread over days, Then the tests are those of their totals, as home-3's", async () => {
      expect((await post('/v1/experiments/home-4/stop')).statusCode).toBe(200);
      expect((await post('/v1/experiments', { ...EXPERIMENT, id: 'home-5' })).statusCode).toBe(201);
      const before = new Date(Date.now() - 2 * 86_400_000).toISOString();
      const now = new Date(Date.now() - 3_600_000).toISOString();
      // home-3's customers, each shown 4 items two days ago and 6 more today, and clicking only today.
      const events = ['control', 'treatment'].flatMap((arm, a) =>
        Array.from({ length: 30 }, (_, i) => [
          ...customerFeedback('home-5', arm, `h5-${arm}-${i}`, before, 4, 0),
          ...customerFeedback('home-5', arm, `h5-${arm}-${i}`, now, 6, (i % 3) + a, 4),
        ]).flat(),
      );
      expect((await post('/v1/feedback', { events }, 'write')).statusCode).toBe(200);
      const [home5] = (await t.app.inject({ url: '/v1/metrics/online', headers: auth('admin') })).json().experiments;
      expect(home5.id).toBe('home-5');
      expect(home5.arms.map((a: { customers: number; impressions: number }) => [a.customers, a.impressions])).toEqual([[30, 300], [30, 300]]);
      // Each customer's totals are home-3's: so are the tests.
      expect(home5.arms[1].vsControl.ctr).toEqual(HOME3_CTR);
    });

    it('When the report was read while a treatment led and is read again once it no longer does, Then the any-time p keeps the crossing; p is as of now', async () => {
      expect((await post('/v1/experiments/home-5/stop')).statusCode).toBe(200);
      expect((await post('/v1/experiments', { ...EXPERIMENT, id: 'home-6' })).statusCode).toBe(201);
      const early = new Date(Date.now() - 3 * 86_400_000).toISOString();
      const now = new Date(Date.now() - 3_600_000).toISOString();
      const arms = (when: string, lead: (a: number) => number, tag: string) =>
        ['control', 'treatment'].flatMap((arm, a) => Array.from({ length: 40 }, (_, i) => customerFeedback('home-6', arm, `h6-${arm}-${tag}-${i}`, when, 10, (i % 3) + lead(a))).flat());
      const home6 = async () => {
        const [e] = (await t.app.inject({ url: '/v1/metrics/online', headers: auth('admin') })).json().experiments;
        expect(e).toMatchObject({ id: 'home-6', fromStart: true });
        return e.arms[1].vsControl.ctr;
      };
      // 40 customers an arm, the treatment's clicking 2 more of 10 than the control's: CTR 0.3 against 0.1.
      expect((await post('/v1/feedback', { events: arms(early, (a) => 2 * a, 'early') }, 'write')).statusCode).toBe(200);
      const first = await home6();
      expect(first.anytimeP).toBeLessThan(0.001);
      // 40 more an arm, the other way round: over both, the arms click alike.
      expect((await post('/v1/feedback', { events: arms(now, (a) => 2 * (1 - a), 'late') }, 'write')).statusCode).toBe(200);
      const second = await home6();
      expect(second.difference).toBeCloseTo(0, 12);
      expect(second.p).toBeCloseTo(1, 9);
      // The first read crossed: the any-time answers keep it (the interval is the first's, the second's being
      // disjoint from it).
      expect(second).toMatchObject({ anytimeP: first.anytimeP, anytimeLow: first.anytimeLow, anytimeHigh: first.anytimeHigh });
      const { rows } = await t.services.db.query<{ looks: number }>("SELECT looks FROM experiment_looks WHERE experiment_id = 'home-6' AND arm = 'treatment' AND metric = 'ctr'");
      expect(rows).toEqual([{ looks: 2 }]);
    });

    it("When an arm's lists carried several strategies and 21 others are busier, Then /daily gives the arm one row a day, as the report counts it", async () => {
      expect((await post('/v1/experiments/home-6/stop')).statusCode).toBe(200);
      expect((await post('/v1/experiments', { ...EXPERIMENT, id: 'home-7' })).statusCode).toBe(201);
      const ts = new Date(Date.now() - 3_600_000).toISOString();
      // A backend labels 21 kinds of list of its own, each busier than the arms.
      const widgets = Array.from({ length: 21 }, (_, w) =>
        Array.from({ length: 10 }, (_, i) => ({ userId: `w-u${i}`, itemId: `w-${w}-${i}`, type: 'impression', strategy: `widget-${w}`, ts })),
      ).flat();
      // The control arm: known customers' hybrid lists, and a newcomer's popularity list (a cold start).
      const arm = (name: string, strategy: string, user: string, impressions: number, clicks: number) => [
        ...Array.from({ length: impressions }, (_, i) => ({ userId: user, itemId: `h7-${i}`, type: 'impression', strategy, experimentId: 'home-7', arm: name, ts })),
        ...Array.from({ length: clicks }, (_, i) => ({ userId: user, itemId: `h7-${i}`, type: 'click', strategy, experimentId: 'home-7', arm: name, ts })),
      ];
      const events = [...widgets, ...arm('control', 'hybrid', 'h7-known', 6, 0), ...arm('control', 'popularity', 'h7-new', 3, 1), ...arm('treatment', 'popularity', 'h7-other', 4, 2)];
      expect((await post('/v1/feedback', { events }, 'write')).statusCode).toBe(200);
      const [home7] = (await t.app.inject({ url: '/v1/metrics/online', headers: auth('admin') })).json().experiments;
      const daily = (await t.app.inject({ url: '/v1/metrics/online/daily', headers: auth('admin') })).json();
      const rows = daily.rows.filter((r: { experimentId: string | null }) => r.experimentId === 'home-7');
      expect(rows.map((r: { arm: string; strategy: string | null; impressions: number; clicks: number }) => [r.arm, r.strategy, r.impressions, r.clicks])).toEqual([
        ['control', null, 9, 1],
        ['treatment', 'popularity', 4, 2],
      ]);
      expect(home7.arms.map((a: { impressions: number; clicks: number }) => [a.impressions, a.clicks])).toEqual([[9, 1], [4, 2]]);
    });

    // Before, `active: false` made an experiment nothing could ever start.
    it('When an experiment is created inactive, Then it assigns nobody until started, starts once and only while none other runs', async () => {
      const listed = (await t.app.inject({ url: '/v1/experiments', headers: auth('admin') })).json() as { experiments: { id: string; active: boolean }[] };
      for (const e of listed.experiments.filter((x) => x.active)) expect((await post(`/v1/experiments/${e.id}/stop`)).statusCode).toBe(200);
      expect((await post('/v1/experiments', { ...EXPERIMENT, id: 'draft-busy' })).statusCode).toBe(201);
      // Another is active: a draft may be defined beside it, not started.
      const created = await post('/v1/experiments', { ...EXPERIMENT, id: 'draft-1', active: false });
      expect(created.statusCode, created.body).toBe(201);
      expect(created.json()).toMatchObject({ id: 'draft-1', active: false, stoppedAt: null });
      const busy = await post('/v1/experiments/draft-1/start');
      expect(busy.statusCode).toBe(409);
      expect(busy.json().error.message).toContain('"draft-busy" is active');
      expect((await post('/v1/experiments/draft-busy/stop')).statusCode).toBe(200);
      expect(await recommend('g-user0')).not.toHaveProperty('experiment');
      const before = Date.now();
      const started = await post('/v1/experiments/draft-1/start');
      expect(started.statusCode, started.body).toBe(200);
      expect(started.json()).toMatchObject({ id: 'draft-1', active: true, stoppedAt: null });
      // Its start is when it started assigning, not when it was defined.
      expect(Date.parse(started.json().createdAt)).toBeGreaterThanOrEqual(before - 1000);
      expect((await recommend('g-user0')).experiment).toMatchObject({ id: 'draft-1', arm: EXPECTED_ARMS['g-user0'] });
      // Started again: nothing changes.
      const again = await post('/v1/experiments/draft-1/start');
      expect(again.statusCode).toBe(200);
      expect(again.json().createdAt).toBe(started.json().createdAt);
      expect((await post('/v1/experiments/draft-1/stop')).statusCode).toBe(200);
      expect((await post('/v1/experiments/draft-1/start')).statusCode).toBe(409);
      expect((await post('/v1/experiments/home-1/start')).statusCode).toBe(409);
      expect((await post('/v1/experiments/nope/start')).statusCode).toBe(404);
    });
  });
}
