/**
 * What a model version's copy in Postgres (src/training/model-copies.ts, model-copy-codec.ts) holds and how well it
 * compresses: a training of the default recipe on the full Online Retail data (or N re-keyed copies, or a shop
 * already imported: `--shop`, as bench/model-copy.ts), its copy read back from `model_copy_chunks` as stored, then
 *
 *   - the copy's parts: the bytes of each artifact and of each table's entries (keys and values), largest first;
 *   - each codec of node:zlib (gzip and raw deflate at low levels, brotli at low qualities) over every 4 MiB chunk
 *     of the copy decoded, one chunk at a time as the writer would: the bytes out, and the CPU time (user+sys of this
 *     process, the codec run synchronously on the main thread) to compress the whole copy and to decompress it.
 *
 *   npx tsx bench/model-copy-compression.ts [--copies N] [--shop] [--no-tune]
 *
 * The copy made is deleted afterwards, and the model written to Redis under a random prefix.
 */
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import * as zlib from 'node:zlib';
import { createModelCopyRepository } from '../src/data/model-copy-repository.js';
import { createServices } from '../src/services.js';
import { createCopyEncoder, decodeCopy, packCopyChunk, unpackCopyChunks, type CopyPart } from '../src/store/model-copy-codec.js';
import { createRedisModelStore } from '../src/store/redis-model-store.js';
import { openModelCopyBench } from './lib/model-copy-bench.js';
import { deleteRedisPrefix } from './lib/redis-prefix.js';

const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');
const cpuMs = (f: () => void) => {
  const c0 = process.cpuUsage();
  f();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
};

const { db, config, tune, REDIS } = await openModelCopyBench(process.argv.slice(2));
const prefix = `bench_copyz_${randomBytes(3).toString('hex')}:`;
const store = createRedisModelStore({ url: REDIS, prefix });
console.log(`machine: ${cpus().length} cores, load average at start ${load()}`);

