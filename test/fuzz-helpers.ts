/**
 * Mutated-input checks for the file readers, shared by the property tests and
 * `scripts/fuzz-readers.ts`. Each reader is paired with a reference decoder written separately
 * from it, straight from the format's rules. A mutated file must then be either
 * - loaded to exactly what was written ('identical'),
 * - refused with a Lethe error ('rejected'),
 * - or, where the mutation made another valid file (a changed pixel, say), loaded to exactly what
 *   the reference reads from it ('other-valid');
 * anything else is a 'silent-wrong' accept or a 'non-lethe' error.
 */
import { isDeepStrictEqual } from 'node:util';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { loadCifar10 } from '../src/data/cifar.js';
import { loadIdxPair } from '../src/data/idx.js';
import { readIndexFile } from '../src/data/split.js';
import { decodeSafetensors, encodeSafetensors } from '../src/nn/safetensors.js';
import { tensor } from '../src/tensor/index.js';
import { LetheError } from '../src/util/errors.js';

export type Outcome = 'identical' | 'rejected' | 'other-valid' | 'silent-wrong' | 'non-lethe';

/** A reader under test: the bytes it was given, what it loads and what the reference reads. */
export interface Reader {
  name: string;
  original: Uint8Array;
  /** Where mutations mostly land (the header, for formats that have one). */
  hot: number;
  load(bytes: Uint8Array): unknown;
  /** The reference reading of `bytes`, or null when the format's rules make it invalid. */
  reference(bytes: Uint8Array): unknown;
}

/** One edit of a file's bytes. */
export type Mutation =
  | { kind: 'set'; at: number; byte: number }
  | { kind: 'insert'; at: number; bytes: number[] }
  | { kind: 'delete'; at: number; count: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'duplicate'; at: number; count: number };

const INTERESTING = [...'{}[]":,-.0123456789 eE\\nt'].map((c) => c.charCodeAt(0));
const byte = fc.oneof(
  fc.constantFrom(...INTERESTING, 0x00, 0x80, 0xc3, 0xff, 0x7f),
  fc.integer({ min: 0, max: 255 }),
);

/** 1–3 mutations, half of them within the first `hot` bytes. */
export function mutations(hot: number): fc.Arbitrary<Mutation[]> {
  const at = fc.oneof(fc.integer({ min: 0, max: Math.max(0, hot - 1) }), fc.nat(1 << 20));
  const one: fc.Arbitrary<Mutation> = fc.oneof(
    { weight: 5, arbitrary: fc.record({ kind: fc.constant('set' as const), at, byte }) },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('insert' as const),
        at,
        bytes: fc.array(byte, { minLength: 1, maxLength: 4 }),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('delete' as const),
        at,
        count: fc.integer({ min: 1, max: 8 }),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('duplicate' as const),
        at,
        count: fc.integer({ min: 1, max: 40 }),
      }),
    },
  );
  return fc.array(one, { minLength: 1, maxLength: 3 });
}

export function mutate(original: Uint8Array, edits: Mutation[]): Uint8Array {
  let b = Array.from(original);
  for (const m of edits) {
    const at = b.length ? m.at % (b.length + 1) : 0;
    if (m.kind === 'set') {
      if (b.length) b[at % b.length] = m.byte;
    } else if (m.kind === 'insert') b.splice(at, 0, ...m.bytes);
    else if (m.kind === 'delete') b.splice(at, m.count);
    else if (m.kind === 'truncate') b = b.slice(0, at);
    else b.splice(at, 0, ...b.slice(at, at + m.count));
  }
  return Uint8Array.from(b);
}

/** How `reader` handles `bytes`. */
export function classify(reader: Reader, bytes: Uint8Array, expected: unknown): Outcome {
  let got: unknown;
  try {
    got = reader.load(bytes);
  } catch (error) {
    return error instanceof LetheError ? 'rejected' : 'non-lethe';
  }
  if (isDeepStrictEqual(got, expected)) return 'identical';
  const ref = reader.reference(bytes);
  return ref !== null && isDeepStrictEqual(got, ref) ? 'other-valid' : 'silent-wrong';
}

const fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8 = (b: Uint8Array): string | null => {
  try {
    return fatal.decode(b);
  } catch {
    return null;
  }
};

