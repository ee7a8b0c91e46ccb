import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestApp, KEYS, type TestApp } from '../../helpers/app.js';
import { createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';
import { seedShop, trainAndPublish } from '../serving/shop-fixture.js';

const FRONTEND = 'frontend-key-erasure-1';

/**
 * Every answer's recommendationId is signed for the customer its personal list was made for (README
 * "POST /v1/feedback": the token carries the customer's tag). A storefront may send feedback on that list
 * under another visitor id (the session id a page sends once the customer has logged out, a shared device):
 * the event is stored with the token. Once that customer is erased, nothing stored may still tie a row to
 * them: the token of a list made for them is theirs, as their own feedback on it is (deleted with them).
 */
describe.skipIf(!(await serviceAvailable(POSTGRES_URL)))('erasure and the signed lists of the customer', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ createDb: createPostgresTestDb, env: { API_KEYS: `frontend:${FRONTEND},read:${KEYS.read},write:${KEYS.write},admin:${KEYS.admin}` } });
    await seedShop(t.services);
    await trainAndPublish(t.services);
  }, 60_000);
  afterAll(() => t.dispose());

  it("When a customer is erased, Then no stored feedback keeps the recommendationId of a list made for them", async () => {
    // The customer's own list, as the shop's server asks for it to render their page (a browser's public key
    // without the customer's token gets the list of a visitor nobody knows, signed for no customer).
    const answer = await t.app.inject({ url: '/v1/users/g-user3/recommendations?k=3', headers: auth('read') });
    expect(answer.statusCode).toBe(200);
    const { recommendationId, items, strategy, modelVersion } = answer.json() as { recommendationId: string; items: { itemId: string }[]; strategy: string; modelVersion: string };
    const ts = new Date(Date.now() - 60_000).toISOString();
    const sent = await t.app.inject({
      method: 'POST',
      url: '/v1/feedback',
      headers: { authorization: `Bearer ${FRONTEND}` },
      payload: {
        events: [
          { userId: 'g-user3', itemId: items[0].itemId, type: 'impression', recommendationId, ts },
          // The same page's click, sent under the visitor's session id.
          { userId: 'session-77', itemId: items[0].itemId, type: 'click', recommendationId, ts },
        ],
      },
    });
    expect(sent.statusCode).toBe(200);
    // A server relaying a visitor's feedback (a write key) on the same list.
    const relayed = await t.app.inject({
      method: 'POST',
      url: '/v1/feedback',
      headers: auth('write'),
      payload: { events: [{ userId: 'session-79', itemId: items[1].itemId, type: 'click', recommendationId, ts }] },
    });
    expect(relayed.statusCode).toBe(200);
    const stored = async () => (await t.services.db.query<{ n: number }>('SELECT count(*)::int AS n FROM feedback_events WHERE recommendation_id = $1', [recommendationId])).rows[0].n;
    const rowsOf = async (userId: string) =>
      (await t.services.db.query<{ recommendation_id: string | null; strategy: string | null; model_version: string | null }>('SELECT recommendation_id, strategy, model_version FROM feedback_events WHERE user_id = $1', [userId])).rows;
    // The customer's own event keeps the token; another visitor's keeps the list's labels, without the token.
    expect(await stored()).toBe(1);
    expect(await rowsOf('session-77')).toEqual([{ recommendation_id: null, strategy, model_version: modelVersion }]);
    // A server's labels are what it sent (none here); the list's model version is read from the token as for any key.
    expect(await rowsOf('session-79')).toEqual([{ recommendation_id: null, strategy: null, model_version: modelVersion }]);

    // As a release before stored another visitor's feedback: with the token.
    await t.services.db.query("INSERT INTO users (id, made_by_feedback) VALUES ('session-78', true)");
    await t.services.db.query(
      "INSERT INTO feedback_events (event_id, user_id, item_id, type, recommendation_id, strategy, ts) VALUES ('before-the-mend', 'session-78', $1, 'click', $2, $3, $4)",
      [items[0].itemId, recommendationId, strategy, ts],
    );
    // Another customer's list, and text that only looks like a token: not this customer's, kept.
    const other = (await t.app.inject({ url: '/v1/users/g-user4/recommendations?k=3', headers: auth('read') })).json() as { recommendationId: string };
    const lookalike = `${recommendationId.slice(0, -4)}AAAA`;
    for (const [id, rec] of [['other-list', other.recommendationId], ['lookalike', lookalike]]) {
      await t.services.db.query("INSERT INTO feedback_events (event_id, user_id, item_id, type, recommendation_id, ts) VALUES ($1, 'session-78', $2, 'click', $3, $4)", [id, items[0].itemId, rec, ts]);
    }
    expect(await stored()).toBe(2);

    expect((await t.app.inject({ method: 'DELETE', url: '/v1/users/g-user3', headers: auth('admin') })).statusCode).toBe(204);

    expect(await stored()).toBe(0);
    // The visitors' events stay, with their labels: their clicks still count.
    expect(await rowsOf('session-77')).toEqual([{ recommendation_id: null, strategy, model_version: modelVersion }]);
    const kept = (await t.services.db.query<{ event_id: string; recommendation_id: string | null }>("SELECT event_id, recommendation_id FROM feedback_events WHERE user_id = 'session-78' ORDER BY event_id")).rows;
    expect(kept).toEqual([
      { event_id: 'before-the-mend', recommendation_id: null },
      { event_id: 'lookalike', recommendation_id: lookalike },
      { event_id: 'other-list', recommendation_id: other.recommendationId },
    ]);
  });
});
