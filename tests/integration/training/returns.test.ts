import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runImport } from '../../../src/data/importers/run-import.js';
import type { ImportReport } from '../../../src/data/importers/import-report.js';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { DB_BACKENDS } from '../../helpers/services.js';

const postgres = DB_BACKENDS[0];

/**
 * An Online Retail file a fashion shop could have written: customer 12346's two lines as the real file has them
 * (77,183.60 ordered, all of it cancelled 16 minutes later); eight customers who order a dress in two sizes
 * (10001 M, 10002 L) with a belt (30001) and cancel the L; one who orders two scarves (40001) and sends one back;
 * and steady customers of other products, so the value tiers have a population.
 */
function fashionFile(): string {
  const lines = ['InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country'];
  lines.push('541431,23166,MEDIUM CERAMIC TOP STORAGE JAR,74215,2011-01-18 10:01:00,1.04,12346,United Kingdom');
  lines.push('C541433,23166,MEDIUM CERAMIC TOP STORAGE JAR,-74215,2011-01-18 10:17:00,1.04,12346,United Kingdom');
  for (let c = 0; c < 8; c++) {
    const day = String(3 + c).padStart(2, '0');
    const who = 20000 + c;
    lines.push(`6000${c},10001,RED DRESS SIZE M,1,2011-02-${day} 09:00:00,40,${who},France`);
    lines.push(`6000${c},10002,RED DRESS SIZE L,1,2011-02-${day} 09:00:00,40,${who},France`);
    lines.push(`6000${c},30001,LEATHER BELT,1,2011-02-${day} 09:00:00,15,${who},France`);
    lines.push(`C6100${c},10002,RED DRESS SIZE L,-1,2011-02-${day} 18:00:00,40,${who},France`);
  }
  lines.push('70000,40001,WOOL SCARF,2,2011-03-01 09:00:00,12,21000,France');
  lines.push('C70001,40001,WOOL SCARF,-1,2011-03-02 09:00:00,12,21000,France');
  for (let c = 0; c < 10; c++) {
    for (let o = 0; o < 1 + (c % 4); o++) lines.push(`8${c}${o}00,5000${c % 3},T-SHIRT ${c % 3},${1 + c},2011-03-${String(5 + o).padStart(2, '0')} 10:00:00,${5 + c},${22000 + c},France`);
  }
  return `${lines.join('\n')}\n`;
}

describe.skipIf(!(await postgres.available()))('returns: Online Retail cancellations taken off purchases in profiles and training', () => {
  let t: TestApp;
  let dir: string;
  let report: ImportReport;

  beforeAll(async () => {
    t = await createTestApp({ createDb: postgres.create });
    dir = await mkdtemp(join(tmpdir(), 'returns-'));
    await writeFile(join(dir, 'fashion.csv'), fashionFile());
    report = await runImport({ db: t.services.db }, { format: 'online-retail', path: join(dir, 'fashion.csv') });
    await t.services.trainer.train({ tune: false });
    await t.services.serving.refresh();
  }, 240_000);
  afterAll(async () => {
    await t?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('When the file is imported, Then each cancellation line is stored as a return of its customer and item', async () => {
    expect(report.returns).toBe(10);
    expect(report.rejected.cancelled_invoice ?? 0).toBe(0);
    const { rows } = await t.services.db.query<{ user_id: string; item_id: string; quantity: number; order_id: string | null }>(
      "SELECT user_id, item_id, quantity, order_id FROM return_events WHERE user_id IN ('12346', '21000') ORDER BY user_id",
    );
    expect(rows).toEqual([
      { user_id: '12346', item_id: '23166', quantity: 74215, order_id: null },
      { user_id: '21000', item_id: '40001', quantity: 1, order_id: null },
    ]);
    // Importing it again adds nothing twice.
    const again = await runImport({ db: t.services.db }, { format: 'online-retail', path: join(dir, 'fashion.csv') });
    expect(again.inserted).toBe(0);
  });

  it('When customer 12346 (whose one order was cancelled whole) is profiled, Then they have no spend and are in no value tier, `high` least', async () => {
    expect((await t.app.inject({ url: '/v1/users/12346/profile', headers: auth('read') })).statusCode).toBe(404);
    const high = await t.app.inject({ url: '/v1/segments/high/users?dimension=valueTier&limit=1000', headers: auth('admin') });
    expect(high.statusCode).toBe(200);
    expect(high.json().users.map((u: { userId: string }) => u.userId)).not.toContain('12346');
    // Their purchase is still listed as made (the purchase list is what was sold).
    expect((await t.app.inject({ url: '/v1/users/12346/events', headers: auth('read') })).json().events).toHaveLength(1);
  });

  it('When a customer returns one of two scarves, Then the other still counts: spend 12.00, the scarf bought', async () => {
    const res = await t.app.inject({ url: '/v1/users/21000/profile', headers: auth('read') });
    expect(res.statusCode).toBe(200);
    expect({ monetary: res.json().monetary, frequency: res.json().frequency, avgBasketSize: res.json().avgBasketSize }).toEqual({ monetary: 12, frequency: 1, avgBasketSize: 1 });
  });

  it('When the dress is ordered in M and L with a belt and the L is sent back, Then the L is not bought together with the M, and the belt is', async () => {
    const res = await t.app.inject({ url: '/v1/items/10001/bought-together?k=20', headers: auth('read') });
    expect(res.statusCode).toBe(200);
    const together = (res.json().items as { itemId: string; sources: string[] }[]).filter((i) => i.sources.includes('cooccurrence')).map((i) => i.itemId);
    expect(together).toContain('30001');
    expect(together).not.toContain('10002');
  });

  it('When a generic events.csv has a `return` row, Then it is stored as a return and taken off the purchase it returns', async () => {
    const generic = join(dir, 'generic');
    await mkdir(generic);
    await writeFile(
      join(generic, 'events.csv'),
      ['user_id,item_id,quantity,price,order_id,ts,type', 'g-ann,g-dress-M,1,40,g-o1,2011-04-01T10:00:00Z,purchase', 'g-ann,g-dress-L,1,40,g-o1,2011-04-01T10:00:00Z,', 'g-ann,g-dress-L,1,,g-o1,2011-04-03T10:00:00Z,return'].join('\n') + '\n',
    );
    const r = await runImport({ db: t.services.db }, { format: 'generic', path: generic });
    expect({ accepted: r.accepted, returns: r.returns, inserted: r.inserted }).toEqual({ accepted: 3, returns: 1, inserted: 3 });
    const rows = await t.services.events.loadPurchaseRows({ userId: 'g-ann' });
    expect(rows.map((p) => p.itemId)).toEqual(['g-dress-M']);
  });

  it('When a customer with returns is erased, Then their returns are gone too', async () => {
    expect((await t.app.inject({ method: 'DELETE', url: '/v1/users/20000', headers: auth('admin') })).statusCode).toBeLessThan(300);
    const { rows } = await t.services.db.query<{ n: number }>("SELECT count(*)::int AS n FROM return_events WHERE user_id = '20000'");
    expect(rows[0].n).toBe(0);
  });
});
