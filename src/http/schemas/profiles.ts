import { z } from 'zod';
import { LIFECYCLE_STAGES, RFM_SEGMENTS, VALUE_TIERS } from '../../profiles/segments.js';
import { keysetPagingOf, keysetQuery, nextPageCursor, once, queryNumber } from './common.js';

const label = z.object({ label: z.string(), weight: z.number() });

/** Where the data team reads the rules: the README, not the source. */
const DEFINED = '(rules and thresholds: README, section "Profiles and segments")';

export const profileResponse = z
  .object({
    userId: z.string(),
    modelVersion: z.string(),
    source: z.enum(['model', 'refreshed']).describe('`refreshed`: recomputed from purchases recorded after the training'),
    asOf: z.string().describe('Reference date of recency: the latest purchase known when the profile was computed'),
    recencyDays: z.number().int(),
    tenureDays: z.number().int(),
    frequency: z.number().int().describe('Distinct orders'),
    monetary: z.number().describe('Sum of quantity x unit price, to the cent, gross of returns'),
    rScore: z.number().int().min(1).max(5),
    fScore: z.number().int().min(1).max(5),
    mScore: z.number().int().min(1).max(5),
    segment: z.enum(RFM_SEGMENTS).describe(`RFM segment ${DEFINED}`),
    lifecycle: z.enum(LIFECYCLE_STAGES).describe(`Lifecycle stage ${DEFINED}`),
    valueTier: z.enum(VALUE_TIERS).describe(`Value tier by spend ${DEFINED}`),
    avgBasketSize: z.number(),
    avgBasketLines: z.number(),
    avgBasketValue: z.number(),
    priceSensitivity: z.number().nullable().describe('Mean of price paid / the item\'s mean price; < 1 pays less than usual. As trained: a refresh keeps it, and a customer new since the training has null'),
    meanIntervalDays: z.number().nullable(),
    firstOrder: z.string(),
    lastOrder: z.string(),
    topTerms: z.array(label),
    topCategories: z.array(label),
  })
  .meta({ id: 'CustomerProfile' });

const group = z.object({
  name: z.string(),
  users: z.number().int(),
  userShare: z.number(),
  revenue: z.number(),
  revenueShare: z.number(),
  meanR: z.number().nullable(),
  meanF: z.number().nullable(),
  meanM: z.number().nullable(),
});

export const segmentsResponse = z.object({
  modelVersion: z.string(),
  asOf: z.string(),
  users: z.number().int(),
  revenue: z.number(),
  scores: z
    .object({ r: z.array(z.number().int()).length(5), f: z.array(z.number().int()).length(5), m: z.array(z.number().int()).length(5) })
    .describe('RFM distribution: customers per R, F and M score (index 0 = score 1 ... index 4 = score 5)'),
  segments: z.array(group).describe(`RFM segments ${DEFINED}`),
  lifecycle: z.array(group).describe(`Lifecycle stages ${DEFINED}`),
  valueTiers: z.array(group).describe(`Value tiers ${DEFINED}`),
});

export const segmentParams = z.strictObject({ name: z.string().min(1).max(64) });

export const segmentUsersQuery = keysetQuery({
  dimension: once(z.enum(['segment', 'lifecycle', 'valueTier']).default('segment')),
  ...keysetPagingOf(100, 1000),
});

export const segmentUsersResponse = z.object({
  modelVersion: z.string(),
  dimension: z.enum(['segment', 'lifecycle', 'valueTier']),
  name: z.string(),
  total: z.number().int(),
  users: z.array(profileResponse.omit({ modelVersion: true, source: true, asOf: true })),
  nextCursor: nextPageCursor.describe(
    'Pass as `cursor` (with the same `dimension`) for the next page; null on the last. The members are those of `modelVersion`: after a training or rollback, the cursor is refused (409) and the list starts again',
  ),
});

export const lifecycleHistoryQuery = z.strictObject({
  months: queryNumber(z.coerce.number().int().min(1).max(120).default(12)).describe('How many months, up to the latest purchase'),
});

export const lifecycleHistoryResponse = z
  .object({
    points: z
      .array(
        z.object({
          asOf: z.string().describe('Reference day: the last day of a month, or the latest purchase\'s day for the last point'),
          counts: z.object(Object.fromEntries(LIFECYCLE_STAGES.map((s) => [s, z.number().int()])) as Record<(typeof LIFECYCLE_STAGES)[number], z.ZodNumber>),
        }),
      )
      .describe('Oldest first; each customer who had bought by the day, staged from the purchases up to it (no months before the first purchase)'),
  })
  .meta({ id: 'LifecycleHistory' });
