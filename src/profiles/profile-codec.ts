/**
 * Profiles as a model artifact (artifact.ts), so training can store them with a model version and serving
 * can read one customer's profile. Column layout, one entry per customer unless noted:
 *
 *   i32  recencyDays, tenureDays, frequency
 *   f64  monetary, avgBasketSize, avgBasketLines, avgBasketValue, firstOrder, lastOrder (epoch ms),
 *        priceSensitivity, meanIntervalDays (NaN = null)
 *   u8   scores [r, f, m] x n;  labels [segment, lifecycle, valueTier] x n (indices into the label lists)
 *   u32  termPtr (n + 1), termIds; f64 termWeights — top terms in CSR form; the same for categories (cat*)
 *   strings (user ids, term and category vocabularies): UTF-8 bytes (u8) + offsets (u32, count + 1)
 */
import { ArtifactFormatError, artifactLayout, decodeArtifact, encodeArtifact, type ArtifactPatch, type ArtifactRangeReader, type TypedArray } from '../recommenders/artifact.js';
import type { WeightedLabel } from './profile-terms.js';
import { LIFECYCLE_STAGES, RFM_SEGMENTS, VALUE_TIERS, type SegmentedProfile } from './segments.js';
import { packedPositionsOf, packedWithout, packStrings, unpackStrings } from '../recommenders/string-pack.js';

const ALGORITHM = 'customer-profiles';
const VERSION = 1;

export interface ProfileArtifactInfo {
  /** Reference time (epoch ms) the recencies were measured against. */
  now?: number;
  trainedAt?: string;
  /** Options used (e.g. lifecycle thresholds), kept for the record. */
  params?: unknown;
}

export interface DecodedProfiles {
  now: number | null;
  trainedAt?: string;
  params?: unknown;
  profiles: SegmentedProfile[];
}

/** Weighted label lists as CSR over one vocabulary. */
function packLabels(lists: readonly WeightedLabel[][]) {
  const vocabulary: string[] = [];
  const index = new Map<string, number>();
  const ptr = new Uint32Array(lists.length + 1);
  const ids: number[] = [];
  const weights: number[] = [];
  lists.forEach((list, k) => {
    for (const { label, weight } of list) {
      let id = index.get(label);
      if (id === undefined) index.set(label, (id = vocabulary.push(label) - 1));
      ids.push(id);
      weights.push(weight);
    }
    ptr[k + 1] = ids.length;
  });
  const vocab = packStrings(vocabulary);
  return { ptr, ids: Uint32Array.from(ids), weights: Float64Array.from(weights), vocabBytes: vocab.bytes, vocabOffsets: vocab.offsets };
}

export function encodeProfiles(profiles: readonly SegmentedProfile[], info: ProfileArtifactInfo = {}): Uint8Array {
  const n = profiles.length;
  const col = <T extends TypedArray>(Ctor: new (n: number) => T, get: (p: SegmentedProfile) => number): T => {
    const out = new Ctor(n);
    for (let k = 0; k < n; k++) out[k] = get(profiles[k]);
    return out;
  };
  const scores = new Uint8Array(3 * n);
  const labels = new Uint8Array(3 * n);
  profiles.forEach((p, k) => {
    scores.set([p.rScore, p.fScore, p.mScore], 3 * k);
    labels.set([RFM_SEGMENTS.indexOf(p.segment), LIFECYCLE_STAGES.indexOf(p.lifecycle), VALUE_TIERS.indexOf(p.valueTier)], 3 * k);
  });
  const ids = packStrings(profiles.map((p) => p.userId));
  const terms = packLabels(profiles.map((p) => p.topTerms));
  const cats = packLabels(profiles.map((p) => p.topCategories));
  return encodeArtifact(
    { algorithm: ALGORITHM, version: VERSION, trainedAt: info.trainedAt, params: info.params, meta: { count: n, now: info.now ?? null } },
    {
      recencyDays: col(Int32Array, (p) => p.recencyDays),
      tenureDays: col(Int32Array, (p) => p.tenureDays),
      frequency: col(Int32Array, (p) => p.frequency),
      monetary: col(Float64Array, (p) => p.monetary),
      avgBasketSize: col(Float64Array, (p) => p.avgBasketSize),
      avgBasketLines: col(Float64Array, (p) => p.avgBasketLines),
      avgBasketValue: col(Float64Array, (p) => p.avgBasketValue),
      firstOrder: col(Float64Array, (p) => Date.parse(p.firstOrder)),
      lastOrder: col(Float64Array, (p) => Date.parse(p.lastOrder)),
      priceSensitivity: col(Float64Array, (p) => p.priceSensitivity ?? Number.NaN),
      meanIntervalDays: col(Float64Array, (p) => p.meanIntervalDays ?? Number.NaN),
      scores,
      labels,
      userIdBytes: ids.bytes,
      userIdOffsets: ids.offsets,
      termPtr: terms.ptr,
      termIds: terms.ids,
      termWeights: terms.weights,
      termVocabBytes: terms.vocabBytes,
      termVocabOffsets: terms.vocabOffsets,
      catPtr: cats.ptr,
      catIds: cats.ids,
      catWeights: cats.weights,
      catVocabBytes: cats.vocabBytes,
      catVocabOffsets: cats.vocabOffsets,
    },
  );
}

