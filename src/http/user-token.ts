import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';

/** The header a browser sends a customer's token in. */
export const USER_TOKEN_HEADER = 'x-user-token';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The route reads the customer's X-User-Token (disclosesTo): the API description lists the header
     * (docs.ts). It is not validated per request, since a wrong token is the same as none.
     */
    userToken?: boolean;
  }
}

/** A customer's token: HMAC-SHA256 of the id under FRONTEND_USER_SECRET, hex (what the shop's backend computes). */
function userToken(secret: string, userId: string): string {
  return createHmac('sha256', secret).update(userId, 'utf8').digest('hex');
}

/**
 * Whether this request may see what is personal about `userId` (purchases named in explanations, their
 * own items listed, their segment): any key above `frontend` (a backend), no key check at all
 * (AUTH_DISABLED), or a `frontend` key (a browser: public) with the customer's valid token, which the
 * shop's backend signs for the customer it logged in. Without FRONTEND_USER_SECRET no token is valid.
 */
export function disclosesTo(request: FastifyRequest, userId: string | undefined, secret: string | undefined): boolean {
  if (request.apiScope !== 'frontend') return true;
  const sent = request.headers[USER_TOKEN_HEADER];
  if (!secret || userId === undefined || typeof sent !== 'string') return false;
  const want = Buffer.from(userToken(secret, userId));
  const got = Buffer.from(sent.trim().toLowerCase());
  return got.length === want.length && timingSafeEqual(got, want);
}

/** Refuses, for a reader who may not see the customer's purchases, a query that would list them. */
export function refuseOwnItems(what: string, field: string): never {
  throw new AppError('FORBIDDEN', `${what} lists the customer's own purchases: a frontend key needs the customer's ${USER_TOKEN_HEADER} (see README, "Scopes")`, [
    { path: field, message: `needs ${USER_TOKEN_HEADER}` },
  ]);
}

