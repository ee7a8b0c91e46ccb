import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { createTestApp } from '../../helpers/app.js';
import { createPgliteTestDb, createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';

const createDb = (await serviceAvailable(POSTGRES_URL)) ? createPostgresTestDb : createPgliteTestDb;

/**
 * A browser's Origin header is the serialised origin (WHATWG URL): scheme and host in lower case, the host
 * in punycode, no default port, no user, query or fragment. A CORS_ORIGINS entry written another way is
 * accepted at start and then never equals any Origin: every storefront call fails in the browser as a
 * network error and nothing says why. Such an entry must either be refused when the configuration is
 * loaded or match the origin it names.
 */
describe('CORS_ORIGINS entries written otherwise than a browser writes its Origin', () => {
  const sameOrigin = ['https://Shop.Example', 'https://shop.example:443', 'https://bücher.example', 'https://shop.example/'];

  it.each(sameOrigin)('When CORS_ORIGINS is %s, Then the browser on that origin may call the API', async (entry) => {
    const browserOrigin = new URL(entry).origin;
    const t = await createTestApp({ createDb, env: { CORS_ORIGINS: entry } });
    try {
      const preflight = await t.app.inject({
        method: 'OPTIONS',
        url: '/v1/popular',
        headers: { origin: browserOrigin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
      });
      expect(preflight.statusCode).toBe(204);
      expect(preflight.headers['access-control-allow-origin'], `${entry} accepted by the configuration, never matched by ${browserOrigin}`).toBe(browserOrigin);
    } finally {
      await t.dispose();
    }
  });

  it.each([
    ['https://shop.example?x=1', 'a query'],
    ['https://shop.example/store', 'a path'],
    ['https://shop.example#top', 'a fragment'],
    ['https://shop.example,https://ops:hunter22@shop.example', 'user info'],
    ['shop.example', undefined],
  ])('When CORS_ORIGINS holds %s, which names no origin, Then the configuration is refused naming the entry', (value, what) => {
    let message = '';
    try {
      loadConfig({ CORS_ORIGINS: value });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('CORS_ORIGINS');
    expect(message).toContain(what ? `it has ${what}` : '"shop.example" is not an origin');
    // User info may be a password: the message (which goes to logs) leaves it out.
    expect(message).not.toContain('hunter22');
  });
});