/** Reads profiles written by encodeProfiles; throws ArtifactFormatError on anything else or on inconsistent data. */
export function decodeProfiles(bytes: Uint8Array): DecodedProfiles {
  const d = profileColumns(bytes);
  const profiles: SegmentedProfile[] = [];
  for (let k = 0; k < d.count; k++) if (!d.blanked(k)) profiles.push(d.profile(k));
  return { ...d.info, profiles };
}

/**
 * decodeProfiles with `pause()` awaited after every `chunk` profiles, so a caller on a thread that answers
 * requests lets others run between stretches (420,000 profiles decoded in one stretch held it for 6-12 s).
 */
export async function decodeProfilesInChunks(bytes: Uint8Array, pause: () => Promise<void>, chunk = 5000): Promise<DecodedProfiles> {
  const d = profileColumns(bytes);
  const profiles: SegmentedProfile[] = [];
  for (let k = 0; k < d.count; k++) {
    if (k > 0 && k % chunk === 0) await pause();
    if (!d.blanked(k)) profiles.push(d.profile(k));
  }
  return { ...d.info, profiles };
}

/**
 * The profiles artifact as its columns (copies of the artifact's arrays), with one customer's profile
 * decoded on demand: what serving keeps, so a segment report, a group's members or one profile needs no
 * object per customer (decoding all 420,000 into objects took 20-48 s of a loaded machine).
 */
export interface ProfileColumns {
  count: number;
  info: Omit<DecodedProfiles, 'profiles'>;
  userIds: string[];
  recencyDays: Int32Array;
  frequency: Int32Array;
  monetary: Float64Array;
  /** [r, f, m] per customer. */
  scores: Uint8Array;
  /** [segment, lifecycle, valueTier] per customer: indices into RFM_SEGMENTS, LIFECYCLE_STAGES, VALUE_TIERS. */
  labels: Uint8Array;
  /** The k-th customer's profile. */
  profile(k: number): SegmentedProfile;
  /**
   * Overwrites everything the columns hold of the k-th customer (numbers zeroed, id '', term and category
   * weights zeroed), in place: an erased customer's data is not kept in memory. Their row stays (positions
   * of the others unchanged); whoever keeps the columns leaves it out from then on.
   */
  blank(k: number): void;
  /**
   * Whether the k-th row is blanked (an erased customer's): by `blank`, or in the stored artifact by an
   * erasure's patches (profilePatchesWithout), whose row stays with every byte zero and its id ''. A real
   * customer's r score is 1 to 5, never 0.
   */
  blanked(k: number): boolean;
}

export function profileColumns(bytes: Uint8Array): ProfileColumns {
  const columns = columnsOf(bytes, (ids, offsets) => unpackStrings(ids, offsets, 'profiles user ids'));
  for (let k = 0; k < columns.count; k++) if (columns.blanked(k)) columns.userIds[k] = '';
  return columns;
}

