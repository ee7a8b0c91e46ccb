/**
 * The recommendationId of an answer: an opaque token the service signs, carrying what feedback labels need
 * (the answer's strategy, its experiment and arm, the model version) and when it was issued, so feedback
 * sent with the public frontend key is labelled only with lists the service really served.
 *
 * Layout (base64url, no padding): payload || HMAC-SHA256(key, payload)[0..16), payload =
 *   format (1 byte) | issued at (uint32, seconds since 1970) | nonce (6 random bytes) |
 *   strategy | model version | experiment id | arm   (each: 1 length byte, then UTF-8) |
 *   customer tag (1 length byte, then 0 or USER_TAG_BYTES bytes)
 * An empty model version is null; an empty experiment id is no experiment; an empty strategy is none (a
 * strategy too long to carry). The customer tag names the customer a personal list was made for, as
 * HMAC-SHA256(key, "user:" + id)[0..4), so the token does not show the id and feedback on the list can be
 * held to that customer (userTag); lists of no customer carry none. A typical token is ~100 characters. The nonce and the time keep every
 * answer's id unique (2^48 nonces a second). Pure: no IO (the key comes from secret-repository.ts).
 */
import { createHmac, randomFillSync, timingSafeEqual } from 'node:crypto';
import { INPUT_LIMITS } from '../data/input-limits.js';

export interface TokenClaims {
  /** The answer's strategy; null when it was too long to carry. */
  strategy: string | null;
  modelVersion: string | null;
  experiment?: { id: string; arm: string };
  /** When the answer was issued: ms since 1970, whole seconds. */
  issuedAt: number;
  /** The tag (userTag) of the customer the list was made for; absent on a list made for no customer. */
  userTag?: string;
}

/** What an answer's token is signed from: its labels and, for a personal list, its customer's id. */
export type TokenLabels = Omit<TokenClaims, 'issuedAt' | 'userTag'> & { userId?: string };

/** The layout below; 1 had no customer tag (never released). */
const FORMAT = 2;
const NONCE_BYTES = 6;
const MAC_BYTES = 16;
const HEAD_BYTES = 1 + 4 + NONCE_BYTES;
const USER_TAG_BYTES = 4;
/** The feedback schema's limit for recommendationId (an id: INPUT_LIMITS.idLength characters). */
export const MAX_TOKEN_CHARS = INPUT_LIMITS.idLength;
/** Bytes whose base64url fits MAX_TOKEN_CHARS. */
const MAX_TOKEN_BYTES = Math.floor((MAX_TOKEN_CHARS * 3) / 4);
/** A strategy label of feedback is at most 64 characters (schemas/events.ts): a longer one is never a label. */
const MAX_STRATEGY_BYTES = 64;
/** A token issued later than this after the verifier's clock is refused (replicas' clocks differ a little). */
const MAX_CLOCK_AHEAD_MS = 5 * 60_000;

// Nonces from a pool refilled in one call: randomFillSync per answer costs a system call each time.
const pool = Buffer.alloc(NONCE_BYTES * 1024);
let poolAt = pool.length;
function nonceInto(out: Buffer, at: number): void {
  if (poolAt + NONCE_BYTES > pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  pool.copy(out, at, poolAt, poolAt + NONCE_BYTES);
  poolAt += NONCE_BYTES;
}

const mac = (key: Buffer, payload: Buffer) => createHmac('sha256', key).update(payload).digest().subarray(0, MAC_BYTES);

/**
 * The tag a token carries of the customer `userId` (hex): four bytes of a MAC under the key, so it tells
 * nothing of the id to whoever reads the token, and one customer's list does not pass for another's but
 * once in four billion.
 */
export const userTag = (key: Buffer, userId: string): string => createHmac('sha256', key).update(`user:${userId}`).digest().subarray(0, USER_TAG_BYTES).toString('hex');

/**
 * A new token for an answer issued at `now` (ms). Labels that would make it longer than MAX_TOKEN_CHARS are
 * left out, the least needed first: the model version (no feedback label), then the strategy (feedback then
 * keeps the strategy it sends when the service may have served it), then the experiment, which never comes
 * to that: its id and arm are at most 64 characters each and fit beside the rest. A strategy longer than a
 * feedback label may be is carried as none.
 */
export function signRecommendationToken(key: Buffer, claims: TokenLabels, now: number): string {
  const strategy = Buffer.from(claims.strategy ?? '', 'utf8');
  const fields = [
    strategy.length <= MAX_STRATEGY_BYTES ? strategy : Buffer.alloc(0),
    Buffer.from(claims.modelVersion ?? '', 'utf8'),
    Buffer.from(claims.experiment?.id ?? '', 'utf8'),
    Buffer.from(claims.experiment?.arm ?? '', 'utf8'),
  ];
  const tag = claims.userId === undefined ? Buffer.alloc(0) : Buffer.from(userTag(key, claims.userId), 'hex');
  const size = () => HEAD_BYTES + fields.reduce((n, f) => n + 1 + f.length, 0) + 1 + tag.length + MAC_BYTES;
  for (const drop of [[1], [0], [2, 3]]) if (size() > MAX_TOKEN_BYTES || fields.some((f) => f.length > 255)) for (const i of drop) fields[i] = Buffer.alloc(0);
  const payload = Buffer.allocUnsafe(size() - MAC_BYTES);
  payload[0] = FORMAT;
  payload.writeUInt32BE(Math.floor(now / 1000) >>> 0, 1);
  nonceInto(payload, 5);
  let at = HEAD_BYTES;
  for (const f of [...fields, tag]) {
    payload[at++] = f.length;
    at += f.copy(payload, at);
  }
  return Buffer.concat([payload, mac(key, payload)]).toString('base64url');
}

/**
 * The claims of a token this key signed, issued at most `maxAgeMs` before `now` (and not later than a few
 * minutes after it); null for anything else: a UUID, a token of another key, one changed by a single
 * character, one too old.
 */
export function verifyRecommendationToken(key: Buffer, token: string, now: number, maxAgeMs: number): TokenClaims | null {
  if (token.length > MAX_TOKEN_CHARS || token.length < Math.ceil(((HEAD_BYTES + 4 + MAC_BYTES) * 4) / 3)) return null;
  const bytes = Buffer.from(token, 'base64url');
  // The decoder skips characters outside the alphabet and ignores a last character's spare bits: only the
  // one spelling of these bytes is theirs, so no changed character verifies.
  if (bytes.toString('base64url') !== token || bytes[0] !== FORMAT) return null;
  const payload = bytes.subarray(0, bytes.length - MAC_BYTES);
  if (!timingSafeEqual(mac(key, payload), bytes.subarray(bytes.length - MAC_BYTES))) return null;
  const issuedAt = payload.readUInt32BE(1) * 1000;
  if (issuedAt < now - maxAgeMs || issuedAt > now + MAX_CLOCK_AHEAD_MS) return null;
  const fields: string[] = [];
  let at = HEAD_BYTES;
  for (let i = 0; i < 5; i++) {
    const n = payload[at++];
    // Signed by this key, so well formed; checked all the same.
    if (n === undefined || at + n > payload.length) return null;
    fields.push(payload.toString(i === 4 ? 'hex' : 'utf8', at, at + n));
    at += n;
  }
  const [strategy, modelVersion, experimentId, arm, tag] = fields;
  return {
    strategy: strategy || null,
    modelVersion: modelVersion || null,
    ...(experimentId ? { experiment: { id: experimentId, arm } } : {}),
    issuedAt,
    ...(tag ? { userTag: tag } : {}),
  };
}
