import { loadConfig } from '../../src/config.js';
import { createPgDb } from '../../src/data/db.js';
import { migrate } from '../../src/data/migrate.js';
import { ensureOnlineRetailSchema } from './bench-schema.js';

/**
 * What bench/model-copy.ts and bench/model-copy-compression.ts share: their command line (`--copies N`, `--shop`,
 * `--no-tune`), the data (Online Retail, N re-keyed copies of it, or a shop already imported in DATABASE_URL's own
 * tables, precomputed as `npm run train` does) and the service's configuration with MODEL_COPIES on.
 */
export async function openModelCopyBench(args: string[]) {
  const copiesAt = args.indexOf('--copies');
  const copies = copiesAt >= 0 ? Number(args[copiesAt + 1]) : 1;
  const shop = args.includes('--shop');
  const tune = args.includes('--no-tune') ? false : undefined;
  const PG = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const REDIS = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const SCHEMA = copies > 1 ? `bench_model_copy_online_retail_${copies}x` : 'bench_model_copy_online_retail';
  if (!shop) await ensureOnlineRetailSchema(PG, SCHEMA, { copies });
  const db = createPgDb(PG, shop ? { max: 4 } : { max: 4, schema: SCHEMA });
  if (shop) await migrate(db);
  const config = loadConfig({
    DATABASE_URL: PG, REDIS_URL: REDIS, SAMPLE_DATA: 'false', LOG_LEVEL: 'silent', MODEL_COPIES: 'true', ERASURE_REFRESH_MS: '600000',
    ...(shop ? {} : { PRECOMPUTE_DAYS: '36500' }),
  });
  return { db, config, tune, REDIS };
}