/** profileColumns with the ids unpacked `chunk` at a time, `pause()` awaited between. */
export async function profileColumnsInChunks(bytes: Uint8Array, pause: () => Promise<void>, chunk = 20_000): Promise<ProfileColumns> {
  let userIds: string[] = [];
  let idArrays: [Uint8Array, Uint32Array] | null = null;
  const columns = columnsOf(bytes, (ids, offsets) => {
    idArrays = [ids, offsets];
    return userIds;
  });
  const [ids, offsets] = idArrays!;
  for (let from = 0; from < columns.count; from += chunk) {
    if (from > 0) await pause();
    userIds = userIds.concat(unpackStrings(ids, offsets, 'profiles user ids', from, Math.min(columns.count, from + chunk)));
  }
  for (let k = 0; k < columns.count; k++) if (columns.blanked(k)) userIds[k] = '';
  columns.userIds = userIds;
  return columns;
}

/** The artifact's header checked and its arrays found; `unpackIds` makes the user ids of their packed arrays. */
function columnsOf(bytes: Uint8Array, unpackIds: (ids: Uint8Array, offsets: Uint32Array) => string[]): ProfileColumns {
  const { header, arrays } = decodeArtifact(bytes, { algorithm: ALGORITHM, version: VERSION });
  const n = header.meta?.count;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw new ArtifactFormatError('bad profile count');
  const get = <T extends TypedArray>(name: string, Ctor: abstract new (...args: never[]) => T, length?: number): T => {
    const a = arrays[name];
    if (!(a instanceof Ctor)) throw new ArtifactFormatError(`missing or mistyped array ${name}`);
    if (length !== undefined && a.length !== length) throw new ArtifactFormatError(`array ${name} has length ${a.length}, expected ${length}`);
    return a;
  };
  const idBytes = get('userIdBytes', Uint8Array);
  const idOffsets = get('userIdOffsets', Uint32Array, n + 1);
  if (n > 0 && idOffsets[n] > idBytes.length) throw new ArtifactFormatError('profiles user ids: bad string offsets');
  const labelLists = (prefix: string) => {
    const ptr = get(`${prefix}Ptr`, Uint32Array, n + 1);
    const ids = get(`${prefix}Ids`, Uint32Array);
    const weights = get(`${prefix}Weights`, Float64Array, ids.length);
    const vocabulary = unpackStrings(get(`${prefix}VocabBytes`, Uint8Array), get(`${prefix}VocabOffsets`, Uint32Array), `profiles ${prefix} vocabulary`);
    const list = (k: number): WeightedLabel[] => {
      if (ptr[k] > ptr[k + 1] || ptr[k + 1] > ids.length) throw new ArtifactFormatError(`bad ${prefix} pointers`);
      const out: WeightedLabel[] = [];
      for (let q = ptr[k]; q < ptr[k + 1]; q++) {
        if (ids[q] >= vocabulary.length) throw new ArtifactFormatError(`bad ${prefix} id`);
        out.push({ label: vocabulary[ids[q]], weight: weights[q] });
      }
      return out;
    };
    const blank = (k: number) => {
      if (ptr[k] > ptr[k + 1] || ptr[k + 1] > ids.length) return;
      ids.fill(0, ptr[k], ptr[k + 1]);
      weights.fill(0, ptr[k], ptr[k + 1]);
    };
    return { list, blank };
  };
  const terms = labelLists('term');
  const cats = labelLists('cat');
  const i32 = (name: string) => get(name, Int32Array, n);
  const f64 = (name: string) => get(name, Float64Array, n);
  const [recency, tenure, frequency] = [i32('recencyDays'), i32('tenureDays'), i32('frequency')];
  const [monetary, size, lines, value] = [f64('monetary'), f64('avgBasketSize'), f64('avgBasketLines'), f64('avgBasketValue')];
  const [first, last, sensitivity, interval] = [f64('firstOrder'), f64('lastOrder'), f64('priceSensitivity'), f64('meanIntervalDays')];
  const scores = get('scores', Uint8Array, 3 * n);
  const labels = get('labels', Uint8Array, 3 * n);
  const label = <T>(list: readonly T[], index: number): T => {
    if (index >= list.length) throw new ArtifactFormatError(`label index ${index} out of range`);
    return list[index];
  };
  const orNull = (x: number) => (Number.isNaN(x) ? null : x);
  const now = header.meta?.now;
  const columns: ProfileColumns = {
    count: n,
    info: { now: typeof now === 'number' ? now : null, trainedAt: header.trainedAt, params: header.params },
    userIds: unpackIds(idBytes, idOffsets),
    recencyDays: recency,
    frequency,
    monetary,
    scores,
    labels,
    profile: (k) => ({
      userId: columns.userIds[k],
      recencyDays: recency[k],
      tenureDays: tenure[k],
      frequency: frequency[k],
      monetary: monetary[k],
      rScore: scores[3 * k],
      fScore: scores[3 * k + 1],
      mScore: scores[3 * k + 2],
      avgBasketSize: size[k],
      avgBasketLines: lines[k],
      avgBasketValue: value[k],
      priceSensitivity: orNull(sensitivity[k]),
      meanIntervalDays: orNull(interval[k]),
      firstOrder: new Date(first[k]).toISOString(),
      lastOrder: new Date(last[k]).toISOString(),
      topTerms: terms.list(k),
      topCategories: cats.list(k),
      segment: label(RFM_SEGMENTS, labels[3 * k]),
      lifecycle: label(LIFECYCLE_STAGES, labels[3 * k + 1]),
      valueTier: label(VALUE_TIERS, labels[3 * k + 2]),
    }),
    blank(k) {
      if (!(k >= 0 && k < n)) return;
      for (const a of [recency, tenure, frequency]) a[k] = 0;
      for (const a of [monetary, size, lines, value, first, last, sensitivity, interval]) a[k] = 0;
      scores.fill(0, 3 * k, 3 * k + 3);
      labels.fill(0, 3 * k, 3 * k + 3);
      idBytes.fill(0, idOffsets[k], idOffsets[k + 1]);
      columns.userIds[k] = '';
      terms.blank(k);
      cats.blank(k);
    },
    blanked: (k) => scores[3 * k] === 0,
  };
  return columns;
}

