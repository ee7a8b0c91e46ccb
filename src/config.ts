import { z } from 'zod';

/**
 * Scopes of API keys; each scope implies the ones before it (admin > write > read > frontend).
 * `frontend` is what a browser holds: recommendations, item lists and feedback, no customer data;
 * `read` is for backends (CRM, shop server): also customers' attributes, purchases and profiles.
 */
export const SCOPES = ['frontend', 'read', 'write', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0'])
    .optional()
    .transform((v) => (v === undefined ? fallback : v === 'true' || v === '1'));

const apiKeys = z
  .string()
  .optional()
  .transform((raw, ctx) => {
    const keys: { scope: Scope; key: string }[] = [];
    for (const pair of (raw ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
      const at = pair.indexOf(':');
      const scope = pair.slice(0, at) as Scope;
      const key = pair.slice(at + 1);
      if (at < 1 || !SCOPES.includes(scope) || key.length < 8) {
        ctx.addIssue({ code: 'custom', message: `expected scope:key with scope in ${SCOPES.join('|')} and a key of 8+ characters, got "${pair.slice(0, 12)}..."` });
        return z.NEVER;
      }
      keys.push({ scope, key });
    }
    return keys;
  });

const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_URL: z.string().url().optional(),
  REDIS_URL: z.string().url().optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  API_KEYS: apiKeys,
  AUTH_DISABLED: bool(false),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SAMPLE_DATA: bool(true),
  /** Largest number of records accepted in one batch request (items, events, feedback). */
  MAX_BATCH_SIZE: z.coerce.number().int().min(1).max(100_000).default(5000),
  /** Largest request body in bytes; larger bodies get 413. */
  BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).default(10 * 1024 * 1024),
  /** Model versions kept in the store for rollback (the active one included). */
  MODEL_VERSIONS_KEPT: z.coerce.number().int().min(1).max(100).default(5),
  /** Memory for finished answers reused per model version (src/serving/answer-cache.ts); 0 turns it off. */
  ANSWER_CACHE_MB: z.coerce.number().min(0).max(65_536).default(32),
  /** `inline`: jobs run in the API process; `worker`: only `npm run worker` processes claim them. */
  JOB_RUNNER: z.enum(['inline', 'worker']).default('inline'),
  /**
   * Directories (comma-separated) that POST /v1/imports may read files from; unset = any file the
   * process can read (the route needs the admin scope either way).
   */
  IMPORT_ROOTS: z
    .string()
    .optional()
    .transform((raw) => raw?.split(',').map((s) => s.trim()).filter(Boolean)),
  /** Recipe used by training when none is named (file name under models/ without .json). */
  DEFAULT_RECIPE: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/i).default('default'),
});

export type Config = z.infer<typeof schema>;

export class ConfigError extends Error {}

/**
 * Reads and validates the environment once. A bad value throws a ConfigError whose message names
 * every offending variable, so the process can stop with a useful line instead of a stack trace.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings mean "unset" for every variable, as in most shells' `VAR= cmd`.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  return parsed.data;
}
