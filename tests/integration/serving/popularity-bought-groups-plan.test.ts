import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../../src/data/db.js';
import { createDbPopularity } from '../../../src/serving/db-popularity.js';
import { analyzeOwnTables, createPostgresTestDb, POSTGRES_URL, serviceAvailable, type TestDb } from '../../helpers/services.js';

const ITEMS = 3000;

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  Plans?: PlanNode[];
}

/** Rows the plan read from `relation`, over all the loops of every node that reads it. */
function rowsRead(node: PlanNode, relation: string): number {
  const own = node['Relation Name'] === relation ? ((node['Actual Rows'] ?? 0) + (node['Rows Removed by Filter'] ?? 0)) * (node['Actual Loops'] ?? 1) : 0;
  return own + (node.Plans ?? []).reduce((sum, p) => sum + rowsRead(p, relation), 0);
}

const available = await serviceAvailable(POSTGRES_URL);

describe.skipIf(!available)('Postgres popularity leaving out a customer\'s bought groups', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createPostgresTestDb();
    // A catalogue of variants (groups of 4), every product bought by a few customers.
    await t.db.exec(`
      INSERT INTO items (id, title, item_group_id) SELECT 'i' || g, 'product ' || g, 'style' || (g / 4) FROM generate_series(1, ${ITEMS}) g;
      INSERT INTO users (id) SELECT 'u' || g FROM generate_series(1, 300) g;
      INSERT INTO purchase_events (event_id, user_id, item_id, quantity, ts)
        SELECT 'e' || g, 'u' || (1 + (g * 7919) % 300), 'i' || (1 + (g::bigint * 104729) % ${ITEMS}), 1, now() - (g % 200) * interval '1 day'
        FROM generate_series(1, 12000) g;`);
    await analyzeOwnTables(t.db);
  });
  afterAll(() => t?.dispose());

  it('When a customer\'s purchases are left out of the counted lists, Then the catalogue is read about once, not once per product counted', async () => {
    const statements: { sql: string; params: unknown[] }[] = [];
    const db: Db = {
      ...t.db,
      query: (sql, params) => {
        if (sql.includes('FROM purchase_events b WHERE b.user_id')) statements.push({ sql, params: params ?? [] });
        return t.db.query(sql, params);
      },
    };
    const answer = await createDbPopularity(db).uncached({ k: 10, excludeBoughtBy: 'u7' }, { fallback: false });
    expect(answer.items).toHaveLength(10);
    expect(statements.length).toBeGreaterThan(0);
    for (const { sql, params } of statements) {
      const { rows } = await t.db.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, params);
      const read = rowsRead(rows[0]['QUERY PLAN'][0].Plan, 'items');
      // Each counted product is looked up once, and each of the customer's purchases' groups a few times: a
      // read of the whole catalogue per product counted is quadratic in the catalogue (3,000 products: 9 million rows).
      expect(read, sql).toBeLessThan(20 * ITEMS);
    }
  });
});
