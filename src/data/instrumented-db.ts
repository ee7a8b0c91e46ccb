import type { Counter, Histogram } from 'prom-client';
import type { Db } from './db.js';
import { timedOutStatement } from './query-timeout.js';

export interface DbInstruments {
  duration: Histogram<'statement'>;
  errors: Counter<'statement'>;
  /** Failures that were a statement given up at its limit, ours or the server's (query-timeout.ts). */
  timeouts?: Counter<'statement'>;
}

const STATEMENTS = ['select', 'insert', 'update', 'delete', 'other', 'transaction'] as const;

/** The kind of a statement from its first keyword (`WITH` counts as select): a fixed label set, never the SQL. */
function statementOf(sql: string): (typeof STATEMENTS)[number] {
  const word = /^\s*(\w+)/.exec(sql)?.[1]?.toLowerCase();
  if (word === 'select' || word === 'with') return 'select';
  return word === 'insert' || word === 'update' || word === 'delete' ? word : 'other';
}

/**
 * The same database with every call's latency observed in `recsvc_db_query_duration_seconds` and every
 * failure counted in `recsvc_db_errors_total` (and in `recsvc_db_timeouts_total` when it was a statement
 * given up at its limit, or cancelled by Postgres itself: statement_timeout, lock_timeout), by kind of statement. Statements inside a transaction
 * are timed one by one, and the whole transaction once more as `transaction`.
 */
export function instrumentDb(db: Db, m: DbInstruments): Db {
  for (const statement of STATEMENTS) {
    m.duration.zero({ statement });
    m.errors.inc({ statement }, 0);
    m.timeouts?.inc({ statement }, 0);
  }
  const count = (statement: string, err: unknown) => {
    m.errors.inc({ statement });
    if (timedOutStatement(err)) m.timeouts?.inc({ statement });
  };
  async function timed<T>(statement: string, run: () => Promise<T>): Promise<T> {
    const end = m.duration.startTimer({ statement });
    try {
      return await run();
    } catch (err) {
      count(statement, err);
      throw err;
    } finally {
      end();
    }
  }
  const wrap = (inner: Db): Db => ({
    kind: inner.kind,
    query: <T,>(sql: string, params?: unknown[]) => timed(statementOf(sql), () => inner.query<T>(sql, params)),
    exec: (sql) => timed('other', () => inner.exec(sql)),
    // A stream's batches are read over seconds (training's purchase cursor): timed as a whole would say
    // nothing per statement, so only its failures are counted.
    stream: async function* <T>(sql: string, params?: unknown[], batchSize?: number) {
      try {
        yield* inner.stream<T>(sql, params, batchSize);
      } catch (err) {
        count(statementOf(sql), err);
        throw err;
      }
    },
    transaction: (fn) => timed('transaction', () => inner.transaction((tx) => fn(wrap(tx)))),
    close: () => inner.close(),
  });
  return wrap(db);
}
