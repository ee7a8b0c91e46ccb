import { randomBytes } from 'node:crypto';
import type { Db } from './db.js';

/** The name of the key recommendationIds are signed with (src/serving/recommendation-token.ts). */
export const RECOMMENDATION_ID_SECRET = 'recommendation-id';

/** Bytes of a secret made here (HMAC-SHA256 keys: its block size is 64, its output 32). */
const SECRET_BYTES = 32;

/**
 * The secret named `name` (service_secrets), made the first time any process asks: every replica on the
 * database reads the same one. Two processes asking at once both try to insert; the insert of the one that
 * comes second does nothing, and both read the row that won (the read is a statement of its own, so it
 * sees the other's committed insert).
 */
export async function readOrCreateSecret(db: Pick<Db, 'query'>, name: string): Promise<Buffer> {
  await db.query('INSERT INTO service_secrets (name, secret) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [name, randomBytes(SECRET_BYTES).toString('base64')]);
  const { rows } = await db.query<{ secret: string }>('SELECT secret FROM service_secrets WHERE name = $1', [name]);
  if (rows.length === 0) throw new Error(`the secret "${name}" could not be stored`);
  return Buffer.from(rows[0].secret, 'base64');
}

/** The secret named `name` when a process has made it; null when none has (never made here). */
export async function readSecret(db: Pick<Db, 'query'>, name: string): Promise<Buffer | null> {
  const { rows } = await db.query<{ secret: string }>('SELECT secret FROM service_secrets WHERE name = $1', [name]);
  return rows.length === 0 ? null : Buffer.from(rows[0].secret, 'base64');
}
