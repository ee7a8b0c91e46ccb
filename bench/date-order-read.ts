/**
 * How much of an Online Retail file the importer's date-order detection (detectDateOrder) reads before the import's
 * own read, against that read: `npx tsx bench/date-order-read.ts FILE...`. Each file's detection and a full read of its
 * records, timed one after the other.
 */
import { readCsvRecords } from '../src/data/importers/csv-source.js';
import { detectDateOrder } from '../src/data/importers/online-retail-importer.js';

for (const file of process.argv.slice(2)) {
  const t0 = performance.now();
  const order = await detectDateOrder(file).catch((err: Error) => `refused (${err.message.slice(0, 60)}...)`);
  const t1 = performance.now();
  let rows = -1;
  for await (const _ of readCsvRecords(file)) rows++;
  const t2 = performance.now();
  console.log(`${file.split('/').pop()}: ${order}, detection ${(t1 - t0).toFixed(0)} ms, full read ${(t2 - t1).toFixed(0)} ms (${rows} rows)`);
}
