import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createRecommendationIds } from '../../../src/serving/recommendation-ids.js';
import { MAX_TOKEN_CHARS, signRecommendationToken, userTag, verifyRecommendationToken } from '../../../src/serving/recommendation-token.js';

const KEY = Buffer.alloc(32, 7);
const NOW = Date.UTC(2026, 2, 1, 12, 0, 0, 500);
const WEEK = 7 * 86_400_000;
const CLAIMS = { strategy: 'hybrid', modelVersion: '2026-03-01T11:00:00.000Z', experiment: { id: 'home-2', arm: 'treatment' } };
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

describe('recommendation tokens', () => {
  it('When a token is signed and verified with the same key, Then the labels and the issue time (whole seconds) come back', () => {
    const token = signRecommendationToken(KEY, CLAIMS, NOW);
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(token.length).toBeLessThan(110);
    expect(verifyRecommendationToken(KEY, token, NOW, WEEK)).toEqual({ ...CLAIMS, issuedAt: NOW - 500 });
    const plain = signRecommendationToken(KEY, { strategy: 'popularity', modelVersion: null }, NOW);
    expect(verifyRecommendationToken(KEY, plain, NOW + 1000, WEEK)).toEqual({ strategy: 'popularity', modelVersion: null, issuedAt: NOW - 500 });
  });

  it("When a personal list's token is signed, Then it carries its customer as a tag of the key (not the id), and the labels' customer is told from another", () => {
    const token = signRecommendationToken(KEY, { ...CLAIMS, userId: '12346' }, NOW);
    const claims = verifyRecommendationToken(KEY, token, NOW, WEEK)!;
    expect(claims).toEqual({ ...CLAIMS, issuedAt: NOW - 500, userTag: userTag(KEY, '12346') });
    expect(claims.userTag).toMatch(/^[0-9a-f]{8}$/);
    expect(claims.userTag).not.toBe(userTag(KEY, '12347'));
    // Another key gives the same customer another tag: the tag is no digest anyone can compute from the id.
    expect(userTag(randomBytes(32), '12346')).not.toBe(claims.userTag);
    expect(Buffer.from(token, 'base64url').includes('12346')).toBe(false);
    const ids = createRecommendationIds({ secret: async () => KEY });
    return ids.ready().then(() => {
      const id = ids.issue(CLAIMS, { userId: '12346', now: NOW });
      const similar = ids.issue({ strategy: 'similar', modelVersion: 'v1' }, { now: NOW });
      const batch = ids.claimsOf([id, similar, 'not-a-token'], NOW);
      expect(batch.servedLabels(id, '12346')).toEqual({ strategy: 'hybrid', experiment: CLAIMS.experiment, own: true });
      // The customer's own list says when it was made, however long ago (an erasure after it keeps its feedback
      // erased); another customer's feedback on it, or a list of no customer, names no such time.
      expect(ids.claimsOf([id], NOW + 30 * WEEK).personalSince(id, '12346')).toBe(NOW - 500);
      expect(batch.personalSince(id, '99999')).toBeNull();
      expect(batch.personalSince(similar, '12346')).toBeNull();
      // Another customer's feedback on it keeps the strategy, not the arm.
      expect(batch.servedLabels(id, '99999')).toEqual({ strategy: 'hybrid', own: false });
      // A list of no customer (an item's similar items) has no customer to hold feedback to.
      expect(batch.servedLabels(similar, '99999')).toEqual({ strategy: 'similar', own: true });
      expect(batch.servedLabels('not-a-token', '12346')).toBeNull();
    });
  });

  it('When the same answer is signed many times in one second, Then no two tokens are alike', () => {
    const tokens = new Set(Array.from({ length: 20_000 }, () => signRecommendationToken(KEY, CLAIMS, NOW)));
    expect(tokens.size).toBe(20_000);
  });

  it('When any one character of a token is changed, or one is added or removed, Then it does not verify', () => {
    const token = signRecommendationToken(KEY, CLAIMS, NOW);
    for (let at = 0; at < token.length; at++) {
      for (const c of [ALPHABET[(ALPHABET.indexOf(token[at]) + 1) % 64], ALPHABET[(ALPHABET.indexOf(token[at]) + 63) % 64], '=', '.']) {
        expect(verifyRecommendationToken(KEY, token.slice(0, at) + c + token.slice(at + 1), NOW, WEEK), `${at}: ${c}`).toBeNull();
      }
    }
    expect(verifyRecommendationToken(KEY, token + 'A', NOW, WEEK)).toBeNull();
    expect(verifyRecommendationToken(KEY, token.slice(0, -1), NOW, WEEK)).toBeNull();
  });

  it('When a token of another key, a UUID, an empty or an overlong string is verified, Then none verifies', () => {
    expect(verifyRecommendationToken(randomBytes(32), signRecommendationToken(KEY, CLAIMS, NOW), NOW, WEEK)).toBeNull();
    for (const s of [randomUUID(), '', 'x', 'A'.repeat(MAX_TOKEN_CHARS + 4)]) expect(verifyRecommendationToken(KEY, s, NOW, WEEK)).toBeNull();
  });

  it('When a token is older than the limit, or issued well after the verifier\'s clock, Then it does not verify; a little after does (replicas\' clocks)', () => {
    const token = signRecommendationToken(KEY, CLAIMS, NOW);
    expect(verifyRecommendationToken(KEY, token, NOW + WEEK - 1000, WEEK)).not.toBeNull();
    expect(verifyRecommendationToken(KEY, token, NOW + WEEK + 1000, WEEK)).toBeNull();
    expect(verifyRecommendationToken(KEY, token, NOW - 60_000, WEEK)).not.toBeNull();
    expect(verifyRecommendationToken(KEY, token, NOW - 3_600_000, WEEK)).toBeNull();
  });

  it('When labels are as long as the service allows, Then the token stays within the feedback limit, leaving out the model version, then the strategy, never the experiment', () => {
    const longest = { strategy: 's'.repeat(64), modelVersion: 'v'.repeat(128), experiment: { id: 'e'.repeat(64), arm: 'a'.repeat(64) }, userId: 'u1' };
    const token = signRecommendationToken(KEY, longest, NOW);
    expect(token.length).toBeLessThanOrEqual(MAX_TOKEN_CHARS);
    expect(verifyRecommendationToken(KEY, token, NOW, WEEK)).toMatchObject({ strategy: null, modelVersion: null, experiment: longest.experiment });
    // Beside the longest experiment names, a strategy of 28 characters fits; one of 29 (a recipe's source
    // name may be that long) gives way to the experiment, which feedback needs more.
    const fits = signRecommendationToken(KEY, { ...longest, strategy: 's'.repeat(28), modelVersion: null }, NOW);
    expect(verifyRecommendationToken(KEY, fits, NOW, WEEK)).toMatchObject({ strategy: 's'.repeat(28), experiment: longest.experiment });
    const over = signRecommendationToken(KEY, { ...longest, strategy: 's'.repeat(29), modelVersion: null }, NOW);
    expect(verifyRecommendationToken(KEY, over, NOW, WEEK)).toMatchObject({ strategy: null, experiment: longest.experiment });
    const longVersion = signRecommendationToken(KEY, { ...CLAIMS, modelVersion: 'v'.repeat(128), experiment: { id: 'e'.repeat(40), arm: 'a'.repeat(40) } }, NOW);
    expect(verifyRecommendationToken(KEY, longVersion, NOW, WEEK)).toMatchObject({ modelVersion: null, experiment: { id: 'e'.repeat(40), arm: 'a'.repeat(40) } });
    expect(verifyRecommendationToken(KEY, signRecommendationToken(KEY, { strategy: 'x'.repeat(65), modelVersion: null }, NOW), NOW, WEEK)).toMatchObject({ strategy: null });
  });
});

describe('recommendation ids', () => {
  it('When the key is read, Then ids are tokens the same key verifies in another holder (another replica)', async () => {
    const a = createRecommendationIds({ secret: async () => KEY });
    const b = createRecommendationIds({ secret: async () => Buffer.from(KEY) });
    expect(await a.ready()).toBe(true);
    await b.ready();
    const id = a.issue({ strategy: 'als', modelVersion: 'v1', experiment: { id: 'x', arm: 'b' } });
    expect(b.verify(id)).toMatchObject({ strategy: 'als', experiment: { id: 'x', arm: 'b' } });
    expect(b.verify(null)).toBeNull();
  });

  it('When the key cannot be read, Then answers get random UUIDs that verify nowhere, and the read is not retried on every answer', async () => {
    let reads = 0;
    const ids = createRecommendationIds({
      secret: async () => {
        reads++;
        throw new Error('database down');
      },
    });
    expect(await ids.ready()).toBe(false);
    expect(await ids.ready()).toBe(false);
    expect(reads).toBe(1);
    expect(ids.signing()).toBe(false);
    const id = ids.issue({ strategy: 'hybrid', modelVersion: 'v1' });
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(ids.verify(id)).toBeNull();
  });
});
