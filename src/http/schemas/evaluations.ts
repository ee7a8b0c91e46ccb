import { z } from 'zod';
import { cursorPagingAnswer, once, queryNumber } from './common.js';
import { experimentResults } from './experiments.js';
import { evaluationRequestSchema } from '../../evaluation/evaluation-request.js';
import { METRIC_NAMES, type MetricName } from '../../evaluation/evaluation-report.js';
import { LONGEST_WINDOW_DAYS } from '../../serving/online-metrics.js';

export const evaluationBody = evaluationRequestSchema;

const metricValues = z
  .record(z.string(), z.number().nullable())
  .describe('precision, recall, ndcg, map, hitRate (means over test users) and catalogCoverage, userCoverage, diversity, novelty, popularTop100Share (over the run); null where undefined');

const intervals = z.record(z.string(), z.object({ low: z.number(), high: z.number() }).nullable());

const reportRow = z
  .object({
    strategy: z.string().describe('A recipe (its hybrid) or a single recommender'),
    mode: z.enum(['novel', 'all']),
    k: z.number().int(),
    users: z.number().int().describe('Test users of this mode, all scored'),
    metrics: metricValues,
    lift: z.record(z.string(), z.number().nullable()).describe('Relative lift over the baseline at the same mode and k: value / baseline - 1; null when the baseline is 0'),
    liftInterval: intervals
      .optional()
      .describe(
        "Per accuracy metric (precision, recall, ndcg, map, hitRate), the 95% confidence interval of the lift, paired over the same test users (delta method for a ratio of means, on its log); null on the baseline's own row and where fewer than 10 users have a non-zero value on either side. An interval containing 0: the test users cannot tell this strategy from the baseline. One interval per row: with many rows, some exclude 0 by chance. Absent from reports made before it existed",
      ),
  })
  .meta({ id: 'EvaluationRow' });

const breakdownRow = z
  .object({
    dimension: z.enum(['history', 'segment', 'lifecycle']),
    group: z.string().describe("History bucket ('1', '2-5', '6-20', '>20' train orders) RFM segment or lifecycle stage of the train period"),
    strategy: z.string(),
    mode: z.enum(['novel', 'all']),
    k: z.number().int(),
    users: z.number().int(),
    metrics: z.record(z.string(), z.number()),
    lift: z.record(z.string(), z.number().nullable()).optional().describe("Per accuracy metric, the lift over the baseline among this group's users; null where the baseline is 0"),
    liftInterval: intervals
      .optional()
      .describe("Its 95% confidence interval, paired over this group's users, as a row's liftInterval (null on the baseline's rows and with fewer than 10 users with a non-zero value on either side)"),
  })
  .meta({ id: 'EvaluationBreakdownRow' });

export const evaluationReport = z
  .object({
    split: z.object({
      kind: z.enum(['temporal', 'leave-last-order', 'validation']),
      cutoff: z.string().nullable().describe('Start of the test period'),
      testEnd: z.string().nullable().describe('End of the test period (validation splits)'),
      trainUsers: z.number().int(),
      trainItems: z.number().int().describe('The train catalog: items bought before the test period'),
      trainEvents: z.number().int(),
      testUsers: z.record(z.string(), z.number().int()).describe('Test users per mode'),
      testPurchases: z
        .object({
          total: z.number().int().describe("The test period's purchase lines"),
          counted: z.number().int().describe('Lines of a customer and a product both bought before the test period: what the metrics see'),
          newCustomers: z.number().int().describe('Lines of customers with no purchase before the test period (left out)'),
          newItems: z.number().int().describe("Lines of known customers' products first bought in the test period (left out: not in the train catalog)"),
        })
        .optional()
        .describe('How much of the test period the protocol counts; absent in reports stored before it was kept'),
    }),
    modes: z.array(z.enum(['novel', 'all'])),
    ks: z.array(z.number().int()),
    strategies: z.array(z.string()),
    baseline: z.string().describe("The strategy every lift and interval is relative to: popularity unless the request named another"),
    rows: z.array(reportRow).describe('One row per mode x k x strategy'),
    breakdowns: z.array(breakdownRow).describe('Accuracy per history-length bucket, RFM segment and lifecycle stage'),
    relevance: z
      .enum(['product', 'group'])
      .optional()
      .describe(
        'What a hit is. `product`: a listed product the customer bought in the test period. `group` (a catalogue with product groups): a listed product of a group the customer bought any product of (a style listed in M, bought in L), each group counted once, in mode `novel` only groups the customer had bought none of before; catalog coverage counts groups. Absent in reports stored before it was kept (they count products)',
      ),
    tuning: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('Per tuned recipe: the validation windows, what tuning chose and its validation scores, or `skipped` with the reason'),
  })
  .meta({ id: 'EvaluationReport' });