try {
  await db.query('DELETE FROM model_copies');
  const services = createServices({ config, db, store });
  const result = await services.trainer.train({ tune });
  console.log(`trained ${result.version}: copy ${result.copy ? `${mib(result.copy.bytes)} MiB in ${result.copy.chunks} chunks` : 'none'}; load ${load()}`);
  const repo = createModelCopyRepository(db);
  const { rows } = await db.query<{ size: string; stored: string }>(
    "SELECT pg_total_relation_size('model_copy_chunks') AS size, (SELECT sum(octet_length(bytes)) FROM model_copy_chunks) AS stored",
  );
  console.log(`model_copy_chunks on disk ${mib(Number(rows[0].size))} MiB; the chunks' bytes as stored ${mib(Number(rows[0].stored))} MiB`);

  // The chunks as the writer cut them before any compression (decoded when stored compressed).
  const raw: Buffer[] = [];
  for await (const chunk of unpackCopyChunks(repo.chunks(result.version))) raw.push(Buffer.from(chunk.bytes));
  const total = raw.reduce((n, c) => n + c.length, 0);

  // The parts: each artifact, each table (keys and values with their length prefixes).
  const parts = new Map<string, number>();
  async function* replay() {
    yield* raw;
  }
  for await (const part of decodeCopy(replay())) {
    for (const [name, data] of part.artifacts) parts.set(`artifact ${name}`, (parts.get(`artifact ${name}`) ?? 0) + data.byteLength);
    for (const [name, entries] of part.tables) {
      let n = 0;
      for (const [key, value] of entries) n += 8 + Buffer.byteLength(key) + value.byteLength;
      parts.set(`table ${name}`, (parts.get(`table ${name}`) ?? 0) + n);
    }
  }
  console.log(`\ncopy ${mib(total)} MiB in ${raw.length} chunks; its parts, largest first:`);
  console.log('| part | MiB | share |\n|---|---|---|');
  for (const [name, bytes] of [...parts].sort((a, b) => b[1] - a[1])) {
    if (bytes / total < 0.002) continue;
    console.log(`| ${name} | ${mib(bytes)} | ${((100 * bytes) / total).toFixed(1)}% |`);
  }

  // The copy's own CPU without the store's and Postgres's: encoding its parts into chunks as the training does (as
  // they were decoded, in order), and decoding the chunks into parts as the restore does; each then with this
  // release's compression (packCopyChunk / unpackCopyChunks, brotli quality 1 in the thread pool: counted, as
  // process.cpuUsage counts every thread of the process).
  const decodedParts: CopyPart[] = [];
  for await (const part of decodeCopy(replay())) decodedParts.push(part);
  const asyncCpuMs = async (f: () => Promise<void>) => {
    const c0 = process.cpuUsage();
    await f();
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / 1000;
  };
  let encoded: Buffer[] = [];
  const encode = () => {
    const enc = createCopyEncoder(result.version);
    encoded = [];
    for (const part of decodedParts) {
      for (const [name, data] of part.artifacts) enc.artifact(name, data);
      for (const [name, entries] of part.tables) for (const [key, value] of entries) enc.entry(name, key, value);
      encoded.push(...enc.take());
    }
    encoded.push(...enc.take(true));
  };
  const encodeMs = cpuMs(encode);
  let packedChunks: Buffer[] = [];
  const encodePackMs = await asyncCpuMs(async () => {
    encode();
    packedChunks = [];
    for (const c of encoded) packedChunks.push(await packCopyChunk(c));
  });
  const numbered = async function* (chunks: Buffer[]) {
    for (const [seq, bytes] of chunks.entries()) yield { seq, bytes };
  };
  const decodeMs = await asyncCpuMs(async () => {
    for await (const _ of decodeCopy(replay()));
  });
  const unpackDecodeMs = await asyncCpuMs(async () => {
    async function* unpacked() {
      for await (const c of unpackCopyChunks(numbered(packedChunks))) yield c.bytes;
    }
    for await (const _ of decodeCopy(unpacked()));
  });
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  console.log(`\nthe copy's CPU, load ${load()}:`);
  console.log('| step | uncompressed (the release before) | compressed (brotli quality 1) |\n|---|---|---|');
  console.log(`| training: encode (+ compress) the whole copy | ${s(encodeMs)} | ${s(encodePackMs)} |`);
  console.log(`| restore: (decompress +) decode the whole copy | ${s(decodeMs)} | ${s(unpackDecodeMs)} |`);

  const brotli = (quality: number) => ({ params: { [zlib.constants.BROTLI_PARAM_QUALITY]: quality, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: 4 << 20 } });
  const codecs: { name: string; pack: (b: Buffer) => Buffer; unpack: (b: Buffer) => Buffer }[] = [
    { name: 'gzip level 1', pack: (b) => zlib.gzipSync(b, { level: 1 }), unpack: (b) => zlib.gunzipSync(b) },
    { name: 'deflate (raw) level 1', pack: (b) => zlib.deflateRawSync(b, { level: 1 }), unpack: (b) => zlib.inflateRawSync(b) },
    { name: 'deflate (raw) level 3', pack: (b) => zlib.deflateRawSync(b, { level: 3 }), unpack: (b) => zlib.inflateRawSync(b) },
    { name: 'deflate (raw) level 6', pack: (b) => zlib.deflateRawSync(b, { level: 6 }), unpack: (b) => zlib.inflateRawSync(b) },
    { name: 'brotli quality 1', pack: (b) => zlib.brotliCompressSync(b, brotli(1)), unpack: (b) => zlib.brotliDecompressSync(b) },
    { name: 'brotli quality 3', pack: (b) => zlib.brotliCompressSync(b, brotli(3)), unpack: (b) => zlib.brotliDecompressSync(b) },
    { name: 'brotli quality 5', pack: (b) => zlib.brotliCompressSync(b, brotli(5)), unpack: (b) => zlib.brotliDecompressSync(b) },
  ];
  console.log(`\nload before the codecs ${load()}`);
  console.log('| codec (each 4 MiB chunk on its own) | MiB out | of the copy | compress CPU | decompress CPU |\n|---|---|---|---|---|');
  for (const codec of codecs) {
    let out = 0;
    const packed: Buffer[] = [];
    const pack = cpuMs(() => {
      for (const c of raw) packed.push(codec.pack(c));
    });
    for (const p of packed) out += p.length;
    let same = true;
    const unpack = cpuMs(() => {
      packed.forEach((p, i) => (same &&= codec.unpack(p).equals(raw[i])));
    });
    if (!same) throw new Error(`${codec.name} did not round-trip`);
    console.log(`| ${codec.name} | ${mib(out)} | ${((100 * out) / total).toFixed(1)}% | ${(pack / 1000).toFixed(2)} s | ${(unpack / 1000).toFixed(2)} s |`);
  }
  console.log(`load at the end ${load()}`);
} finally {
  await db.query('DELETE FROM model_copies').catch(() => {});
  await deleteRedisPrefix(REDIS, prefix);
  await store.close();
  await db.close();
}
process.exit(0);
