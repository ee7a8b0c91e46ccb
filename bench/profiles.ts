/**
 * Customer profiles on the full Online Retail data: time to compute every profile (RFM, segments,
 * lifecycle, value tier) and the segment table. `npx tsx bench/profiles.ts [FILE]`; FILE defaults to
 * ONLINE_RETAIL_CSV, else ../shared/datasets/online-retail/online-retail.csv.gz beside the repository.
 */
import { computeProfiles } from '../src/profiles/profile.js';
import { segmentProfiles } from '../src/profiles/segments.js';
import { segmentReport, type GroupSummary } from '../src/profiles/segment-report.js';
import { buildDataset } from '../src/recommenders/dataset.js';
import { dataFile, loadOnlineRetail } from './lib/online-retail.js';

const file = process.argv[2] && !process.argv[2].startsWith('--') ? process.argv[2] : dataFile();
const input = await loadOnlineRetail(file);
const ds = buildDataset(input);

const runs: number[] = [];
let labelled = segmentProfiles(computeProfiles(ds));
for (let r = 0; r < 5; r++) {
  const t0 = performance.now();
  labelled = segmentProfiles(computeProfiles(ds));
  runs.push(performance.now() - t0);
}
runs.sort((a, b) => a - b);
const report = segmentReport(labelled);

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const mean = (x: number | null) => (x === null ? '-' : x.toFixed(2));
function table(title: string, groups: GroupSummary[]) {
  console.log(`\n| ${title} | customers | share of customers | share of revenue | mean R | mean F | mean M |`);
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const g of groups) console.log(`| ${g.name} | ${g.users} | ${pct(g.userShare)} | ${pct(g.revenueShare)} | ${mean(g.meanR)} | ${mean(g.meanF)} | ${mean(g.meanM)} |`);
}

console.log(`${ds.eventUser.length} purchases, ${labelled.length} customers, ${ds.orderCount} orders; reference date ${new Date(ds.now).toISOString().slice(0, 10)}`);
console.log(`profiles + segments for all customers: min ${runs[0].toFixed(0)} ms, median ${runs[2].toFixed(0)} ms (5 runs)`);
table('RFM segment', report.segments);
table('lifecycle stage', report.lifecycle);
table('value tier', report.valueTiers);