export const evaluationResponse = z
  .object({
    id: z.string(),
    status: z.enum(['queued', 'running', 'succeeded', 'failed']),
    progress: z.number().min(0).max(1).describe('Share of the work done, 0..1'),
    step: z.string().nullable().describe('What the run is doing now, e.g. `fit default: als` or `score`'),
    params: z.record(z.string(), z.unknown()).describe('The request as run, defaults filled in'),
    error: z.string().nullable().describe('Why the evaluation failed'),
    createdAt: z.string(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
    report: evaluationReport.nullable().describe('The report once the evaluation succeeded'),
  })
  .meta({ id: 'Evaluation' });

const headline = z
  .object({
    mode: z.string(),
    k: z.number().int(),
    ndcg: z.record(z.string(), z.number().nullable()).describe('Strategy -> NDCG@k'),
  })
  .describe('NDCG per strategy at k = 10 (else the nearest k) in mode novel (else the first mode)');

export const evaluationList = z.object({
  reports: z.array(
    z.object({
      id: z.string().describe('The evaluation id (GET /v1/evaluations/:id)'),
      createdAt: z.string(),
      recipes: z.array(z.string()),
      request: z.record(z.string(), z.unknown()).describe('Recipes, strategies, split, modes and ks as run'),
      headline,
      durationMs: z.number().nullable(),
    }),
  ),
  total: z.number().int().describe('Stored reports in all'),
  ...cursorPagingAnswer,
});

export const onlineMetricsQuery = z.strictObject({
  days: queryNumber(z.coerce.number().int().min(1).max(LONGEST_WINDOW_DAYS).default(30)).describe(`Window: feedback of the last N days (1..${LONGEST_WINDOW_DAYS})`),
});

/** The counts and rates of one breakdown of the online report (a campaign, a model version), `of` naming it. */
const feedbackRates = (of: string) => ({
  impressions: z.number().int(),
  clicks: z.number().int(),
  addToCart: z.number().int(),
  purchases: z.number().int(),
  ctr: z.number().nullable().describe(`click events / impression events of ${of} in the window; null without impressions`),
  conversion: z.number().nullable().describe(`purchase feedback events / impression events of ${of} in the window; null without impressions`),
});

export const onlineMetricsResponse = z
  .object({
    days: z.number().int(),
    since: z.string().describe('Start of the window; feedback with ts at or after it is counted'),
    keptSince: z
      .string()
      .nullable()
      .describe(
        'Feedback dated before this (the start of a UTC day) is deleted (FEEDBACK_RETENTION_DAYS; each API process deletes it hourly), so the window holds none of it; null when the window starts after it',
      ),
    strategies: z
      .array(
        z.object({
          strategy: z.string().nullable().describe('The strategy sent with the feedback; null for feedback sent without one'),
          impressions: z.number().int(),
          clicks: z.number().int(),
          addToCart: z.number().int(),
          purchases: z.number().int().describe('Purchase feedback events (not purchase events)'),
          ctr: z.number().nullable().describe('Click-through rate: click events / impression events of the strategy in the window; null without impressions'),
          conversion: z
            .number()
            .nullable()
            .describe('Conversion: purchase feedback events / impression events of the strategy in the window; null without impressions'),
        }),
      )
      .describe('Event counts (not distinct users) per strategy, most impressions first'),
    experiments: z
      .array(experimentResults)
      .describe('Every A/B experiment, newest first: counts per arm from feedback in the window that carried its experimentId and arm'),
    campaigns: z
      .array(
        z.object({
          campaignId: z.string(),
          ...feedbackRates('the campaign'),
        }),
      )
      .describe('Per campaign (feedback sent with a campaignId, e.g. from an export), most impressions first'),
    modelVersions: z
      .array(
        z.object({
          modelVersion: z
            .string()
            .nullable()
            .describe('The model version of the lists the feedback is about; null for feedback naming no recommendationId the service signed, or a list answered before a first training'),
          ...feedbackRates('lists of this version'),
        }),
      )
      .describe(
        'Per model version, read from the signed recommendationId each event names (not from anything the client sends), most impressions first: a version against the one before it, to decide a rollback on numbers',
      ),
  })
  .meta({ id: 'OnlineMetrics' });

export const evaluationHistoryQuery = z.strictObject({
  strategy: once(z.string().min(1).max(128)).describe('A recipe (its hybrid) or a single recommender, as report rows name it'),
  metric: once(z.enum(METRIC_NAMES as [MetricName, ...MetricName[]]).default('ndcg')),
  mode: once(z.enum(['novel', 'all']).default('novel')),
  k: queryNumber(z.coerce.number().int().min(1).max(1000).default(10)),
  limit: queryNumber(z.coerce.number().int().min(1).max(500).default(100)).describe('The newest reports with such a row'),
});

export const evaluationHistoryResponse = z
  .object({
    strategy: z.string(),
    metric: z.string(),
    mode: z.enum(['novel', 'all']),
    k: z.number().int(),
    points: z
      .array(
        z.object({
          id: z.string().describe('The evaluation (GET /v1/evaluations/:id)'),
          createdAt: z.string(),
          cutoff: z.string().nullable().describe('Start of its test period'),
          users: z.number().int().describe('Test users of the row'),
          value: z.number().nullable(),
        }),
      )
      .describe('Oldest first; reports without a row for this strategy, mode and k are left out'),
  })
  .meta({ id: 'EvaluationHistory' });

export const dailyOnlineMetricsResponse = z
  .object({
    days: z.number().int(),
    since: z.string(),
    rows: z
      .array(
        z.object({
          day: z.string().describe('UTC day, YYYY-MM-DD'),
          strategy: z.string().nullable(),
          experimentId: z.string().nullable().describe('Null on a strategy row (all its feedback of the day)'),
          arm: z.string().nullable(),
          impressions: z.number().int(),
          clicks: z.number().int(),
          addToCart: z.number().int(),
          purchases: z.number().int(),
          ctr: z.number().nullable(),
          conversion: z.number().nullable(),
        }),
      )
      .describe(
        "Oldest day first; per day one row per strategy (the 20 with most impressions in the window), then one per experiment arm (all of the arm's feedback, whatever strategy each list carried: a hybrid arm's customers the model does not know get popularity lists; its strategy when it carried one, else null)",
      ),
  })
  .meta({ id: 'DailyOnlineMetrics' });
