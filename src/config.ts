import { isIP } from 'node:net';
import { distance } from 'fastest-levenshtein';
import { join } from 'node:path';
import { z } from 'zod';
import { DEFAULT_REDIS_COMMAND_TIMEOUT_MS, parseNode, redisTarget, unixSocketOf } from './store/redis-connection.js';

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
        // The key itself is a secret: the message, which goes to logs, names only what came before the colon.
        // A key written first ("Sup3rSecret:admin") would be the "scope": only a known scope name is shown.
        // A misspelt scope is shown (a secret is not a letter or two from one).
        const near = SCOPES.find((known) => distance(scope, known) <= 2);
        const named = SCOPES.includes(scope) ? `scope "${scope}"` : at < 1 ? 'no "scope:"' : near ? `scope "${scope}" (did you mean ${near}?)` : `an unknown scope of ${at} characters`;
        const got = `${named} and a key of ${at < 1 ? pair.length : key.length} characters`;
        ctx.addIssue({ code: 'custom', message: `expected scope:key with scope in ${SCOPES.join('|')} and a key of 8+ characters, got ${got}` });
        return z.NEVER;
      }
      keys.push({ scope, key });
    }
    return keys;
  });

/** Comma-separated list, trimmed, empties dropped. */
const list = z
  .string()
  .optional()
  .transform((raw) => (raw ?? '').split(',').map((s) => s.trim()).filter(Boolean));

/**
 * Browser origins, each as a browser writes its `Origin` header (the WHATWG serialisation: scheme and host
 * in lower case, the host in punycode, no default port), since CORS compares them byte for byte: an entry
 * written `https://Shop.Example:443` is the origin `https://shop.example`. An entry that is not an origin
 * (user info, a path, a query or a fragment) is refused rather than kept to match nothing.
 */
const origins = list.transform((entries, ctx) =>
  entries.map((entry) => {
    const url = URL.canParse(entry) ? new URL(entry) : undefined;
    const extra = !url
      ? undefined
      : url.username || url.password
        ? 'user info'
        : url.pathname !== '/'
          ? 'a path'
          : url.search
            ? 'a query'
            : url.hash
              ? 'a fragment'
              : // A URL's host may hold "*", a browser's Origin never does: a pattern would match nothing.
                url.hostname.includes('*')
                ? 'a wildcard (origins are listed one by one)'
                : undefined;
    if (!url || !['http:', 'https:'].includes(url.protocol) || extra) {
      const why = extra ? `: it has ${extra}` : '';
      // The entry is named, its user info (a password, perhaps) is not: the message goes to logs.
      const named = url?.username || url?.password ? entry.replace(/\/\/[^/]*@/, '//…@') : entry;
      ctx.addIssue({ code: 'custom', message: `"${named.slice(0, 80)}" is not an origin${why}; expected scheme, host and optional port, such as https://shop.example` });
      return entry;
    }
    return url.origin;
  }),
);

/** `true`/`false` or comma-separated addresses/CIDRs of the proxies in front (Fastify's trustProxy). */
const trustProxy = z
  .string()
  .optional()
  .transform((raw): boolean | string[] => {
    if (raw === undefined || raw === 'false' || raw === '0') return false;
    if (raw === 'true' || raw === '1') return true;
    return raw.split(',').map((s) => s.trim()).filter(Boolean);
  })
  .superRefine((value, ctx) => {
    if (typeof value === 'boolean') return;
    const bad = value.filter((entry) => !PROXY_NAMES.has(entry) && !isAddressOrCidr(entry));
    if (bad.length > 0) ctx.addIssue({ code: 'custom', message: `expected true, false or addresses/CIDRs such as 10.0.0.0/8 (or loopback, linklocal, uniquelocal), got "${bad[0].slice(0, 40)}"` });
  });

/** Names Fastify's trustProxy (proxy-addr) takes for address ranges. */
const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

function isAddressOrCidr(entry: string): boolean {
  const [address, bits, ...rest] = entry.split('/');
  if (rest.length > 0 || !isIP(address)) return false;
  if (bits === undefined) return true;
  // A prefix length, or (IPv4) a dotted netmask such as 255.0.0.0, as proxy-addr takes both.
  if (isIP(address) === 4 && isIP(bits) === 4) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (isIP(address) === 4 ? 32 : 128);
}