/** Keys in a valid JSON text (strings followed by ':'), to spot two keys a parse merged. */
function keyTokens(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== '"') continue;
    let j = i + 1;
    while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
    let k = j + 1;
    while (' \t\n\r'.includes(text[k] ?? 'x')) k++;
    if (text[k] === ':') n++;
    i = j;
  }
  return n;
}
function keysIn(v: unknown): number {
  if (Array.isArray(v)) return v.reduce((n: number, x) => n + keysIn(x), 0);
  if (v !== null && typeof v === 'object')
    return Object.entries(v).reduce((n, [, x]) => n + 1 + keysIn(x), 0);
  return 0;
}

const SIZES: Record<string, number> = { F32: 4, F64: 8, I64: 8, I32: 4, U8: 1, BOOL: 1 };

/** safetensors read as plain data: tensors by name as dtype, shape and raw bytes. */
function stRead(file: {
  tensors: Map<string, { dtype: string; shape: number[]; data(): ArrayBufferView }>;
  metadata: Record<string, string>;
}): unknown {
  const tensors: Record<string, unknown> = {};
  for (const [name, t] of [...file.tensors].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const d = t.data();
    tensors[name] = {
      dtype: t.dtype,
      shape: [...t.shape],
      bytes: Buffer.from(new Uint8Array(d.buffer, d.byteOffset, d.byteLength)).toString('hex'),
    };
  }
  return { tensors, metadata: { ...file.metadata } };
}

const DTYPES: Record<string, string> = {
  F32: 'float32',
  F64: 'float64',
  I64: 'int64',
  I32: 'int32',
  U8: 'uint8',
  BOOL: 'bool',
};

/** The safetensors rules, applied to `bytes` from scratch. */
function stReference(bytes: Uint8Array): unknown {
  if (bytes.length < 8) return null;
  const n = Number(Buffer.from(bytes).readBigUInt64LE(0));
  if (n < 1 || 8 + n > bytes.length || bytes[8] !== 0x7b) return null;
  const text = utf8(bytes.subarray(8, 8 + n));
  if (text === null) return null;
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) return null;
  if (keyTokens(text) !== keysIn(header)) return null; // a duplicate key
  const data = bytes.subarray(8 + n);
  const spans: [number, number][] = [];
  const tensors: Record<string, unknown> = {};
  const metadata: Record<string, string> = {};
  for (const name of Object.keys(header).sort()) {
    const e = header[name] as Record<string, unknown>;
    if (name === '__metadata__') {
      if (typeof e !== 'object' || e === null || Array.isArray(e)) return null;
      for (const [k, v] of Object.entries(e)) {
        if (typeof v !== 'string') return null;
        metadata[k] = v;
      }
      continue;
    }
    if (typeof e !== 'object' || e === null || Array.isArray(e)) return null;
    if (Object.keys(e).sort().join() !== 'data_offsets,dtype,shape') return null;
    const {
      dtype,
      shape,
      data_offsets: off,
    } = e as {
      dtype: string;
      shape: number[];
      data_offsets: number[];
    };
    if (typeof dtype !== 'string' || !Object.hasOwn(SIZES, dtype)) return null;
    const count = (x: unknown) => Number.isSafeInteger(x) && (x as number) >= 0;
    if (!Array.isArray(shape) || !shape.every(count)) return null;
    if (!Array.isArray(off) || off.length !== 2 || !off.every(count)) return null;
    if (off[0] > off[1] || off[1] > data.length) return null;
    if (off[1] - off[0] !== shape.reduce((a, b) => a * b, 1) * SIZES[dtype]) return null;
    spans.push([off[0], off[1]]);
    tensors[name] = {
      dtype: DTYPES[dtype],
      shape,
      bytes: Buffer.from(data.subarray(off[0], off[1])).toString('hex'),
    };
  }
  spans.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let end = 0;
  for (const [b, e] of spans) {
    if (b !== end) return null;
    end = e;
  }
  if (end !== data.length) return null;
  return { tensors, metadata };
}

/** Reads safetensors bytes and frees the tensors. */
function stLoad(bytes: Uint8Array): unknown {
  const file = decodeSafetensors(bytes, 'fuzz.safetensors');
  try {
    return stRead(file as never);
  } finally {
    for (const t of file.tensors.values()) t.dispose();
  }
}

