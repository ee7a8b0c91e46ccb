import { describe, expect, it } from 'vitest';
import { buildApp } from '../../../src/app.js';
import { loadConfig } from '../../../src/config.js';
import { createServices } from '../../../src/services.js';
import { createMemoryModelStore } from '../../../src/store/memory-model-store.js';
import { KEYS } from '../../helpers/app.js';
import { createPgliteTestDb, createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';

const createDb = (await serviceAvailable(POSTGRES_URL)) ? createPostgresTestDb : createPgliteTestDb;

/**
 * README: "a key in the URL is not read, and credential-like query parameters (api_key, key, token, ...)
 * are logged as [redacted]". The API's own header names are what a client most likely puts in a URL when
 * it cannot set headers (a link, an image, a beacon): `X-API-Key` and `X-User-Token`.
 */
describe('credentials in the URL are not written to the log', () => {
  it("When a client puts its key in the URL under the API's own header name (x-api-key), Then the logged URL has it redacted", async () => {
    const lines: Record<string, unknown>[] = [];
    const config = loadConfig({ API_KEYS: `read:${KEYS.read}`, SAMPLE_DATA: 'false', UNDER_PRESSURE_MAX_EVENT_LOOP_DELAY_MS: '0' });
    const db = await createDb();
    const store = await createMemoryModelStore({});
    const app = await buildApp(createServices({ config, db: db.db, store }), {
      logger: { level: 'info', stream: { write: (line) => void lines.push(JSON.parse(line)) } },
    });
    try {
      await app.ready();
      lines.length = 0;
      await app.inject({ url: `/v1/popular?k=3&x-api-key=${KEYS.read}`, headers: { 'x-request-id': 'header-name' } });
      await app.inject({ url: `/v1/popular?X-API-Key=${KEYS.read}&k=3`, headers: { 'x-request-id': 'header-name-cased' } });
      await app.inject({ url: `/v1/popular?x_api_key=${KEYS.read}`, headers: { 'x-request-id': 'underscores' } });
      // Any name ending in key/token/secret/password, read as the query parser reads it (percent-decoded).
      await app.inject({ url: `/v1/popular?x%2Dapi%2Dkey=${KEYS.read}&client_secret=s3&k=3`, headers: { 'x-request-id': 'encoded' } });
      const logged = lines.filter((l) => l.msg === 'request').map((l) => l.url);
      expect(logged).toEqual([
        '/v1/popular?k=3&x-api-key=[redacted]',
        '/v1/popular?X-API-Key=[redacted]&k=3',
        '/v1/popular?x_api_key=[redacted]',
        '/v1/popular?x%2Dapi%2Dkey=[redacted]&client_secret=[redacted]&k=3',
      ]);
      expect(JSON.stringify(lines)).not.toContain(KEYS.read);
    } finally {
      await app.close();
      await store.close();
      await db.dispose();
    }
  });
});