/**
 * A URL whose scheme is one of `schemes` (the part before "://"). Zod runs the refinements after `.url()`
 * failed too, so they parse only what parses: `new URL` threw a bare "Invalid URL" naming no variable. The
 * message never echoes the value, which may hold a password.
 */
const urlWith = (schemes: readonly string[], example: string) =>
  z
    .string()
    .url({ message: `not a URL such as ${example}: a password's reserved characters (# / ? @ : %) are percent-encoded (%23, %2F, ...), and the port is a number up to 65535` })
    .refine((u) => !URL.canParse(u) || schemes.includes(new URL(u).protocol.slice(0, -1)), { message: `expected a ${schemes.join(', ')} URL such as ${example}` });

/** The least and the most REDIS_COMMAND_TIMEOUT_MS takes (ms). */
const REDIS_COMMAND_TIMEOUT_RANGE = [100, 600_000] as const;

const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_URL: urlWith(['postgres', 'postgresql'], 'postgres://user@host:5432/shop').optional(),
  /**
   * One Redis (`redis://`, `rediss://`; `unix:///path/redis.sock?db=2` for a socket, credentials as its
   * `username` and `password` parameters), or a cluster through one seed (`redis+cluster://host:port`).
   */
  REDIS_URL: urlWith(['redis', 'rediss', 'redis+cluster', 'rediss+cluster', 'unix'], 'redis://host:6379/0')
    .superRefine((raw, ctx) => {
      if (!URL.canParse(raw)) return; // said already by urlWith
      const u = new URL(raw);
      if (u.protocol !== 'unix:') {
        if (!/^\/?(\d+)?$/.test(u.pathname)) ctx.addIssue({ code: 'custom', message: 'the path is a database number (redis://host:6379/2), or nothing' });
        return;
      }
      try {
        unixSocketOf(u);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    })
    .optional(),
  /** Seed nodes (`host:port,...`) of a Redis Cluster: the model store and rate limits use cluster mode. */
  REDIS_CLUSTER_NODES: list.superRefine((nodes, ctx) => {
    for (const node of nodes) {
      try {
        parseNode(node);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    }
  }),
  DATA_DIR: z.string().min(1).default('./data'),
  API_KEYS: apiKeys,
  /**
   * Secret the shop's backend signs customer ids with (HMAC-SHA256, hex, sent as X-User-Token), so a
   * browser's `frontend` key may see that customer's purchases named in explanations; unset: never.
   */
  FRONTEND_USER_SECRET: z.string().min(16, 'at least 16 characters').optional(),
  AUTH_DISABLED: bool(false),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SAMPLE_DATA: bool(true),
  /**
   * The Online Retail-format file (csv or csv.gz) a first start imports when SAMPLE_DATA is on; unset: the bundled
   * sample (sample/online-retail-sample.csv.gz). The tests' first starts import a tenth of it.
   */
  SAMPLE_FILE: z.string().min(1).optional(),
  /** Largest number of records accepted in one batch request (items, events, feedback). */
  MAX_BATCH_SIZE: z.coerce.number().int().min(1).max(100_000).default(5000),
  /**
   * Largest number of events in one request made with a frontend key (POST /v1/feedback), at most
   * MAX_BATCH_SIZE. The key is public: a batch of MAX_BATCH_SIZE from anyone let one client store
   * thousands of rows per request, while the per-IP rate limit counts requests. A browser sends a handful.
   */
  FRONTEND_MAX_BATCH_SIZE: z.coerce.number().int().min(1).max(100_000).default(100),
  /** Largest request body in bytes; larger bodies get 413. */
  BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).default(10 * 1024 * 1024),
  /**
   * Largest request body in bytes from a frontend key (never more than BODY_LIMIT_BYTES); larger bodies get
   * 413 before they are parsed. The key is public, and a 7 MB body of unknown keys cost over 2 s of
   * parsing and validation. Unset: frontendBodyLimitFor(FRONTEND_MAX_BATCH_SIZE), 256 KiB at the default
   * batch of 100, which holds the largest body a frontend key needs: 100 feedback events with every field at
   * its longest (256-character ids, 64-character labels) are 149 KiB of JSON (158 KiB pretty-printed), a
   * context request at its list limits (100 cart and 100 viewed ids, 500 excluded, 256 characters each, 20
   * attributes) 179 KiB. Set, it is kept (at most BODY_LIMIT_BYTES: the Config holds the limit that applies),
   * and a server warns at start when a full frontend batch (FRONTEND_MAX_BATCH_SIZE, set or its default) at the
   * longest fields would not fit (http/plugins/frontend-body-limit.ts).
   */
  FRONTEND_BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).optional(),
  /**
   * Feedback events dated (`ts`) more than this many days back are deleted by each API process's hourly
   * sweep, with customer rows left holding nothing (data/feedback-retention.ts); 0 = kept for ever. Longer
   * than the longest online-metrics window (365 days) by default, so reports are whole.
   */
  FEEDBACK_RETENTION_DAYS: z.coerce.number().int().min(0).max(36_500).default(400),
  /** Model versions kept in the store for rollback (the active one included). */
  MODEL_VERSIONS_KEPT: z.coerce.number().int().min(1).max(100).default(5),
  /** Memory for finished answers reused per model version (src/serving/answer-cache.ts); 0 turns it off. */
  ANSWER_CACHE_MB: z.coerce.number().min(0).max(65_536).default(32),
  /**
   * How old the counts `GET /v1/overview` answers with may be (ms) before a call counts again (data/kept-counts.ts):
   * counting every purchase and distinct order takes seconds at ten times our data. 0: every call counts again.
   */
  OVERVIEW_COUNTS_MAX_AGE_MS: z.coerce.number().int().min(0).max(3_600_000).default(30_000),
  /** How often each process re-reads the active A/B experiment from Postgres (ms): another replica's change shows within it. */
  EXPERIMENT_REFRESH_MS: z.coerce.number().int().min(100).max(600_000).default(5000),
  /**
   * How often an API process counts, in the background, the closed days of the longest online-metrics
   * window that are not counted yet (the first time a minute after it starts, or sooner with a shorter
   * period); 0: only when a report needs them.
   */
  ONLINE_METRICS_COUNT_MS: z.coerce.number().int().min(0).max(86_400_000).default(3_600_000),
  /**
   * How often each process asks Postgres for erasures made since it last looked (ms), while it serves
   * requests: a replica that missed the Redis message (a reconnect, a Redis user without pub/sub rights)
   * forgets an erased customer within it.
   */
  ERASURE_REFRESH_MS: z.coerce.number().int().min(100).max(600_000).default(5000),
  /**
   * How often each API process looks for erasures asked for and not completed (a DELETE answered 503 while the
   * model store did not answer, or cut short by a close) and, once the model store answers, completes them (ms);
   * also the first back-off after a try that failed, doubling per failure up to 15 minutes.
   */
  ERASURE_REDRIVE_MS: z.coerce.number().int().min(100).max(3_600_000).default(30_000),
  /**
   * How long an erasure a process drives (a DELETE's, or one its re-driver took) is left to it before another
   * process may take it (ms); the process renews it every quarter of it while it works, so a process that dies
   * holding one leaves it this long (then the next re-driver pass, ERASURE_REDRIVE_MS) rather than for as long as an
   * erasure may take.
   */
  ERASURE_LEASE_MS: z.coerce.number().int().min(400).max(3_600_000).default(60_000),
  /**
   * On shutdown, how long the erasures' worker thread may go on with the artifact rewrites it holds (ms); then
   * it is stopped, what it gave up on is logged, and those erasures fail whole (nothing of the rewrites is
   * written, Postgres rolls back) to be asked for again.
   */
  ERASURE_CLOSE_WAIT_MS: z.coerce.number().int().min(0).max(600_000).default(30_000),
  /**
   * How long one Postgres statement made for an HTTP request (or a metrics scrape) may take (ms) before the
   * request is answered without it: a fallback where the answer can do without Postgres, else 503 with
   * Retry-After. A Postgres that accepts connections but stops answering then holds no request for ever.
   * A job's work (imports, training, evaluations, exports), migrations and the CLI are not limited; shared
   * scans, erasures, rollbacks and online-metrics reports get a long limit instead (data/query-timeout.ts).
   * 0 = no limit.
   */
  PG_QUERY_TIMEOUT_MS: z.coerce.number().int().min(0).max(3_600_000).default(10_000),
  /** `inline`: jobs run in the API process; `worker`: only `npm run worker` processes claim them. */
  JOB_RUNNER: z.enum(['inline', 'worker']).default('inline'),
  /**
   * A running job whose heartbeat (every 5 s) is older than this is failed as interrupted by any other
   * process; a holder on the same host whose process is gone is noticed within seconds regardless.
   */
  JOB_STALE_AFTER_MS: z.coerce.number().int().min(10_000).max(86_400_000).default(120_000),
  /**
   * Directories (comma-separated) that POST /v1/imports and POST /v1/factor-imports may read files from; unset = `DATA_DIR/imports`
   * (resolved in loadConfig), so an admin key cannot make the server read any file it can.
   */
  IMPORT_ROOTS: list,
  /** Directory campaign exports (POST /v1/exports) are written to, one file per export job; unset = `DATA_DIR/exports`. */
  EXPORT_DIR: z.string().min(1).optional(),
  /**
   * Threads of a training's per-user and per-item work (serving build); unset = one per core. Any
   * number gives the same model.
   */
  TRAIN_THREADS: z.coerce.number().int().min(1).max(256).optional(),
  /**
   * Customers whose latest purchase is within this many days of the training data's end get a
   * precomputed list; the others are computed on request from the stored models (and then cached).
   */
  PRECOMPUTE_DAYS: z.coerce.number().min(0).max(36_500).default(365),
  /**
   * Queue a training of DEFAULT_RECIPE by itself when the model store holds no version although the newest
   * training succeeded (a Redis restarted without persistence); never after a failed one (training/model-recovery.ts).
   */
  RETRAIN_ON_LOST_MODEL: bool(true),
  /**
   * With a Redis model store: each training keeps a copy of its version in Postgres (migration 038), and a store that
   * comes back holding no version is put back from the copy of the version active before, instead of trained again
   * (training/model-copies.ts, model-restore.ts). The in-process store keeps its own files and takes no copy.
   */
  MODEL_COPIES: bool(true),
  /**
   * The copies' chunks stored compressed (store/model-copy-codec.ts: brotli, each chunk on its own; about half the size,
   * bench/README.md "Model copies compressed"). A process of the release before (no compression) cannot read a compressed copy: it
   * refuses it as damaged and retrains. Set false during a rolling upgrade from that release to write copies it can
   * read; copies written either way are read by this release.
   */
  MODEL_COPY_COMPRESSION: bool(true),
  /**
   * On SIGTERM, how long the server keeps serving with /health/ready answering 503 (`accepting: false`)
   * before it stops accepting connections: long enough for a load balancer polling readiness to take it
   * out of rotation, so no request is sent to a closed port. 0 = stop accepting at once (SIGINT always does).
   */
  SHUTDOWN_DELAY_MS: z.coerce.number().int().min(0).max(120_000).default(0),
  /**
   * How long the server's first-start work waits before it looks again whether Postgres and the model store
   * answer (and the store takes writes), after one did not at start (a Redis started after the API): the sample
   * is imported and trained within about this long of the stores answering.
   */
  FIRST_START_RETRY_MS: z.coerce.number().int().min(10).max(600_000).default(5000),
  /**
   * How long a starting API process asks a model store or a Postgres that does not answer again for the scrub
   * of erasures the store lost, before it listens anyway (ms). 0 (default): one try. Past it the scrub is tried
   * again in the background (readiness: erasureCatchUp), and a model store that did not answer has none of its
   * versions served until it has run.
   */
  ERASURE_CATCH_UP_RETRY_MS: z.coerce.number().int().min(0).max(600_000).default(0),
  /**
   * How long a starting worker or command waits for a Redis that does not answer (ms) before it starts without it
   * (the connection keeps retrying in the background). 0: it starts at once. The server does not wait: it listens, unready.
   */
  REDIS_CONNECT_WAIT_MS: z.coerce.number().int().min(0).max(600_000).default(5000),
  /**
   * How long a command of the model store waits for Redis's reply (ms) before it fails, and the request is
   * answered as in an outage (a fallback, or 503): a Redis that stops answering holds no request longer. The
   * model store's connections for requests and change messages; artifacts wait this or 30 s, whichever is longer.
   */
  REDIS_COMMAND_TIMEOUT_MS: z.coerce
    .number({ error: `expected milliseconds, a whole number from ${REDIS_COMMAND_TIMEOUT_RANGE[0]} to ${REDIS_COMMAND_TIMEOUT_RANGE[1]}` })
    .int({ error: `expected whole milliseconds from ${REDIS_COMMAND_TIMEOUT_RANGE[0]} to ${REDIS_COMMAND_TIMEOUT_RANGE[1]}` })
    .min(REDIS_COMMAND_TIMEOUT_RANGE[0], {
      error: `at least ${REDIS_COMMAND_TIMEOUT_RANGE[0]} ms: a shorter wait fails replies that come in time on a busy network, and there is no "no timeout" (a Redis that stops answering would hold requests for ever)`,
    })
    .max(REDIS_COMMAND_TIMEOUT_RANGE[1], { error: `at most ${REDIS_COMMAND_TIMEOUT_RANGE[1]} ms (10 minutes)` })
    .default(DEFAULT_REDIS_COMMAND_TIMEOUT_MS),
  /** Recipe used by training when none is named (file name under models/ without .json). */
  DEFAULT_RECIPE: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/i).default('default'),
  /** Browser origins allowed to call the API (CORS); unset = no CORS headers, browsers on other origins are refused. */
  CORS_ORIGINS: origins,
  /** Proxies in front of the service whose X-Forwarded-For is believed (the per-IP rate limit needs the client's address). */
  TRUST_PROXY: trustProxy,
  /** Requests per minute per API key (all replicas together when REDIS_URL is set); 0 = no per-key limit. */
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).default(600_000),
  /** Requests per minute per client IP without a valid key (missing or wrong keys, public pages); 0 = no limit. */
  RATE_LIMIT_PER_IP_PER_MINUTE: z.coerce.number().int().min(0).default(600),
  /**
   * Requests per minute per client IP and replica with a frontend key (public: one client must not use up its
   * budget); 0 = no limit. Off by default: behind a balancer without TRUST_PROXY every shopper has its address.
   * A request counts once whatever its batch holds: at most this times FRONTEND_MAX_BATCH_SIZE feedback events.
   */
  RATE_LIMIT_FRONTEND_PER_IP_PER_MINUTE: z.coerce.number().int().min(0).default(0),
  /** Mean event-loop delay (ms, over 1 s) above which requests get 503 OVERLOADED; 0 = not checked. */
  UNDER_PRESSURE_MAX_EVENT_LOOP_DELAY_MS: z.coerce.number().int().min(0).default(1000),
  /** How long a client has to send a whole request, headers and body; then 408 in the error shape. */
  REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
  /** V8 heap in use (MB) above which requests get 503 OVERLOADED; 0 = not checked. */
  UNDER_PRESSURE_MAX_HEAP_USED_MB: z.coerce.number().int().min(0).default(0),
  /** Responses at least this large (bytes) are compressed (gzip or br) for clients that accept it (src/http/plugins/compress.ts). */
  COMPRESS_MIN_BYTES: z.coerce.number().int().min(0).default(16_384),
  /** Deepest nesting of objects/arrays accepted in a JSON body; deeper is 400 before parsing. */
  MAX_JSON_DEPTH: z.coerce.number().int().min(2).max(1000).default(32),
});