export function safetensorsReader(): Reader {
  const tensors = new Map([
    ['conv.weight', tensor(new Float32Array([0.5, -1, 2, 3.25, 4, 5]), [2, 3])],
    ['bn.num_batches_tracked', tensor(new BigInt64Array([7n]), [])],
    ['mask', tensor(new Uint8Array([1, 0, 1]), [3])],
    ['empty', tensor(new Float32Array(0), [0, 4])],
  ]);
  const original = encodeSafetensors(tensors, { format: 'lethe-checkpoint/1', seed: '3' });
  for (const t of tensors.values()) t.dispose();
  const hot = 8 + Number(Buffer.from(original).readBigUInt64LE(0));
  return { name: 'safetensors', original, hot, load: stLoad, reference: stReference };
}

/** An IDX image file of `n` 3×2 images and its label file (4 classes). */
function idxFiles(n: number): { images: Uint8Array; labels: Uint8Array } {
  const images = Buffer.alloc(16 + 6 * n);
  images.writeUInt32BE(2051, 0);
  images.writeUInt32BE(n, 4);
  images.writeUInt32BE(3, 8);
  images.writeUInt32BE(2, 12);
  for (let i = 0; i < 6 * n; i++) images[16 + i] = (i * 37) & 255;
  const labels = Buffer.alloc(8 + n);
  labels.writeUInt32BE(2049, 0);
  labels.writeUInt32BE(n, 4);
  for (let i = 0; i < n; i++) labels[8 + i] = i % 4;
  return { images, labels };
}

/** Mutates the image file (`which` 'images') or the label file of an IDX pair. */
export function idxReader(which: 'images' | 'labels'): Reader {
  const dir = mkdtempSync(join(tmpdir(), 'lethe-fuzz-idx-'));
  const files = idxFiles(5);
  const imagesFile = join(dir, 'images');
  const labelsFile = join(dir, 'labels');
  const load = (bytes: Uint8Array): unknown => {
    writeFileSync(imagesFile, which === 'images' ? bytes : files.images);
    writeFileSync(labelsFile, which === 'labels' ? bytes : files.labels);
    const ds = loadIdxPair({ name: 'x', imagesFile, labelsFile, numClasses: 4 });
    return {
      images: Buffer.from(ds.images).toString('hex'),
      labels: [...ds.labels],
      shape: [...ds.shape],
    };
  };
  const reference = (bytes: Uint8Array): unknown => {
    const img = Buffer.from(which === 'images' ? bytes : files.images);
    const lab = Buffer.from(which === 'labels' ? bytes : files.labels);
    if (img.length < 16 || lab.length < 8) return null;
    if (img.readUInt32BE(0) !== 2051 || lab.readUInt32BE(0) !== 2049) return null;
    const [count, rows, cols] = [4, 8, 12].map((o) => img.readUInt32BE(o));
    if (count < 1 || rows < 1 || cols < 1 || img.length !== 16 + count * rows * cols) return null;
    if (lab.readUInt32BE(4) !== count || lab.length !== 8 + count) return null;
    const labels = [...lab.subarray(8)];
    if (labels.some((y) => y >= 4)) return null;
    return { images: img.subarray(16).toString('hex'), labels, shape: [1, rows, cols] };
  };
  const original = which === 'images' ? files.images : files.labels;
  return { name: `idx-${which}`, original, hot: which === 'images' ? 16 : 8, load, reference };
}

const CIFAR_NAMES = 'airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n';
const CIFAR_FILES = [
  'data_batch_1.bin',
  'data_batch_2.bin',
  'data_batch_3.bin',
  'data_batch_4.bin',
  'data_batch_5.bin',
];

