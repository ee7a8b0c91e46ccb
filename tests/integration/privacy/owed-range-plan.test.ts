/**
 * The range reads that leave the owed customers out inside Postgres (event-repository purchaseRange('owed'),
 * firstPurchaseIn(window, 'owed'), owedAndLatest) walk the purchases' ts index from one end and
 * probe erasure_requests' key per purchase reached (NOT_OWED's OFFSET 0 keeps the NOT EXISTS a per-row SubPlan). Made
 * a join, the planner hashed all of erasure_requests and sorted every purchase instead: 436 ms against 2.3 ms at 100,000
 * owed (bench/README "Owed customers left out inside Postgres"). The plan's shape is checked here, not its time: at
 * this size (2,000 purchases, every customer owed but one) the planner picks that hash join and sort without OFFSET 0.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../../src/data/db.js';
import { createEventRepository } from '../../../src/data/event-repository.js';
import { analyzeOwnTables, createPostgresTestDb, POSTGRES_URL, serviceAvailable, type TestDb } from '../../helpers/services.js';

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Parent Relationship'?: string;
  'Join Type'?: string;
  Plans?: PlanNode[];
}

const nodes = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(nodes)];

describe.skipIf(!(await serviceAvailable(POSTGRES_URL)))('the plan of the range reads leaving the owed customers out', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createPostgresTestDb();
    await t.db.exec(`
      INSERT INTO items (id, title) VALUES ('i1', 'product');
      INSERT INTO users (id) SELECT 'u' || g FROM generate_series(0, 999) g;
      INSERT INTO purchase_events (event_id, user_id, item_id, quantity, ts)
        SELECT 'e' || g, 'u' || (g % 1000), 'i1', 1, timestamptz '2024-01-01' + g * interval '1 hour' FROM generate_series(1, 2000) g;
      INSERT INTO erasure_requests (user_id, next_at) SELECT 'u' || g, now() + interval '1 hour' FROM generate_series(1, 999) g;`);
    await analyzeOwnTables(t.db);
  });
  afterAll(() => t?.dispose());

  it('When the owed are left out of the first and latest purchase, Then each end walks the ts index and probes erasure_requests per purchase: no hash, no sort', async () => {
    const statements: { sql: string; params: unknown[] }[] = [];
    const db: Db = {
      ...t.db,
      query: (sql, params) => {
        statements.push({ sql, params: params ?? [] });
        return t.db.query(sql, params);
      },
    };
    const events = createEventRepository(db);
    await events.purchaseRange('owed');
    await events.firstPurchaseIn({ from: new Date('2024-01-10'), to: new Date('2024-02-01') }, 'owed');
    await events.owedAndLatest();
    expect(statements).toHaveLength(3);
    for (const { sql, params } of statements) {
      const { rows } = await t.db.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`EXPLAIN (FORMAT JSON) ${sql}`, params);
      const all = nodes(rows[0]['QUERY PLAN'][0].Plan);
      const shape = all.map((n) => `${n['Node Type']}${n['Relation Name'] ? ` on ${n['Relation Name']}` : ''}`).join(' / ');
      // The slow shape: the purchases joined to erasure_requests (hashed) and sorted after it. (owedAndLatest's read of
      // every owed id may sort them: not the purchases.)
      const slow = all.filter((n) => (n['Node Type'] === 'Sort' || n['Node Type'].includes('Hash') || n['Join Type'] !== undefined) && nodes(n).some((d) => d['Relation Name'] === 'purchase_events'));
      expect(slow, shape).toEqual([]);
      // The purchases by their ts index; erasure_requests by its key, inside the per-purchase SubPlan.
      const purchases = all.filter((n) => n['Relation Name'] === 'purchase_events');
      expect(purchases.length, shape).toBeGreaterThan(0);
      expect(purchases.every((n) => n['Index Name'] === 'purchase_events_ts'), shape).toBe(true);
      // (owedAndLatest also reads every owed id: erasure_requests' one scan outside the SubPlan, an InitPlan of its own.)
      const probes = all.filter((n) => n['Relation Name'] === 'erasure_requests' && n['Parent Relationship'] === 'SubPlan');
      expect(probes.length, shape).toBeGreaterThan(0);
      expect(probes.every((n) => n['Node Type'].startsWith('Index')), shape).toBe(true);
    }
  });
});