export type Config = z.infer<typeof schema> & { EXPORT_DIR: string; FRONTEND_BODY_LIMIT_BYTES: number };

/** The frontend body limit at the default batch (FRONTEND_MAX_BATCH_SIZE 100), and the least it defaults to. */
const FRONTEND_BODY_LIMIT_FLOOR = 256 * 1024;

/**
 * Bytes per feedback event a frontend key's body is allowed when FRONTEND_BODY_LIMIT_BYTES is unset: what 256 KiB
 * allowed each of the default batch's 100 events (2.56 KiB, about 1.7 times an event at its longest fields).
 */
const FRONTEND_BODY_BYTES_PER_EVENT = FRONTEND_BODY_LIMIT_FLOOR / 100;

/**
 * FRONTEND_BODY_LIMIT_BYTES when it is unset: FRONTEND_BODY_BYTES_PER_EVENT times the frontend batch (at most
 * MAX_BATCH_SIZE), at least 256 KiB (a context request at its list limits is 179 KiB), at most BODY_LIMIT_BYTES.
 * A fixed 256 KiB refused (413) the batches of an operator who had raised FRONTEND_MAX_BATCH_SIZE, which
 * worked before the limit came.
 */
export function frontendBodyLimitFor(config: Pick<Config, 'FRONTEND_MAX_BATCH_SIZE' | 'MAX_BATCH_SIZE' | 'BODY_LIMIT_BYTES'>): number {
  const batch = Math.min(config.FRONTEND_MAX_BATCH_SIZE, config.MAX_BATCH_SIZE);
  return Math.min(config.BODY_LIMIT_BYTES, Math.max(FRONTEND_BODY_LIMIT_FLOOR, Math.ceil(batch * FRONTEND_BODY_BYTES_PER_EVENT)));
}

