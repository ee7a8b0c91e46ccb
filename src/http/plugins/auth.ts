import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { SCOPES, type Scope } from '../../config.js';
import { AppError } from '../../errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Scope a route needs; routes without one are public (health, metrics). */
    scope?: Scope;
  }
}

export interface AuthOptions {
  keys: { scope: Scope; key: string }[];
  disabled: boolean;
}

const digest = (s: string) => createHash('sha256').update(s).digest();
const rank = (s: Scope) => SCOPES.indexOf(s);

function presentedKey(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header === 'string' && header.startsWith('Bearer ')) return header.slice(7).trim();
  const apiKey = request.headers['x-api-key'];
  return typeof apiKey === 'string' ? apiKey : undefined;
}

/**
 * API keys with scopes (admin implies write implies read), sent as `Authorization: Bearer KEY` or
 * `X-API-Key: KEY`. Keys are compared as SHA-256 digests with timingSafeEqual: equal lengths, constant
 * time, and every configured key is checked so timing does not tell which one nearly matched.
 */
export function registerAuth(app: FastifyInstance, options: AuthOptions): void {
  const keys = options.keys.map((k) => ({ scope: k.scope, digest: digest(k.key) }));
  app.addHook('onRequest', async (request) => {
    const needed = request.routeOptions.config?.scope;
    if (!needed || options.disabled) return;
    const key = presentedKey(request);
    if (!key) throw new AppError('UNAUTHORIZED', 'An API key is required: send Authorization: Bearer <key> or X-API-Key');
    const d = digest(key);
    let granted: Scope | undefined;
    for (const k of keys) if (timingSafeEqual(k.digest, d) && (!granted || rank(k.scope) > rank(granted))) granted = k.scope;
    if (!granted) throw new AppError('UNAUTHORIZED', 'The API key is not valid');
    if (rank(granted) < rank(needed)) throw new AppError('FORBIDDEN', `This route needs the "${needed}" scope`);
  });
}