/** encodeProfiles's arrays by how they hold a customer: one entry, three, or a list (CSR); the rest is shared. */
const ONE_PER_CUSTOMER = ['recencyDays', 'tenureDays', 'frequency', 'monetary', 'avgBasketSize', 'avgBasketLines', 'avgBasketValue', 'firstOrder', 'lastOrder', 'priceSensitivity', 'meanIntervalDays'];
const THREE_PER_CUSTOMER = ['scores', 'labels'];
const LISTS = ['term', 'cat'];
const SHARED = ['termVocabBytes', 'termVocabOffsets', 'catVocabBytes', 'catVocabOffsets'];

/** The runs of rows [from, to) of `count` left when the sorted rows `gone` are taken out. */
function keptRuns(count: number, gone: readonly number[]): [number, number][] {
  const runs: [number, number][] = [];
  let from = 0;
  for (const k of [...gone, count]) {
    if (k > from) runs.push([from, k]);
    from = k + 1;
  }
  return runs;
}

/** Entries `stride` per row, only those of the kept runs: copied a run at a time. */
function rowsOf<T extends TypedArray>(a: T, stride: number, runs: readonly [number, number][], rows: number): T {
  const out = new (a.constructor as new (n: number) => T)(stride * rows);
  let at = 0;
  for (const [from, to] of runs) {
    out.set(a.subarray(stride * from, stride * to), at);
    at += stride * (to - from);
  }
  return out;
}

/**
 * The artifact without the given customers, or null when none of them is in it: what
 * `encodeProfiles(decodeProfiles(bytes).profiles.filter(...))` gives, but done on the arrays, so an erasure
 * at 420,000 customers takes tens of milliseconds instead of seconds of the event loop building and
 * re-encoding every profile. The term and category vocabularies are kept whole (product words, not the
 * customer's); the other customers' entries are copied as they are.
 */
