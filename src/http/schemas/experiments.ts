import { z } from 'zod';

const name = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'letters, digits, "_", "." and "-", starting with a letter or digit')
  .max(64);

/** How far the shares may add up from 1 (decimal fractions such as 0.1 + 0.2 are not exact). */
const SHARE_TOLERANCE = 1e-6;

const arm = z
  .strictObject({
    name: name.describe('The arm as responses and feedback name it'),
    strategy: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]*$/)
      .max(64)
      .describe('The strategy its users are served: `hybrid` or one recommender of the active model'),
    share: z.number().gt(0).max(1).describe('Share of users, 0..1 (the shares add up to 1)'),
  })
  .meta({ id: 'ExperimentArm' });

export const experimentBody = z
  .strictObject({
    id: name.describe('Never reused: a stopped experiment keeps its id and results'),
    arms: z.array(arm).min(2).max(10).describe('The first arm is the control every other arm is compared with'),
    active: z.boolean().default(true).describe('Start assigning users now (one experiment may be active at a time); false keeps it for POST /v1/experiments/:id/start'),
  })
  .superRefine((e, ctx) => {
    const sum = e.arms.reduce((s, a) => s + a.share, 0);
    if (Math.abs(sum - 1) > SHARE_TOLERANCE) ctx.addIssue({ code: 'custom', path: ['arms'], message: `the shares must add up to 1, they add up to ${sum}` });
    const seen = new Set<string>();
    e.arms.forEach((a, i) => {
      if (seen.has(a.name)) ctx.addIssue({ code: 'custom', path: ['arms', i, 'name'], message: `arm name "${a.name}" is used twice` });
      seen.add(a.name);
    });
  })
  .meta({ id: 'NewExperiment' });

export const experimentResponse = z
  .object({
    id: z.string(),
    arms: z.array(arm),
    active: z.boolean(),
    createdAt: z.string(),
    stoppedAt: z.string().nullable(),
  })
  .meta({ id: 'Experiment' });

export const experimentList = z.object({ experiments: z.array(experimentResponse).describe('Newest first') }).meta({ id: 'ExperimentList' });

export const experimentParam = z.strictObject({ id: name });

/** The `experiment` of a recommendation response, echoed back by the storefront with its feedback. */
export const experimentTag = z
  .object({ id: z.string(), arm: z.string() })
  .describe('The A/B experiment and arm that chose the strategy; send both back with feedback on this answer (experimentId, arm)')
  .meta({ id: 'ExperimentTag' });

const zTest = z
  .object({
    z: z.number().describe('(rate of this arm - rate of the control) / its standard error, with customers as the unit (delta method)'),
    p: z
      .number()
      .describe(
        "Two-sided p-value (Student's t, Welch's degrees of freedom): the chance of a difference at least this large if the arms did not differ. Valid for one look at a sample size fixed in advance. With several treatment arms it is adjusted for their number (Bonferroni: multiplied by `comparisons`, at most 1), and so are anytimeP and both intervals",
      ),
    anytimeP: z
      .number()
      .nullable()
      .describe(
        "Always-valid p-value (mixture sequential test, mSPRT): stays honest when the results are looked at every day and the experiment is stopped the first time it is below the threshold, if the window holds the experiment from its start. It is the smallest of every look at the experiment from its start (each read of this report with fromStart, and the service's own look each ONLINE_METRICS_COUNT_MS), so once below a threshold it stays there, while p is as of now; each look's is never below that look's p. Null until each arm has 30 customers (before, its variance estimate is too rough for the guarantee)",
      ),
    difference: z
      .number()
      .describe(
        "This arm's rate - the control's, as the test counts them: each customer's clicks (purchases) at most their impressions, so it differs from the arms' ctr (conversion) when a customer sent more",
      ),
    low: z.number().describe('95% confidence interval of the difference, for one look: its lower end (the interval excludes 0 exactly when p < 0.05)'),
    high: z.number().describe('Upper end of the one-look 95% interval'),
    anytimeLow: z
      .number()
      .nullable()
      .describe(
        "95% interval that holds at every look at once (a confidence sequence, intersected over the looks as anytimeP is their smallest; excludes 0 exactly when anytimeP < 0.05, unless a look's interval did not overlap the earlier looks', which is then left out): its lower end; null with anytimeP",
      ),
    anytimeHigh: z.number().nullable().describe('Upper end of the any-time 95% interval; null with anytimeP'),
  })
  .nullable()
  .describe(
    "Null when there is nothing to test: fewer than 2 customers or no impressions in an arm, or every customer of both arms at their arm's rate. A customer's events are not independent, so the test takes customers, not events, as its samples",
  );

const sampleRatio = z
  .object({
    chiSquare: z.number().describe("Pearson's chi-square of the arms' customers against their shares"),
    p: z.number().describe('Its p-value, on (arms - 1) degrees of freedom'),
    mismatch: z
      .boolean()
      .describe("p below 0.001: the arms do not hold customers in their shares (assignment or feedback is broken), so the arms' comparison is not to be trusted"),
  })
  .nullable()
  .describe('Sample ratio check; null without customers');

export const experimentResults = z
  .object({
    id: z.string(),
    active: z.boolean(),
    createdAt: z
      .string()
      .describe("When the experiment started. A window that starts before it holds all of the experiment's feedback, which anytimeP's guarantee assumes"),
    stoppedAt: z.string().nullable().describe('When it was stopped; null while active'),
    fromStart: z
      .boolean()
      .describe(
        "The tests read all of the experiment's feedback: the window starts at or before both its start and its earliest feedback (which may be dated before it: a client's clock), both are after keptSince, and the retention sweep has deleted none of its feedback. anytimeP and its interval assume it, and only such a report counts as a look at the experiment; when false, read p",
      ),
    firstFeedbackAt: z
      .string()
      .nullable()
      .describe("Its earliest feedback (null without any). Feedback may be dated before createdAt (a storefront's clock behind): a window from before both holds all of it"),
    feedbackTrimmed: z
      .boolean()
      .describe('The retention sweep (FEEDBACK_RETENTION_DAYS) has deleted some of its feedback: no report holds it from its start any more (fromStart false)'),
    comparisons: z
      .number()
      .int()
      .describe(
        "Treatment arms compared with the control (arms - 1). Every arm's tests are adjusted for them, so the chance that any arm shows a difference that is not there stays at most 5%; CTR and conversion are not adjusted for each other (decide on one, chosen before the experiment)",
      ),
    arms: z.array(
      z.object({
        name: z.string(),
        strategy: z.string(),
        share: z.number(),
        impressions: z.number().int(),
        clicks: z.number().int(),
        addToCart: z.number().int(),
        purchases: z.number().int(),
        ctr: z.number().nullable().describe('clicks / impressions; null without impressions'),
        conversion: z.number().nullable().describe('purchase feedback events / impressions; null without impressions'),
        customers: z.number().int().describe('Distinct customers with feedback on this arm in the window: the samples of the tests'),
        vsControl: z
          .object({ ctr: zTest, conversion: zTest })
          .nullable()
          .describe('This arm against the first (control) arm; null for the control itself'),
      }),
    ),
    sampleRatio,
  })
  .meta({ id: 'ExperimentResults' });
