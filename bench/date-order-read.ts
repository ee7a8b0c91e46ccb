/**
 * How much of an Online Retail file the importer's date-order detection (detectDateOrder) reads before the import's
 * own read, against that read: `npx tsx bench/date-order-read.ts FILE...`. Each file's detection (the import's, which
 * stops at 1,000 dotted dates before any slashed one, and the whole search), and a full read of its records, timed one
 * after the other.
 */
import { readCsvRecords } from '../src/data/importers/csv-source.js';
import { detectDateOrder, detectDateOrderUnlessDotted } from '../src/data/importers/online-retail-importer.js';

for (const file of process.argv.slice(2)) {
  const tu = performance.now();
  const found = await detectDateOrderUnlessDotted(file).then((o) => o ?? 'told at its first slashed date', (err: Error) => `refused (${err.message.slice(0, 60)}...)`);
  const t0 = performance.now();
  const order = await detectDateOrder(file).catch((err: Error) => `refused (${err.message.slice(0, 60)}...)`);
  const t1 = performance.now();
  let rows = -1;
  for await (const _ of readCsvRecords(file)) rows++;
  const t2 = performance.now();
  console.log(`${file.split('/').pop()}: import's detection ${found}, ${(t0 - tu).toFixed(0)} ms; whole search ${order}, ${(t1 - t0).toFixed(0)} ms; full read ${(t2 - t1).toFixed(0)} ms (${rows} rows)`);
}
