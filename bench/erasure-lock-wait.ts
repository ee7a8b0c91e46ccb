/**
 * What a storefront's purchase waits while a big customer is erased (src/data/event-repository.ts deleteUsers):
 * the erasure hashes the ids of the events it deletes (erased_event_ids), and ingestion waits for the part
 * under ERASURE_LOCK. One customer with N purchase lines beside 200,000 of 2,000 others; a one-purchase write
 * of another customer is started the moment the erasure holds the lock. Three rounds. (First written by a
 * review of the first version, which hashed everything under the lock.)
 *
 *   npx tsx bench/erasure-lock-wait.ts [N=50000] [--fresh]
 */
import { createPgDb } from '../src/data/db.js';
import { migrate } from '../src/data/migrate.js';
import { createEventRepository } from '../src/data/event-repository.js';

const FRESH = process.argv.includes('--fresh');
const N = Number(process.argv.filter((a) => !a.startsWith('--'))[2] ?? 50000);
const URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `review_cost_${process.pid}`;
const admin = createPgDb(URL, { max: 1 });
await admin.exec(`CREATE SCHEMA ${schema}`);
const db = createPgDb(URL, { max: 4, schema });
try {
  await migrate(db);
  const ev = createEventRepository(db);
  // Background: 200,000 purchases of 2,000 other customers, so the tables are not empty.
  await db.query(`INSERT INTO users (id) SELECT 'u'||g FROM generate_series(1,2000) g`);
  await db.query(`INSERT INTO items (id) SELECT 'i'||g FROM generate_series(1,3000) g`);
  await db.query(`INSERT INTO purchase_events (event_id,user_id,item_id,quantity,ts) SELECT 'bg-'||g,'u'||(g%2000+1),'i'||(g%3000+1),1, now()-interval '1 day'*(g%300) FROM generate_series(1,200000) g`);
  for (let round = 0; round < 3; round++) {
    const user = `big-${round}`;
    await db.query(`INSERT INTO users (id) VALUES ($1)`, [user]);
    // Written over the past (stored a day ago, as a big customer's history is). --fresh stores them now: the
    // erasure's second pass of hashing, under the lock, used to take rows stored in the last 10 minutes; it
    // now takes those its first pass's snapshot did not see, and --fresh should cost the same.
    await db.query(
      `INSERT INTO purchase_events (event_id,user_id,item_id,quantity,order_id,ts,created_at) SELECT md5($1||g)||'-line', $1,'i'||(g%3000+1),1,'o'||(g/5), now()-interval '1 minute'*g, ${FRESH ? 'now()' : "now() - interval '1 day'"} FROM generate_series(1,$2::int) g`,
      [user, N],
    );
    await db.query('ANALYZE');
    // The whole erasure, with an ingestion of another customer started once the erasure holds ERASURE_LOCK.
    let ingestMs = 0;
    const started = performance.now();
    let erasureLocked = 0;
    const erase = ev.deleteUser(user, {
      scrub: async () => {},
    });
    // Start the ingestion shortly after: poll until the erasure holds the lock.
    const ingest = (async () => {
      for (;;) {
        const { rows } = await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_locks l JOIN pg_class c ON c.oid=l.relation JOIN pg_namespace s ON s.oid=c.relnamespace WHERE c.relname='erased_users' AND s.nspname=$1 AND l.mode='ShareRowExclusiveLock' AND l.granted`, [schema]);
        if (rows[0].n > 0) break;
        await new Promise((r) => setTimeout(r, 2));
      }
      erasureLocked = performance.now() - started;
      const t0 = performance.now();
      await ev.insertPurchases([{ userId: 'u1', itemId: 'i1', quantity: 1, ts: new Date(), eventId: `probe-${round}` }]);
      ingestMs = performance.now() - t0;
    })();
    await erase;
    const eraseMs = performance.now() - started;
    await ingest;
    const { rows: size } = await db.query<{ n: string; bytes: string }>(`SELECT count(*)::text AS n, pg_total_relation_size('erased_event_ids')::text AS bytes FROM erased_event_ids`);
    console.log(JSON.stringify({ N, round, eraseMs: Math.round(eraseMs), lockTakenAtMs: Math.round(erasureLocked), ingestWaitedMs: Math.round(ingestMs), erasedIdRows: Number(size[0].n), tableBytes: Number(size[0].bytes), bytesPerRow: Math.round(Number(size[0].bytes) / Number(size[0].n)) }));
  }
} finally {
  await db.close();
  await admin.exec(`DROP SCHEMA ${schema} CASCADE`);
  await admin.close();
}
