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