export function encodedProfilesWithout(bytes: Uint8Array, userIds: ReadonlySet<string>): Uint8Array | null {
  const { header, arrays } = decodeArtifact(bytes, { algorithm: ALGORITHM, version: VERSION }, { share: true });
  const n = header.meta?.count;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw new ArtifactFormatError('bad profile count');
  const known = new Set([...ONE_PER_CUSTOMER, ...THREE_PER_CUSTOMER, ...SHARED, 'userIdBytes', 'userIdOffsets', ...LISTS.flatMap((l) => [`${l}Ptr`, `${l}Ids`, `${l}Weights`])]);
  if (Object.keys(arrays).some((name) => !known.has(name)) || Object.keys(arrays).length !== known.size) {
    throw new ArtifactFormatError('profiles: unexpected arrays');
  }
  const idBytes = arrays.userIdBytes;
  const idOffsets = arrays.userIdOffsets;
  if (!(idBytes instanceof Uint8Array) || !(idOffsets instanceof Uint32Array) || idOffsets.length !== n + 1 || idOffsets[n] > idBytes.length) {
    throw new ArtifactFormatError('profiles user ids: bad string arrays');
  }
  const gone = packedPositionsOf(idBytes, idOffsets, userIds);
  if (gone.size === 0) return null;
  const runs = keptRuns(n, [...gone].sort((x, y) => x - y));
  const kept = n - gone.size;
  const out: Record<string, TypedArray> = {};
  for (const name of SHARED) out[name] = arrays[name];
  for (const [names, stride] of [[ONE_PER_CUSTOMER, 1], [THREE_PER_CUSTOMER, 3]] as const) {
    for (const name of names) {
      if (arrays[name].length !== stride * n) throw new ArtifactFormatError(`array ${name} has length ${arrays[name].length}, expected ${stride * n}`);
      out[name] = rowsOf(arrays[name], stride, runs, kept);
    }
  }
  const ids = packedWithout(idBytes, idOffsets, gone, false);
  out.userIdBytes = ids.bytes;
  out.userIdOffsets = ids.offsets;
  for (const list of LISTS) {
    const ptr = arrays[`${list}Ptr`];
    const entries = arrays[`${list}Ids`];
    const weights = arrays[`${list}Weights`];
    if (!(ptr instanceof Uint32Array) || ptr.length !== n + 1 || ptr[n] > entries.length || weights.length !== entries.length) throw new ArtifactFormatError(`bad ${list} pointers`);
    for (let k = 0; k < n; k++) if (ptr[k] > ptr[k + 1]) throw new ArtifactFormatError(`bad ${list} pointers`);
    // The kept customers' entries, a run of customers at a time; their pointers shifted by what went before.
    const newPtr = new Uint32Array(kept + 1);
    const entryRuns: [number, number][] = runs.map(([from, to]) => [ptr[from], ptr[to]]);
    const length = entryRuns.reduce((sum, [from, to]) => sum + to - from, 0);
    const newIds = rowsOf(entries, 1, entryRuns, length);
    const newWeights = rowsOf(weights, 1, entryRuns, length);
    let j = 0;
    let shift = 0;
    let last = 0;
    for (const [from, to] of runs) {
      shift += ptr[from] - last;
      for (let k = from; k < to; k++) newPtr[++j] = ptr[k + 1] - shift;
      last = ptr[to];
    }
    out[`${list}Ptr`] = newPtr;
    out[`${list}Ids`] = newIds;
    out[`${list}Weights`] = newWeights;
  }
  const { arrays: _listed, ...rest } = header as typeof header & { arrays?: unknown };
  return encodeArtifact({ ...rest, meta: { ...header.meta, count: n - gone.size } }, out);
}

