import { z } from 'zod';
import { LIFECYCLE_STAGES, RFM_SEGMENTS } from '../profiles/segments.js';

/** Most items per customer in a recommendations export (as GET /v1/users/:id/recommendations). */
export const MAX_EXPORT_ITEMS = 100;
/** Most customers in an audience export. */
export const MAX_EXPORT_AUDIENCE = 1_000_000;
export const EXPORT_FORMATS = ['csv', 'jsonl'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** A campaign id is echoed into files and feedback: a plain token. */
export const campaignId = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, 'letters, digits and . _ : - (starting with a letter or digit)')
  .describe('Campaign the export is for: written on every row; send it back on feedback events to get per-campaign online metrics');

/**
 * What an export writes (the body of POST /v1/exports, the params of an `export` job, the flags of
 * `npm run export`). `recommendations`: the top-k of every customer of the model (of a segment /
 * lifecycle stage), as GET /v1/users/:id/recommendations answers them; `audience`: the k customers most
 * likely to buy the items (or a category), as POST /v1/audiences answers it.
 */
export const exportRequest = z
  .strictObject({
    kind: z.enum(['recommendations', 'audience']).default('recommendations'),
    k: z.int().min(1).max(MAX_EXPORT_AUDIENCE).default(10).describe(`recommendations: items per customer (1..${MAX_EXPORT_ITEMS}); audience: customers`),
    strategy: z.string().min(1).max(64).optional().describe('recommendations: the strategy (default hybrid; never an A/B arm)'),
    excludePurchased: z.boolean().optional().describe('recommendations: leave out what the customer bought (default as the API)'),
    segment: z.enum(RFM_SEGMENTS).optional().describe('Only customers of this RFM segment'),
    lifecycle: z.enum(LIFECYCLE_STAGES).optional().describe('Only customers at this lifecycle stage'),
    itemIds: z.array(z.string().min(1).max(256)).min(1).max(500).optional().describe('audience: the products'),
    category: z.string().min(1).max(200).optional().describe('audience: every product of this category or below it (`Kitchen` takes `Kitchen/Mugs`; case ignored)'),
    includeRecentBuyers: z.boolean().optional().describe('audience: keep recent buyers of the products'),
    format: z.enum(EXPORT_FORMATS).default('csv').describe('`csv` (one row per customer and item) or `jsonl` (one JSON object per line)'),
    bom: z
      .boolean()
      .optional()
      .describe('csv: begin the file with a UTF-8 byte-order mark, so that Excel reads accented titles as UTF-8 rather than garbled (default false: the file begins with its header, as before)'),
    campaignId: campaignId.optional(),
  })
  .superRefine((r, ctx) => {
    // JSON Lines is UTF-8 without a mark (RFC 8259): a reader would take the mark for part of the first line.
    if (r.bom === true && r.format !== 'csv') ctx.addIssue({ code: 'custom', path: ['bom'], message: 'only for format "csv"' });
    if (r.kind === 'recommendations') {
      if (r.k > MAX_EXPORT_ITEMS) ctx.addIssue({ code: 'custom', path: ['k'], message: `at most ${MAX_EXPORT_ITEMS} items per customer` });
      for (const f of ['itemIds', 'category', 'includeRecentBuyers'] as const) {
        if (r[f] !== undefined) ctx.addIssue({ code: 'custom', path: [f], message: 'only for kind "audience"' });
      }
    } else {
      if ((r.itemIds === undefined) === (r.category === undefined)) ctx.addIssue({ code: 'custom', path: ['itemIds'], message: 'an audience export needs either itemIds or category' });
      for (const f of ['strategy', 'excludePurchased'] as const) {
        if (r[f] !== undefined) ctx.addIssue({ code: 'custom', path: [f], message: 'only for kind "recommendations"' });
      }
    }
  });
export type ExportRequest = z.output<typeof exportRequest>;

/** The file of an export job: `<jobId>.csv` or `<jobId>.jsonl` in the export directory. */
export const exportFileName = (jobId: string, format: ExportFormat) => `${jobId}.${format}`;
