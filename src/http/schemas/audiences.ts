import { z } from 'zod';
import { LIFECYCLE_STAGES, RFM_SEGMENTS } from '../../profiles/segments.js';
import { id, once, queryFlag, queryNumber } from './common.js';

/** Most customers in one audience answer; larger lists are a campaign export (POST /v1/exports). */
export const MAX_AUDIENCE_K = 1000;

const filters = {
  segment: z.enum(RFM_SEGMENTS).optional().describe('Only customers of this RFM segment (active model\'s profiles)'),
  lifecycle: z.enum(LIFECYCLE_STAGES).optional().describe('Only customers at this lifecycle stage'),
  recentDays: queryNumber(z.coerce.number().int().min(0).max(3650)).optional().describe('Buyers of the product within this many days of the training data\'s end are left out (default 90)'),
};

export const audienceQuery = z.strictObject({
  k: queryNumber(z.coerce.number().int().min(1).max(MAX_AUDIENCE_K).default(100)).describe(`How many customers (1..${MAX_AUDIENCE_K})`),
  ...filters,
  // In the query, given once (the body's are single values by its JSON).
  segment: once(z.enum(RFM_SEGMENTS)).optional().describe(filters.segment.description ?? ''),
  lifecycle: once(z.enum(LIFECYCLE_STAGES)).optional().describe(filters.lifecycle.description ?? ''),
  includeRecentBuyers: queryFlag.optional().describe('Keep customers who bought the product recently (default false)'),
});

export const audienceBody = z
  .strictObject({
    itemIds: z.array(id).min(1).max(500).optional().describe('The products of the campaign'),
    category: z.string().min(1).max(200).optional().describe('Every product of this category or below it (`Kitchen` takes `Kitchen/Mugs` and `Kitchen > Pans`; case ignored)'),
    k: z.int().min(1).max(MAX_AUDIENCE_K).default(100),
    ...filters,
    recentDays: z.int().min(0).max(3650).optional().describe('Buyers of the products within this many days of the training data\'s end are left out (default 90)'),
    includeRecentBuyers: z.boolean().optional(),
  })
  .refine((b) => (b.itemIds === undefined) !== (b.category === undefined), { message: 'give either itemIds or category', path: ['itemIds'] });

export const audienceResponse = z
  .object({
    modelVersion: z.string(),
    itemIds: z.array(z.string()).describe('The products the audience is for'),
    k: z.int(),
    fallback: z
      .boolean()
      .describe('True when the model store no longer holds some members\' entries (keys evicted, a shard restarted empty; a new training brings them back): they are ranked as usual, but their reason names only the model ("scored by the hybrid model")'),
    users: z
      .array(
        z.object({
          userId: z.string(),
          score: z.number().describe('Higher = more likely to buy; comparable within one answer only'),
          tier: z.enum(['candidate', 'related']).describe('`candidate`: the models scored the product for this customer; `related`: they bought a related product'),
          reason: z.string().describe('e.g. "bought WHITE HANGING HEART T-LIGHT HOLDER"'),
          itemId: z.string().describe('The product (of itemIds) this customer scored best on'),
        }),
      )
      .describe('Best first'),
  })
  .meta({ id: 'Audience' });