/**
 * What `blank` does to the erased customers' rows, as patches of the stored artifact (ModelStore
 * patchArtifact): every byte of their rows zeroed in place (numbers, scores and labels, their id's bytes,
 * their term and category entries), every other byte left, so an erasure reads the artifact's header, the
 * id column and two pointers per list, and writes a few hundred bytes per customer, instead of reading and
 * writing the whole artifact (23.6 MB at 100,000 customers). Readers leave blanked rows out (`blanked`).
 * Empty when none of them is in it (or only blanked already); null when the artifact is not there or not
 * laid out as this code knows (the caller then rewrites it whole with encodedProfilesWithout).
 */
export async function profilePatchesWithout(read: ArtifactRangeReader, userIds: ReadonlySet<string>): Promise<ArtifactPatch[] | null> {
  const layout = await artifactLayout(read);
  if (!layout) return null;
  const { header, arrays } = layout;
  if (header.algorithm !== ALGORITHM || header.version !== VERSION) return null;
  const n = header.meta?.count;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw new ArtifactFormatError('bad profile count');
  const place = (name: string, type: string, length?: number) => {
    const at = arrays.get(name);
    if (!at || at.type !== type || (length !== undefined && at.length !== length)) throw new ArtifactFormatError(`missing or mistyped array ${name}`);
    return at;
  };
  const readArray = async (name: string, type: string, length?: number) => {
    const at = place(name, type, length);
    const size = at.length * (type === 'u8' ? 1 : 4);
    const bytes = await read(at.offset, at.offset + size);
    if (!bytes || bytes.byteLength !== size) throw new ArtifactFormatError(`array ${name} runs past the end`);
    return bytes;
  };
  const idBytes = await readArray('userIdBytes', 'u8');
  const offsetBytes = await readArray('userIdOffsets', 'u32', n + 1);
  const idOffsets = new Uint32Array(offsetBytes.buffer, offsetBytes.byteOffset, n + 1);
  if (n > 0 && idOffsets[n] > idBytes.length) throw new ArtifactFormatError('profiles user ids: bad string offsets');
  const rows = [...packedPositionsOf(idBytes, idOffsets, [...userIds].filter((id) => id !== ''))].sort((a, b) => a - b);
  const patches: ArtifactPatch[] = [];
  const zeros = (length: number) => new Uint8Array(length);
  for (const k of rows) {
    for (const name of ONE_PER_CUSTOMER) {
      const at = arrays.get(name);
      const width = at?.type === 'i32' ? 4 : at?.type === 'f64' ? 8 : 0;
      if (!at || width === 0 || at.length !== n) throw new ArtifactFormatError(`missing or mistyped array ${name}`);
      patches.push({ offset: at.offset + width * k, bytes: zeros(width) });
    }
    for (const name of THREE_PER_CUSTOMER) patches.push({ offset: place(name, 'u8', 3 * n).offset + 3 * k, bytes: zeros(3) });
    for (const list of LISTS) {
      const ptr = place(`${list}Ptr`, 'u32', n + 1);
      const ids = place(`${list}Ids`, 'u32');
      const weights = place(`${list}Weights`, 'f64', ids.length);
      const pair = await read(ptr.offset + 4 * k, ptr.offset + 4 * k + 8);
      if (!pair || pair.byteLength !== 8) throw new ArtifactFormatError(`bad ${list} pointers`);
      const view = new DataView(pair.buffer, pair.byteOffset, 8);
      const [from, to] = [view.getUint32(0, true), view.getUint32(4, true)];
      if (from > to || to > ids.length) throw new ArtifactFormatError(`bad ${list} pointers`);
      if (to === from) continue;
      patches.push({ offset: ids.offset + 4 * from, bytes: zeros(4 * (to - from)) }, { offset: weights.offset + 8 * from, bytes: zeros(8 * (to - from)) });
    }
    // The id last: a store may write the patches in several steps (redis-model-store PATCHES_PER_CALL), and
    // an erasure that fails between two is asked again, and finds the row by its id: with the id gone
    // first, the rest of the row would stay for good.
    if (idOffsets[k + 1] > idOffsets[k]) patches.push({ offset: place('userIdBytes', 'u8').offset + idOffsets[k], bytes: zeros(idOffsets[k + 1] - idOffsets[k]) });
  }
  return patches;
}
