/** Job types in the jobs table; a runner claims the types it has handlers for. */
export const JOB_TYPES = { train: 'train', import: 'import', evaluate: 'evaluate', export: 'export', factorImport: 'factor-import' } as const;
export type JobType = (typeof JOB_TYPES)[keyof typeof JOB_TYPES];

/** One training at a time: training and factor-import jobs (a training with imported ALS factors) share this exclusive key. */
export const TRAINING_EXCLUSIVE_KEY = 'train';
