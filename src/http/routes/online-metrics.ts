import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { OnlineMetrics } from '../../serving/online-metrics.js';
import { errors } from '../schemas/common.js';
import { dailyOnlineMetricsResponse, onlineMetricsQuery, onlineMetricsResponse } from '../schemas/evaluations.js';

export function onlineMetricRoutes(app: FastifyInstance, deps: { onlineMetrics: OnlineMetrics }) {
  const r = app.withTypeProvider<ZodTypeProvider>();

  // Reports over up to a year of feedback: a long window reads every row of it (over 10 s for ten million
  // rows, bench/README "Online metrics"), so they get the long statement limit of admin work.
  r.get('/v1/metrics/online', {
    config: { scope: 'admin', longStatements: true },
    schema: {
      operationId: 'getOnlineMetrics',
      tags: ['evaluation'],
      summary: 'Impressions, clicks, add-to-carts, purchases, CTR and conversion per strategy from feedback events',
      querystring: onlineMetricsQuery,
      response: { 200: onlineMetricsResponse, ...errors(400, 401, 403) },
    },
    handler: async (req) => deps.onlineMetrics.report(req.query.days),
  });

  r.get('/v1/metrics/online/daily', {
    config: { scope: 'admin', longStatements: true },
    schema: {
      operationId: 'getDailyOnlineMetrics',
      tags: ['evaluation'],
      summary: 'CTR and conversion per UTC day, per strategy and per experiment arm, from feedback events',
      querystring: onlineMetricsQuery,
      response: { 200: dailyOnlineMetricsResponse, ...errors(400, 401, 403) },
    },
    handler: async (req) => deps.onlineMetrics.daily(req.query.days),
  });
}
