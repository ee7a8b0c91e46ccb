import { backgroundLog } from './background-log.js';
import closeWithGrace from 'close-with-grace';
import { pino } from 'pino';
import { buildApp, shutdownGraceMs } from './app.js';
import { ensureAdminKey } from './admin-key.js';
import { ConfigError, configSummary, configWarnings, loadConfig, type Config } from './config.js';
import { checkServerConfig, checkStartupConfig } from './startup-checks.js';
import { frontendBodyLimitWarnings } from './http/plugins/frontend-body-limit.js';
import { openLoggedDatabase } from './open-logged-database.js';
import { createServices } from './services.js';
import type { Logger } from './jobs/job-runner.js';
import { createModelStore } from './store/create-model-store.js';
import { redisTarget } from './store/redis-connection.js';
import { probeRedis } from './store/redis-probe.js';
import { bootstrapUntilDone } from './bootstrap.js';
import { announceServerUrl } from './data/data-dir-lock.js';

function readConfig(): Config {
  try {
    const config = loadConfig();
    checkServerConfig(config);
    return config;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

/**
 * How long the start waits for Redis's first reply once it has taken the connection (redis-probe.ts): as long as any
 * command of the model store waits for one (REDIS_COMMAND_TIMEOUT_MS, 2 s by default). A Redis that replies within it
 * is slow, not silent: its calls succeed, so it is used from the start. With 500 ms, a Redis adding 700 ms to every
 * reply (a congested link, swapping) was taken for silent: its calls skipped, the erasure catch-up's first try failed
 * and its versions were held until a background retry, readiness 13-17 s after the start (bench/README "A Redis slow
 * on every reply"), and an event loop blocked over 500 ms at start did the same to a healthy Redis. A Redis that says
 * nothing costs the start this wait, alongside the database's opening; taken for silent, its refusal of REDIS_URL's
 * credentials is then only logged (onCredentialsRefused), not a configuration error.
 */
const redisStartReplyMs = (config: Config): number => config.REDIS_COMMAND_TIMEOUT_MS;

/**
 * How long the start waits for the scrub of the erasures a model store lost (versions behind: a Redis back from an
 * older snapshot) before it listens anyway, the store's versions held until the scrub has run and readiness 503
 * (`erasureCatchUp`) meanwhile: a liveness probe is answered and the storefront gets fallbacks, not refused
 * connections, while a large shop's versions are rewritten (about 0.5 s per version at ten times Online Retail,
 * bench/README.md "Erasure"; up to 30 s was waited before).
 */
const ERASURE_CATCH_UP_LISTEN_WAIT_MS = 2_000;

/** The URL a local client reaches the server at: a wildcard listen address is reached on loopback. */
function clientUrl(listening: string): string {
  const url = new URL(listening);
  if (url.hostname === '0.0.0.0') url.hostname = '127.0.0.1';
  if (url.hostname === '[::]') url.hostname = '[::1]';
  return url.origin;
}

/**
 * A logger whose lines go to `first` (a pino logger in the server's line format) until `to` names the
 * one they go to from then on (the app's).
 */
function forwardingLogger(first: Logger): Logger & { to(target: Logger): void } {
  let target: Logger = first;
  const line = (level: keyof Logger) => (obj: object, msg: string) => target[level](obj, msg);
  return { info: line('info'), warn: line('warn'), error: line('error'), to: (t) => void (target = t) };
}

/** The logger of the start, before the app's exists: its failure is a JSON line too. */
let startLog: Logger | undefined;

async function main() {
  let config = readConfig();
  if (config.API_KEYS.length === 0 && !config.AUTH_DISABLED) {
    const admin = ensureAdminKey(config.DATA_DIR);
    config = { ...config, API_KEYS: [{ scope: 'admin', key: admin.key }] };
    process.stdout.write(
      admin.created
        ? `No API_KEYS configured: generated an admin key (kept in ${admin.file}):\n  ${admin.key}\nSend it as "Authorization: Bearer <key>".\n`
        : `No API_KEYS configured: using the admin key in ${admin.file}.\n`,
    );
  }

  // JSON lines in pino's format from the first one on, as the app's and the worker's: one log query reads all.
  startLog = pino({ level: config.LOG_LEVEL });
  startLog.info(configSummary(config), 'configuration');
  for (const warning of [...configWarnings(), ...frontendBodyLimitWarnings(config)]) startLog.warn({}, warning);
  // Redis is looked at while the database opens, not after: a Redis that takes the connection and does not answer
  // (paused, a proxy whose backend is gone) costs the start redisStartReplyMs alongside, not the commands'
  // timeouts one after another (bench/README.md "Starting while Redis hangs").
  const target = redisTarget(config);
  const redisProbe = target ? probeRedis(target, redisStartReplyMs(config)) : undefined;
  redisProbe?.catch(() => {});
  await checkStartupConfig(config);
  // Background work (inline jobs, live updates, refreshes) logs through the app's logger once it exists.
  const logger = forwardingLogger(startLog);
  // A Postgres that cannot be reached at start is waited for, as a Redis is: the process listens, unready,
  // serves what needs no Postgres, and migrates once it can.
  const { db, migrated } = await openLoggedDatabase(config, logger, 'waiting for the database: not ready, and requests that need it answer 503 meanwhile');
  // A Redis that is down is not waited for (REDIS_CONNECT_WAIT_MS is the worker's and the commands'): the server
  // listens, unready, and its connection keeps retrying in the background. The first commands wait for the first
  // connection attempt (the offline queue until it is up): a Redis that answers is used before listening as before.
  const store = await createModelStore(config, { log: backgroundLog(logger, { everyMs: 30_000 }), connectWaitMs: 0, probe: redisProbe });
  // One that took the connection and said nothing is treated as down from the start: the model store's calls fail
  // at once (skipped until it answers a ping, hang-breaker.ts), as with a Redis that refuses connections.
  const redisSilent = (await redisProbe)?.silent ?? false;
  if (redisSilent) logger.warn({}, `Redis took the connection and did not answer within ${redisStartReplyMs(config)} ms: starting as if it were down (the model store is asked again every few seconds)`);
  const services = createServices({ config, db, store, logger, storefront: true, storeSilentAtStart: redisSilent });
  // Ready only once the first-start work (sample import and training) is done, so traffic waits for it.
  let bootstrapped = false;
  // False from SIGTERM on (SHUTDOWN_DELAY_MS): the balancer sees 503 while requests are still served.
  let accepting = true;
  // True from the first signal on: work still waiting to start (for a Postgres that was down) does not.
  let closing = false;
  const app = await buildApp(services, {
    logger: { level: config.LOG_LEVEL },
    readyChecks: { bootstrap: async () => bootstrapped, accepting: async () => accepting },
    // A model the store holds is served while the first-start work waits (for a Postgres that is down at start).
    servingChecks: { bootstrap: async () => bootstrapped || (await services.serving.activeModel()) !== null, accepting: async () => accepting },
    redisSilentAtStart: redisSilent,
    erasureCatchUpWaitMs: ERASURE_CATCH_UP_LISTEN_WAIT_MS,
  });
  logger.to(app.log);
  if (config.API_KEYS.some((k) => k.scope === 'frontend') && !config.FRONTEND_USER_SECRET) {
    app.log.warn(
      'frontend keys without FRONTEND_USER_SECRET: a browser asking for a customer gets the list a visitor nobody knows gets (popularity); ' +
        'to personalise in the browser, set FRONTEND_USER_SECRET and send each customer\'s X-User-Token (README, "Scopes")',
    );
  }

  // After SIGTERM's SHUTDOWN_DELAY_MS (readiness 503, still serving): stop accepting, let in-flight requests
  // finish, stop the job runner, then close pools; a second signal or the grace period forces exit.
  closeWithGrace({ delay: shutdownGraceMs(config) }, async ({ err, signal }) => {
    closing = true;
    if (err) app.log.error({ err }, 'closing after an error');
    else app.log.info({ signal }, 'shutting down');
    if (signal === 'SIGTERM' && config.SHUTDOWN_DELAY_MS > 0) {
      accepting = false;
      // The job in hand goes on meanwhile; one queued now is left for a process that stays.
      services.jobRunner?.drain();
      app.log.info({ delayMs: config.SHUTDOWN_DELAY_MS }, 'not ready: serving on until the balancer has taken this process out');
      await new Promise((resolve) => setTimeout(resolve, config.SHUTDOWN_DELAY_MS));
    }
    await app.close();
    // The erasures' worker thread was given ERASURE_CLOSE_WAIT_MS from the app's close on (app.ts preClose).
    await store.close();
    await db.close();
  });

  const address = await app.listen({ port: config.PORT, host: config.HOST });
  // With embedded data, CLIs find the server here and send it their work instead of opening DATA_DIR.
  if (!config.DATABASE_URL || !config.REDIS_URL) announceServerUrl(config.DATA_DIR, clientUrl(address), config.IMPORT_ROOTS);
  // A migration that does not apply stops the process, as it would have at start.
  await migrated;
  if (closing) return;
  // Done again once the stores answer, when one did not (a Redis started after the API): ready only then.
  await bootstrapUntilDone(services, app.log, { stopped: () => closing, retryMs: config.FIRST_START_RETRY_MS });
  if (closing) return;
  // The active version decoded, and its scorer of customers not precomputed loaded, before traffic comes:
  // otherwise the first requests wait for it and the event loop stalls under them (bench/scorer-load.ts).
  await services.serving.ready();
  if (closing) return;
  bootstrapped = true;
  // Only now: the first-start work trains an empty store itself, and must not race a recovery training.
  services.modelRecovery?.start();
}

main().catch((err) => {
  const message = err instanceof Error ? err.message : String(err);
  // A JSON line for the log collector (after the configuration line), and the plain one on stderr for whoever started it.
  if (startLog && !(err instanceof ConfigError)) startLog.error({ err: message }, 'failed to start');
  process.stderr.write(err instanceof ConfigError ? `${message}\n` : `failed to start: ${message}\n`);
  process.exit(1);
});
