/**
 * What three per-request steps of the app-wide hooks cost (thirty-eighth session):
 * - telling a request's route by the route the router matched (`request.routeOptions.url`, which Fastify
 *   builds anew on every access) instead of by the request target (`request.url.startsWith(...)`, which an
 *   absolute-form or percent-encoded target escapes): the security headers' Cache-Control and the rate
 *   limiter's allow-list read it once each per request;
 * - the client's network for per-IP budgets (`clientNetwork`: an IPv6 address's /64), once per request
 *   with a frontend key when RATE_LIMIT_FRONTEND_PER_IP_PER_MINUTE is set, and per request without a key;
 * - the request line's URL with credential-like query parameters redacted (`loggableUrl`), per answered
 *   request when info lines are written.
 *
 *   npx tsx bench/request-hooks.ts [--n 2000000]
 *
 * Pure CPU, in process: a real Fastify request object, captured from one injected request.
 */
import { cpus, loadavg } from 'node:os';
import Fastify, { type FastifyRequest } from 'fastify';
import { clientNetwork } from '../src/http/plugins/client-network.js';
import { loggableUrl } from '../src/http/plugins/request-log.js';
import { optionTaker } from './lib/online-retail.js';

const option = optionTaker(process.argv.slice(2));
const n = Number(option('--n') ?? 2_000_000);

const app = Fastify();
let captured: FastifyRequest | undefined;
app.addHook('onRequest', (request, _reply, done) => {
  captured = request;
  done();
});
app.get('/v1/users/:id/recommendations', async () => ({ ok: true }));
await app.inject({ url: '/v1/users/u1/recommendations?k=10' });
const request = captured!;

/** Best of five runs of `n` reads: ns per read. */
function time(read: () => boolean): number {
  let best = Infinity;
  let sink = 0;
  for (let run = 0; run < 5; run++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) if (read()) sink++;
    best = Math.min(best, performance.now() - t0);
  }
  if (sink < 0) console.log(sink);
  return (best * 1e6) / n;
}

const byRoute = time(() => request.routeOptions.url?.startsWith('/v1/') ?? false);
const byTarget = time(() => request.url.startsWith('/v1/'));
console.log(`${cpus().length} cores, load average ${loadavg()[0].toFixed(1)}; ${n.toLocaleString('en-US')} reads, best of 5`);
console.log(`request.routeOptions.url: ${byRoute.toFixed(1)} ns per read`);
console.log(`request.url.startsWith:   ${byTarget.toFixed(1)} ns per read`);
console.log(`two reads per request (security headers, rate-limit allow-list): +${((2 * (byRoute - byTarget)) / 1000).toFixed(3)} µs per request`);
const v4 = time(() => clientNetwork('203.0.113.7').length > 0);
const v6 = time(() => clientNetwork('2001:db8:aa:1::7').length > 0);
console.log(`clientNetwork: IPv4 ${v4.toFixed(1)} ns, IPv6 ${v6.toFixed(1)} ns per call`);
// The request line's URL with credential-like parameters redacted: paid only when info lines are written.
const logged = time(() => loggableUrl('/v1/users/12350/recommendations?k=10&strategy=hybrid').length > 0);
console.log(`loggableUrl of a two-parameter query: ${logged.toFixed(1)} ns per call`);
await app.close();
