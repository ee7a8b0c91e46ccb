import { z } from 'zod';
import { cursorPagingAnswer } from './common.js';
import { IMPORT_FORMATS, type ImportFormat } from '../../data/importers/run-import.js';
import { DATE_ORDERS, type DateOrder } from '../../data/importers/field-parsers.js';
import { CSV_DELIMITERS, type CsvDelimiter } from '../../data/importers/csv-source.js';
import { tuneSpecSchema } from '../../training/recipe.js';
import { QUERYABLE_TIME_MESSAGE, queryableTime } from '../../data/event-time.js';

const isoTime = z.iso
  .datetime({ offset: true, message: 'expected an ISO 8601 date-time such as 2011-12-09T12:50:00Z' })
  .refine(queryableTime, QUERYABLE_TIME_MESSAGE);

export const trainingJobBody = z
  .strictObject({
    recipe: z.string().min(1).max(128).optional().describe('Recipe name (models/NAME.json); the configured default when absent'),
    from: isoTime.optional().describe('Train on purchases at or after this time'),
    to: isoTime.optional().describe('Train on purchases before this time'),
    tune: z
      .union([z.boolean(), tuneSpecSchema])
      .optional()
      .describe(
        "Tune the blend and hyperparameters on this data first (rolling-origin validation windows before its end): `true` with the recipe's `tune` section or the defaults, an object with its own folds/days/minCoverage/maxCoverageCost/variants/maxCustomers/maxPurchases/keepRule/coverageFloor/foldWeights/singleSourceCoverage/blendJudgedOn/coverageCatalogue/keepOn/coverageEstimate/coverageMargin/yearAgo/yearAgoFloor, `false` to train the recipe's weights as written; default: as the recipe says",
      ),
  })
  .nullish()
  .describe('Optional: an empty body trains the default recipe on all purchases');

export const importJobBody = z.strictObject({
  format: z.enum(IMPORT_FORMATS as [ImportFormat, ...ImportFormat[]]).describe('`online-retail`: a UCI Online Retail .csv or .csv.gz file; `generic`: a directory with items.csv, users.csv and/or events.csv'),
  path: z
    .string()
    .min(1)
    .max(4096)
    .describe('A path on the server (not an upload): it must exist and be readable by the service process; relative paths resolve against its working directory'),
  dateOrder: z
    .enum(DATE_ORDERS as [DateOrder, ...DateOrder[]])
    .optional()
    .describe('online-retail only: how InvoiceDate a/b/yyyy is read, `mdy` (month first, the original export) or `dmy` (day first, a UK-locale export). When absent, the first date only one order reads (13/12/2010, 12/13/2010) decides, before anything is written; a file none of whose dates does is read `mdy`'),
  delimiter: z
    .enum(CSV_DELIMITERS as [CsvDelimiter, ...CsvDelimiter[]])
    .optional()
    .describe('The delimiter of the fields of the file (of every file of a generic directory): `,` or `;` (a spreadsheet saved in a locale writing 2,55). When absent, each file\'s is told from its header line, and from its first rows when the header holds both'),
});

export const factorImportJobBody = z.strictObject({
  path: z
    .string()
    .min(1)
    .max(4096)
    .describe('A directory on the server inside IMPORT_ROOTS (not an upload) holding item_factors.npy + item_ids.txt (implicit) or item_factors.csv / item_factors/part-*.csv (Spark), optionally the user side too; see docs/factor-import.md'),
  recipe: z.string().min(1).max(128).optional().describe('Recipe trained around the imported factors (models/NAME.json); the configured default when absent'),
  source: z.string().min(1).max(64).optional().describe('The recipe source whose ALS fit the factors replace; needed only when the recipe has several ALS sources'),
});

/**
 * Headers of a job submission. Loose: the others (Authorization, ...) pass through as sent. A client that
 * did not get the answer (a timeout, a 503 while Postgres was frozen, whose insert may still have landed)
 * sends the same key again and gets the job the first attempt queued, not a second one.
 */
export const jobSubmissionHeaders = z.looseObject({
  'idempotency-key': z
    .string()
    .regex(/^[\x21-\x7e]{1,255}$/, '1 to 255 visible ASCII characters, such as a UUID')
    .optional()
    .describe(
      'Your name for this submission (e.g. a UUID): sent again with the same request within 24 hours, the answer names the job the first one queued, whatever its state, instead of queuing another; with another request, 409 CONFLICT; after 24 hours the key queues a new job',
    ),
});

export const jobAccepted = z
  .object({
    jobId: z.string(),
    status: z.enum(['queued', 'running', 'succeeded', 'failed']),
  })
  .meta({ id: 'JobAccepted' });

export const jobResponse = z
  .object({
    id: z.string(),
    type: z.string(),
    status: z.enum(['queued', 'running', 'succeeded', 'failed']),
    progress: z.number().min(0).max(1).describe('Share of the work done, 0..1'),
    step: z.string().nullable().describe('What the job is doing now, e.g. `fit:als`'),
    params: z.record(z.string(), z.unknown()),
    result: z.unknown().describe('What the job produced (a training: version, data counts, durations); null until it succeeds'),
    error: z.string().nullable().describe('Why the job failed'),
    createdAt: z.string(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
    heartbeatAt: z.string().nullable().describe('Last sign of life of the process running it'),
  })
  .meta({ id: 'Job' });

export const jobList = z.object({
  jobs: z.array(jobResponse),
  ...cursorPagingAnswer,
});

export const modelVersion = z
  .object({
    version: z.string(),
    recipe: z.string().describe('The name the recipe gives itself, as evaluation rows name it'),
    recipeFile: z.string().optional().describe('The recipe file it was trained from (models/RECIPEFILE.json), what trainings and evaluations name; absent for versions trained before it was recorded'),
    trainedAt: z.string(),
    active: z.boolean(),
    info: z.record(z.string(), z.unknown()).describe('Recipe, data counts, per-step durations, stored contents'),
  })
  .meta({ id: 'ModelVersion' });

export const modelList = z.object({
  active: z.string().nullable().describe('The version being served; null before the first training'),
  versions: z.array(modelVersion).describe('Kept versions, newest first'),
  served: z
    .string()
    .nullable()
    .describe("The version this process answers with, from memory: `active` once loaded, or one the store no longer holds (a Redis restarted empty); null before it serves one"),
  servedInStore: z.boolean().describe('Whether the store still lists the served version; false while this process serves from memory a version the store lost (readiness is then 503 until a training)'),
});

export const versionParam = z.strictObject({
  version: z.string().min(1).max(128).describe('A model version, e.g. v20261122T154500Z-3f9a'),
});
