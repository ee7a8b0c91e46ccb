import { ConfigError, type Config } from './config.js';
import { loadRecipe } from './training/recipe.js';

/**
 * What the environment's values name and only a start can check: the default recipe must load. An unknown
 * one started the service ready and failed only the first training (and the retraining after a lost
 * model) with 422.
 */
export async function checkStartupConfig(config: Config): Promise<void> {
  try {
    await loadRecipe(config.DEFAULT_RECIPE);
  } catch (err) {
    throw new ConfigError(`invalid configuration:\n  DEFAULT_RECIPE: ${(err as Error).message}`);
  }
}

/**
 * What only a server's configuration can get wrong. JOB_RUNNER=worker leaves every job to `npm run worker`
 * processes, which reach this server's database and model store only through DATABASE_URL and REDIS_URL:
 * on embedded data (PGlite, the in-process store, both under a DATA_DIR one process may hold) no worker can
 * run beside the server, and every job accepted (202) stayed queued for ever while readiness said ok.
 */
export function checkServerConfig(config: Config): void {
  if (config.JOB_RUNNER !== 'worker') return;
  const unset = (['DATABASE_URL', 'REDIS_URL'] as const).filter((name) => !config[name]);
  if (unset.length === 0) return;
  throw new ConfigError(
    `invalid configuration:\n  JOB_RUNNER: worker leaves jobs to \`npm run worker\` processes, which share a server's data only through DATABASE_URL and REDIS_URL, ` +
      `and ${unset.join(' and ')} ${unset.length > 1 ? 'are' : 'is'} unset (embedded data is one process's): set ${unset.length > 1 ? 'them' : 'it'}, or JOB_RUNNER=inline to run jobs in the server`,
  );
}
