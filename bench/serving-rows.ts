/**
 * The per-customer part of the serving build on a shop imported into Postgres, timed and fingerprinted:
 *
 *   DATABASE_URL=... npx tsx bench/serving-rows.ts [--every 10] [--fitted FILE] [--recipe default]
 *
 * Reads the shop's purchases, fits the recipe as written (no tuning; with `--fitted FILE` the fitted
 * sources and hybrid are read from FILE when it exists, else written to it, so a second run compares
 * builds over the same models without fitting again), then builds in one thread the rows `npm run train`
 * precomputes (PRECOMPUTE_DAYS) for every `--every`-th customer (by customer index) and prints the build's
 * time and the SHA-256 of every row built (customer id, users-table entry, stored single lists, in order):
 * two builds that print the same hash served the same lists.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { loadConfig } from '../src/config.js';
import { buildDataset } from '../src/recommenders/dataset.js';
import { hybridFromArtifact } from '../src/recommenders/hybrid.js';
import type { Recommender } from '../src/recommenders/recommender.js';
import { recommenderFactory } from '../src/recommenders/registry.js';
import { prepareServingModel, userRowChunks, type FittedModels } from '../src/serving/serving-model-builder.js';
import { fitRecipe, loadRecipe } from '../src/training/recipe.js';
import { loadShop } from './lib/shop-input.js';

const args = process.argv.slice(2);
const option = (flag: string, fallback?: string) => {
  const at = args.indexOf(flag);
  return at >= 0 ? args[at + 1] : fallback;
};
const every = Number(option('--every', '10'));
const recipeName = option('--recipe', 'default')!;
const fittedFile = option('--fitted');

let started = performance.now();
const ds = buildDataset(await loadShop());
const recipe = await loadRecipe(recipeName);
console.log(`${ds.userIds.length} customers, ${ds.itemIds.length} products, ${ds.eventUser.length} purchases; read in ${((performance.now() - started) / 1000).toFixed(1)} s`);

/** Fitted sources and hybrid as one file: a JSON header line of [name, family, bytes] and the artifacts after it. */
async function saveFitted(file: string, fitted: FittedModels): Promise<void> {
  const parts: [string, string, Uint8Array][] = [...fitted.sources].map(([name, r]) => [name, recipe.sources[name]?.recommender ?? name, r.toArtifact()]);
  parts.push(['', 'hybrid', fitted.hybrid.toArtifact()]);
  const header = Buffer.from(JSON.stringify(parts.map(([n, f, b]) => [n, f, b.byteLength])) + '\n');
  await writeFile(file, Buffer.concat([header, ...parts.map(([, , b]) => b)]));
}

async function loadFitted(file: string): Promise<FittedModels> {
  const bytes = new Uint8Array(await readFile(file));
  const end = bytes.indexOf(10);
  const parts = JSON.parse(Buffer.from(bytes.subarray(0, end)).toString()) as [string, string, number][];
  let at = end + 1;
  const sources = new Map<string, Recommender>();
  let hybrid: Recommender | undefined;
  for (const [name, family, length] of parts) {
    const b = bytes.slice(at, at + length);
    at += length;
    if (family === 'hybrid') hybrid = hybridFromArtifact(b, sources);
    else sources.set(name, recommenderFactory(family)!.fromArtifact(b, ds));
  }
  return { sources, hybrid: hybrid! };
}

started = performance.now();
let fitted: FittedModels;
if (fittedFile && existsSync(fittedFile)) {
  fitted = await loadFitted(fittedFile);
  console.log(`fitted models read from ${fittedFile} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
} else {
  fitted = await fitRecipe(ds, recipe);
  console.log(`fitted ${recipeName} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  if (fittedFile) await saveFitted(fittedFile, fitted);
}

const prepared = prepareServingModel({ ds, fitted, recipe, precomputeDays: loadConfig().PRECOMPUTE_DAYS });
const chunks = function* () {
  for (let u = 0, index = 0; u < ds.userIds.length; u += every) yield { index: index++, from: u, to: u + 1 };
};
const load = loadavg();
const hash = createHash('sha256');
let customers = 0;
started = performance.now();
const cpu = process.cpuUsage();
for (const rows of userRowChunks({ ...prepared, ds, fitted }, chunks())) {
  for (const [id, entry] of rows.users) {
    hash.update(`${id}\n`).update(entry);
    customers++;
  }
  for (const table of rows.strategies) for (const [id, list] of table) hash.update(`${id}\n`).update(list);
}
const ms = performance.now() - started;
const used = process.cpuUsage(cpu);
console.log(
  `built ${customers} customers' rows (every ${every}th) in ${(ms / 1000).toFixed(1)} s wall, ${((used.user + used.system) / 1e6).toFixed(1)} s CPU ` +
    `(${((ms * 1000) / customers).toFixed(0)} us a customer); load average ${load.map((l) => l.toFixed(1)).join(' ')} -> ${loadavg().map((l) => l.toFixed(1)).join(' ')}`,
);
console.log(`sha256 of the rows: ${hash.digest('hex')}`);
