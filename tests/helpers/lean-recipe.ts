import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * A folder of its own (for createTestApp's `recipesDir`) holding NAME.json: models/default.json less the
 * sources `dropped`, and their weights, so a test whose subject is not those sources trains and evaluates
 * on fewer fits. Everything else (the other sources' params, the blend's shape) is the shipped default's.
 */
export async function leanRecipeDir(name: string, dropped: readonly string[]): Promise<string> {
  const recipe = JSON.parse(await readFile(path.resolve('models/default.json'), 'utf8'));
  recipe.name = name;
  for (const source of dropped) {
    if (!(source in recipe.sources)) throw new Error(`models/default.json has no source "${source}"`);
    delete recipe.sources[source];
    for (const weights of [recipe.hybrid.weights, recipe.hybrid.repeatWeights]) for (const tier of Object.values(weights ?? {})) delete (tier as Record<string, number>)[source];
  }
  // What the shipped weights were tuned on, which names the dropped sources: not this recipe's.
  delete recipe.validation;
  const dir = await mkdtemp(path.join(tmpdir(), 'recipes-'));
  await writeFile(path.join(dir, `${name}.json`), JSON.stringify(recipe));
  return dir;
}