export class ConfigError extends Error {}

/**
 * Reads and validates the environment once. A bad value throws a ConfigError whose message names
 * every offending variable, so the process can stop with a useful line instead of a stack trace.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings mean "unset" for every variable, as in most shells' `VAR= cmd`; so do blanks (`PORT=" "`
  // would otherwise be read as the number 0: a random port).
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v.trim() !== ''));
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const config = {
    ...parsed.data,
    EXPORT_DIR: parsed.data.EXPORT_DIR ?? join(parsed.data.DATA_DIR, 'exports'),
    // Resolved here once, capped as it applies (Fastify's own limit, BODY_LIMIT_BYTES, reads every body first):
    // the plugin and the start warning read the limit that applies, not each its own.
    FRONTEND_BODY_LIMIT_BYTES: Math.min(parsed.data.BODY_LIMIT_BYTES, parsed.data.FRONTEND_BODY_LIMIT_BYTES ?? frontendBodyLimitFor(parsed.data)),
  };
  if (config.IMPORT_ROOTS.length === 0) config.IMPORT_ROOTS = [join(config.DATA_DIR, 'imports')];
  // REDIS_URL set means "Redis is in use" everywhere (CLIs, the DATA_DIR lock): a cluster named by its
  // nodes alone gets the equivalent URL of its first seed.
  if (!config.REDIS_URL && config.REDIS_CLUSTER_NODES.length > 0) config.REDIS_URL = `redis+cluster://${config.REDIS_CLUSTER_NODES[0]}`;
  try {
    redisTarget(config);
  } catch (err) {
    throw new ConfigError(`invalid configuration:\n  REDIS_URL: ${(err as Error).message}`);
  }
  return config;
}

/** The names of the environment variables loadConfig reads (a test helper keys what a start leaves by their values). */
export function configNames(): string[] {
  return Object.keys(schema.shape);
}

