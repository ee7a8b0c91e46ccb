/**
 * What a DELETE /v1/users/:id costs when another turn completed its erasure while it waited (fifty-eighth session):
 * such a DELETE is now erased again in its own turn before its 204 (src/data/event-repository.ts
 * ErasureSteps.answered), where it was answered from one read of erased_users. Beside it, an ordinary DELETE, which the
 * change leaves as it was. Counted, not timed: this process's CPU (process.cpuUsage: every thread, the redaction
 * worker's too), the Postgres statements (every query through the service's Db, in transactions too) and the Redis
 * commands (the server's total_commands_processed: REDIS_URL should be a redis-server of the bench's own).
 *
 *   npx tsx bench/erasure-answered-again.ts [--erasures 5] [--data FILE]
 *
 * Imports Online Retail into the schema `bench_erasure_again` afresh (erasures delete from it), trains the default
 * recipe once into REDIS_URL under a random prefix (deleted afterwards), then:
 * 1. erases the --erasures customers with the most purchases, one DELETE after another (the ordinary path);
 * 2. for each of them again: the customer buys once more (came back), a DELETE is asked while the erasures' lock is
 *    held elsewhere, its request row is deleted there (what another turn's commit does) and the lock let go: the
 *    DELETE's turn finds no request of its own. Prints its counts and whether the purchase is left.
 * 3. the same without the purchase (a client's retry while the first DELETE's turn ran): its counts.
 */
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { loadConfig } from '../src/config.js';
import { createPgDb, type Db } from '../src/data/db.js';
import { ERASURE_SERIAL } from '../src/data/erasure-repository.js';
import { createServices } from '../src/services.js';
import { createRedisModelStore } from '../src/store/redis-model-store.js';
import { ensureOnlineRetailSchema } from './lib/bench-schema.js';
import { optionTaker, withoutDataArg } from './lib/online-retail.js';
import { deleteRedisPrefix } from './lib/redis-prefix.js';

const option = optionTaker(withoutDataArg());
const count = Number(option('--erasures') ?? 5);
const PG = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const SCHEMA = 'bench_erasure_again';

/** The Db with every statement counted, those of its transactions too. */
function counted(db: Db, counter: { statements: number }): Db {
  const wrap = (d: Db): Db => ({
    ...d,
    kind: d.kind,
    query: (sql, params) => (counter.statements++, d.query(sql, params)),
    exec: (sql) => (counter.statements++, d.exec(sql)),
    stream: (sql, params, size) => (counter.statements++, d.stream(sql, params, size)),
    transaction: (fn) => d.transaction((tx) => fn(wrap(tx))),
    close: () => d.close(),
  });
  return wrap(db);
}

await ensureOnlineRetailSchema(PG, SCHEMA, { fresh: true });
const counter = { statements: 0 };
const raw = createPgDb(PG, { max: 4, schema: SCHEMA });
const db = counted(raw, counter);
/** The bench's own statements (the lock held elsewhere, the row deleted, the checks), not counted. */
const other = createPgDb(PG, { max: 2, schema: SCHEMA });
const prefix = `bench_erasure_again_${randomBytes(3).toString('hex')}:`;
const store = createRedisModelStore({ url: REDIS, prefix });
const stats = new Redis(REDIS);
const config = loadConfig({ LOG_LEVEL: 'silent', SAMPLE_DATA: 'false', JOB_RUNNER: 'worker', AUTH_DISABLED: 'true' });
const services = createServices({ config, db, store });
/** Commands the server processed; the INFO that reads it counts one. */
const commands = async () => Number(/total_commands_processed:(\d+)/.exec(await stats.info('stats'))![1]);
const purchases = async (id: string) => (await other.query<{ n: number }>('SELECT count(*)::int AS n FROM purchase_events WHERE user_id = $1', [id])).rows[0].n;

/** CPU (ms), statements and Redis commands of `run`. */
async function cost(run: () => Promise<unknown>): Promise<{ cpuMs: number; statements: number; redis: number }> {
  const r0 = await commands();
  const s0 = counter.statements;
  const c0 = process.cpuUsage();
  await run();
  const c = process.cpuUsage(c0);
  const statements = counter.statements - s0;
  const redis = (await commands()) - r0 - 1;
  return { cpuMs: (c.user + c.system) / 1000, statements, redis };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const summary = (what: string, rows: { cpuMs: number; statements: number; redis: number }[]) =>
  console.log(
    `${what}: CPU median ${median(rows.map((r) => r.cpuMs)).toFixed(1)} ms (${rows.map((r) => r.cpuMs.toFixed(1)).join(', ')}), ` +
      `Postgres statements ${rows.map((r) => r.statements).join(', ')}, Redis commands ${rows.map((r) => r.redis).join(', ')}`,
  );

try {
  const trained = await services.trainer.train({ tune: false });
  console.log(`trained ${trained.version} (${trained.data.users} customers, ${trained.data.items} products)`);
  const { rows } = await other.query<{ user_id: string }>('SELECT user_id FROM purchase_events GROUP BY user_id ORDER BY count(*) DESC, user_id LIMIT $1', [count]);
  const ids = rows.map((r) => r.user_id);

  const ordinary = [];
  for (const id of ids) ordinary.push(await cost(() => services.eraseUser(id)));
  summary(`${count} ordinary DELETEs (one after another)`, ordinary);

  /** Each customer DELETEd again with its request deleted by "another turn"; `buy`: the customer bought once more first. */
  async function foundGone(buy: boolean) {
    const again = [];
    const left: number[] = [];
    for (const [n, id] of ids.entries()) {
      if (buy) await services.recordPurchases([{ userId: id, itemId: '85123A', quantity: 1, price: 2.55, orderId: `bench-again-${n}`, ts: new Date() }]);
      let erasing!: Promise<unknown>;
      let measured!: Promise<{ cpuMs: number; statements: number; redis: number }>;
      await other.transaction(async (tx) => {
        await tx.query(ERASURE_SERIAL);
        measured = cost(() => (erasing = services.eraseUser(id)));
        for (;;) {
          const { rows: asked } = await other.query('SELECT 1 FROM erasure_requests WHERE user_id = $1', [id]);
          if (asked.length > 0) break;
          await new Promise((r) => setTimeout(r, 5));
        }
        // What the other turn's commit does: its deletion of the request (this DELETE's, asked again there).
        await tx.query('DELETE FROM erasure_requests WHERE user_id = $1', [id]);
      });
      again.push(await measured);
      await erasing;
      left.push(await purchases(id));
    }
    return { again, left };
  }
  const bought = await foundGone(true);
  summary(`${count} DELETEs finding their erasure completed by another turn`, bought.again);
  console.log(`  purchases left after their 204: ${bought.left.join(', ')} (the one written between the other turn and the answer)`);
  // A client's retry while the first DELETE's turn ran: nothing written since (review r1: no second scrub).
  summary(`${count} DELETEs finding their erasure completed by another turn, nothing written since`, (await foundGone(false)).again);
  console.log(`load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${cpus().length} cores`);
} finally {
  await store.close();
  await stats.quit();
  await db.close();
  await other.close();
  await deleteRedisPrefix(REDIS, prefix);
  const admin = createPgDb(PG, { max: 1 });
  await admin.exec(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await admin.close();
}