/** Mutates `data_batch_1.bin` (`which` 'batch') or `batches.meta.txt` of a small CIFAR-10 directory. */
export function cifarReader(which: 'batch' | 'meta'): Reader {
  const dir = mkdtempSync(join(tmpdir(), 'lethe-fuzz-cifar-'));
  mkdirSync(dir, { recursive: true });
  const record = (label: number, seed: number): Buffer => {
    const r = Buffer.alloc(3073);
    r[0] = label;
    for (let i = 1; i < 3073; i++) r[i] = (i * seed) & 255;
    return r;
  };
  const batch = Buffer.concat([record(3, 7), record(9, 11)]);
  for (const f of [...CIFAR_FILES, 'test_batch.bin']) writeFileSync(join(dir, f), record(1, 5));
  const meta = Buffer.from(CIFAR_NAMES);
  const load = (bytes: Uint8Array): unknown => {
    writeFileSync(join(dir, CIFAR_FILES[0]), which === 'batch' ? bytes : batch);
    writeFileSync(join(dir, 'batches.meta.txt'), which === 'meta' ? bytes : meta);
    const { train } = loadCifar10(dir);
    return {
      images: Buffer.from(train.images).toString('hex'),
      labels: [...train.labels],
      classNames: [...train.classNames],
    };
  };
  const other = record(1, 5).subarray(1);
  const reference = (bytes: Uint8Array): unknown => {
    const b = Buffer.from(which === 'batch' ? bytes : batch);
    const text = utf8(which === 'meta' ? bytes : meta);
    if (text === null || b.length === 0 || b.length % 3073 !== 0) return null;
    const names = text
      .split(/\r?\n/)
      .map((s) => s.trim())
      .filter(Boolean);
    if (names.length !== 10) return null;
    const n = b.length / 3073;
    const labels = [...Array(n).keys()].map((i) => b[i * 3073]);
    if (labels.some((y) => y >= 10)) return null;
    const pixels = [...Array(n).keys()].map((i) => b.subarray(i * 3073 + 1, (i + 1) * 3073));
    return {
      images: Buffer.concat([...pixels, other, other, other, other]).toString('hex'),
      labels: [...labels, 1, 1, 1, 1],
      classNames: names,
    };
  };
  return {
    name: `cifar-${which}`,
    original: which === 'batch' ? batch : meta,
    hot: which === 'batch' ? 3073 * 2 : meta.length,
    load,
    reference,
  };
}

/** Mutates an index file (a JSON array, or one index per line) read against 50 examples. */
export function indexReader(form: 'json' | 'lines'): Reader {
  const dir = mkdtempSync(join(tmpdir(), 'lethe-fuzz-index-'));
  const file = join(dir, 'forget.txt');
  const n = 50;
  const original = Buffer.from(form === 'json' ? '[3, 14, 15, 9, 26]\n' : '3\n14\n15\n9\n26\n');
  const load = (bytes: Uint8Array): unknown => {
    writeFileSync(file, bytes);
    return [...readIndexFile(file, n)];
  };
  const valid = (xs: unknown[]): number[] | null => {
    if (!xs.every((x) => Number.isInteger(x) && (x as number) >= 0 && (x as number) < n))
      return null;
    const s = (xs as number[]).map((x) => x | 0);
    return new Set(s).size === s.length ? [...s].sort((a, b) => a - b) : null;
  };
  const reference = (bytes: Uint8Array): unknown => {
    const text = utf8(bytes);
    if (text === null) return null;
    if (text.trim().startsWith('[')) {
      try {
        const v = JSON.parse(text.trim());
        return Array.isArray(v) ? valid(v) : null;
      } catch {
        return null;
      }
    }
    const lines = text.split(/\r?\n/);
    const first = lines[0]?.trim() ?? '';
    let cells: string[];
    if (lines[0]?.includes(',') || /^[A-Za-z_"]/.test(first)) {
      // A CSV: the "index" column of every later non-blank line.
      const unquote = (c: string | undefined) => c?.trim().replace(/^"|"$/g, '');
      const column = lines[0].split(',').map(unquote).indexOf('index');
      if (column < 0) return null;
      cells = [];
      for (const l of lines.slice(1)) {
        if (l.trim() === '') continue;
        const cell = unquote(l.split(',')[column]);
        if (cell === undefined) return null;
        cells.push(cell);
      }
    } else {
      cells = lines.map((l) => l.trim()).filter((l) => l !== '');
    }
    if (!cells.every((c) => /^-?\d+$/.test(c))) return null;
    return valid(cells.map(Number));
  };
  return { name: `index-${form}`, original, hot: original.length, load, reference };
}

/** Every reader the property tests and the fuzz script cover. */
export function allReaders(): Reader[] {
  return [
    safetensorsReader(),
    idxReader('images'),
    idxReader('labels'),
    cifarReader('batch'),
    cifarReader('meta'),
    indexReader('json'),
    indexReader('lines'),
  ];
}