/**
 * Variables set in `env` that this service does not read but that are a letter or two from one it does
 * (`DATABSE_URL`, `API_KEY`): a typo that would otherwise run the service on its defaults (an embedded
 * database, a generated key) without a word. One warning each, naming the variable meant.
 */
export function configWarnings(env: NodeJS.ProcessEnv = process.env): string[] {
  const known = Object.keys(schema.shape);
  const warnings: string[] = [];
  for (const name of Object.keys(env)) {
    if (known.includes(name) || !/^[A-Z][A-Z0-9_]{3,}$/.test(name)) continue;
    const meant = known.find((k) => k.length >= 6 && distance(name, k) <= 2);
    // A variable set to nothing or blanks counts as unset (loadConfig), so it does not cover the typo.
    if (meant && !env[meant]?.trim()) warnings.push(`${name} is set but not read: did you mean ${meant}?`);
  }
  return warnings;
}

/** Where a URL points, without its credentials: for a startup line in the logs, or an error naming a store. */
export function whereOf(url: string): string {
  const u = new URL(url);
  // A socket's database is a parameter beside its password, which is not shown.
  const db = u.protocol === 'unix:' && u.searchParams.has('db') ? `?db=${u.searchParams.get('db')}` : '';
  return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}${db}`;
}

/** What the process runs on, for its first log line: an operator sees a wrong database or store at once. */
export function configSummary(config: Config): Record<string, string> {
  return {
    database: config.DATABASE_URL ? whereOf(config.DATABASE_URL) : `embedded PGlite in ${join(config.DATA_DIR, 'pglite')}`,
    modelStore: config.REDIS_URL ? whereOf(config.REDIS_URL) : `in process, snapshots in ${join(config.DATA_DIR, 'model-store')}`,
    jobRunner: config.JOB_RUNNER,
    defaultRecipe: config.DEFAULT_RECIPE,
    apiKeys: config.AUTH_DISABLED ? 'none checked (AUTH_DISABLED)' : config.API_KEYS.map((k) => k.scope).join(',') || 'generated admin key',
  };
}

