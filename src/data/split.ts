/**
 * Forget / retain / val / test splits. Every random choice is seeded, every index set is an
 * Int32Array sorted ascending, and a run's split is saved as `split.json` so that retraining,
 * unlearning and evaluation all see exactly the same sets.
 */
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import { DataError, FileFormatError, OptionError } from '../util/errors.js';
import { decodeUtf8, isJsonObject, parseStrictJson } from '../util/json.js';
import { readFileOrFail } from '../util/read-file.js';
import { Rng, deriveSeed } from '../util/rng.js';

/** The file name of a saved split inside a run directory. */
export const SPLIT_FILE = 'split.json';

/** A run's four index sets (train indices for forget/retain, test indices for val/test). */
export interface Split {
  seed: number;
  /** The spec the forget set was drawn from, e.g. `random:0.1`. */
  forgetSpec: string;
  /** Training-set indices to unlearn. */
  forget: Int32Array;
  /** Training-set indices to keep: all the others. */
  retain: Int32Array;
  /** Test-set indices used for validation. */
  val: Int32Array;
  /** Test-set indices used for the reported test accuracy. */
  test: Int32Array;
  trainSize: number;
  testSize: number;
}

/** The labels and class count a class-based forget spec needs. */
export interface LabelSource {
  labels: Int32Array;
  numClasses: number;
  classNames?: readonly string[];
}

/**
 * Splits the test set's indices `0..testSize-1` into val and test (the NeurIPS 2023 kit uses
 * 50/50). `round(valFraction * testSize)` indices go to val.
 */
export function splitTest(
  testSize: number,
  seed: number,
  valFraction = 0.5,
): { val: Int32Array; test: Int32Array } {
  checkSize(testSize, 'testSize');
  if (!(valFraction >= 0 && valFraction < 1)) {
    throw new OptionError(
      `Expected a number in [0, 1) for valFraction but received ${valFraction}`,
    );
  }
  const nVal = Math.round(valFraction * testSize);
  const perm = new Rng(deriveSeed(seed, 'val-test')).permutation(testSize);
  return {
    val: sortedCopy(perm.subarray(0, nVal)),
    test: sortedCopy(perm.subarray(nVal)),
  };
}

/**
 * Checks a forget spec's form without a data set (the kind and its argument), so a mistyped spec
 * is refused before any work; {@link selectForget} checks it against the training set.
 */
export function checkForgetSpec(spec: string): void {
  if (typeof spec !== 'string') {
    throw new OptionError(`Expected a string for forget but received ${typeof spec}`);
  }
  const colon = spec.indexOf(':');
  const kind = colon < 0 ? spec : spec.slice(0, colon);
  const arg = colon < 0 ? '' : spec.slice(colon + 1).trim();
  if (kind === 'random') {
    const v = Number(arg);
    const ok = arg !== '' && (arg.includes('.') || v < 1 ? v > 0 && v < 1 : Number.isInteger(v));
    if (!ok) {
      throw new OptionError(
        `Expected a fraction in (0, 1) or a count after "random:" in forget spec "${spec}" but received ${JSON.stringify(arg)}`,
      );
    }
  } else if (kind === 'class' || kind === 'indices') {
    if (arg === '') {
      throw new OptionError(
        `Expected ${kind === 'class' ? 'class ids' : 'a file'} after "${kind}:" in forget spec "${spec}"`,
      );
    }
  } else {
    throw new OptionError(
      `Unknown forget spec "${spec}"; expected random:<fraction|count>, class:<id>[,<id>] or indices:<file>`,
    );
  }
}

/**
 * Selects the forget set of a training set from a spec:
 * - `random:<fraction|count>`: a seeded random subset; a fraction when the value contains `.`
 *   or is below 1 (must lie in (0, 1)), else a count (at most the training set's size);
 * - `class:<id>[,<id>...]`: every example of the given classes (ids or class names);
 * - `indices:<file>`: the indices in a file: a JSON array, one index per line, or a CSV with
 *   an `index` column.
 *
 * Returns sorted, distinct indices; an empty result is an error.
 */
export function selectForget(spec: string, train: LabelSource, seed: number): Int32Array {
  const n = train.labels.length;
  if (typeof spec !== 'string') {
    throw new OptionError(`Expected a string for forget but received ${typeof spec}`);
  }
  const colon = spec.indexOf(':');
  const kind = colon < 0 ? spec : spec.slice(0, colon);
  const arg = colon < 0 ? '' : spec.slice(colon + 1).trim();
  let forget: Int32Array;
  switch (kind) {
    case 'random':
      forget = randomForget(spec, arg, n, seed);
      break;
    case 'class':
      forget = classForget(spec, arg, train);
      break;
    case 'indices':
      if (arg === '') {
        throw new OptionError(`Expected a file after "indices:" in forget spec "${spec}"`);
      }
      forget = readIndexFile(arg, n);
      break;
    default:
      throw new OptionError(
        `Unknown forget spec "${spec}"; expected random:<fraction|count>, class:<id>[,<id>] or indices:<file>`,
      );
  }
  if (forget.length === 0) {
    throw new DataError(
      `Forget spec "${spec}" selects no training examples; the forget set must not be empty`,
    );
  }
  return forget;
}

/** The sorted complement of `subset` (sorted, distinct, in range) within `0..n-1`. */
export function complement(subset: Int32Array, n: number): Int32Array {
  const mark = new Uint8Array(n);
  for (let i = 0; i < subset.length; i++) mark[subset[i]] = 1;
  const out = new Int32Array(n - subset.length);
  let k = 0;
  for (let i = 0; i < n; i++) if (!mark[i]) out[k++] = i;
  return out;
}

/** Options of {@link makeSplit}. */
export interface MakeSplitOptions {
  /** The training set (labels are needed for `class:` specs). */
  train: LabelSource;
  testSize: number;
  forgetSpec: string;
  seed: number;
  /** Share of the test set used for validation (default 0.5). */
  valFraction?: number;
}

/** Draws a whole {@link Split}: forget from the spec, retain = train − forget, val/test from the test set. */
export function makeSplit(options: MakeSplitOptions): Split {
  const { train, testSize, forgetSpec, seed } = options;
  if (!Number.isInteger(seed)) {
    throw new OptionError(`Expected an integer for seed but received ${String(seed)}`);
  }
  const trainSize = train.labels.length;
  const forget = selectForget(forgetSpec, train, seed);
  const retain = complement(forget, trainSize);
  const { val, test } = splitTest(testSize, seed, options.valFraction);
  return { seed, forgetSpec, forget, retain, val, test, trainSize, testSize };
}

/** A split as the bytes of `split.json`. */
export function encodeSplit(split: Split): string {
  const body = {
    format: 'lethe-split',
    version: 1,
    seed: split.seed,
    forgetSpec: split.forgetSpec,
    trainSize: split.trainSize,
    testSize: split.testSize,
    forget: Array.from(split.forget),
    retain: Array.from(split.retain),
    val: Array.from(split.val),
    test: Array.from(split.test),
  };
  return JSON.stringify(body) + '\n';
}

/** Writes `split.json` into `runDir` atomically (a temp file, then rename); returns its path. */
export function writeSplit(runDir: string, split: Split): string {
  const file = join(runDir, SPLIT_FILE);
  writeFileAtomic(file, encodeSplit(split));
  return file;
}

const SPLIT_KEYS = [
  'format',
  'version',
  'seed',
  'forgetSpec',
  'trainSize',
  'testSize',
  'forget',
  'retain',
  'val',
  'test',
];

/**
 * Reads `split.json` from `runDir` (or a path to the file itself) and validates it: every set
 * sorted, distinct and in range; forget and retain partition the training set; val and test
 * partition the test set.
 */
export function readSplit(runDirOrFile: string): Split {
  const file = runDirOrFile.endsWith('.json') ? runDirOrFile : join(runDirOrFile, SPLIT_FILE);
  const bytes = readFileOrFail(file, (reason) => `cannot read split (${reason})`);
  let raw: unknown;
  try {
    raw = parseStrictJson(decodeUtf8(bytes));
  } catch (err) {
    throw new FileFormatError(file, `invalid JSON (${(err as Error).message})`);
  }
  if (!isJsonObject(raw)) {
    throw new FileFormatError(file, 'expected a JSON object with the split');
  }
  const o = raw;
  const unknown = Object.keys(o).filter((k) => !SPLIT_KEYS.includes(k));
  if (unknown.length) {
    throw new FileFormatError(
      file,
      `unknown key ${JSON.stringify(unknown[0])}; expected only ${SPLIT_KEYS.join(', ')}`,
    );
  }
  if (o.format !== 'lethe-split' || o.version !== 1) {
    throw new FileFormatError(
      file,
      `expected format "lethe-split" version 1 but found ${JSON.stringify(o.format)} version ${JSON.stringify(o.version)}`,
    );
  }
  const int = (key: string): number => {
    const v = o[key];
    if (!Number.isSafeInteger(v) || (v as number) < 0) {
      throw new FileFormatError(
        file,
        `expected a non-negative integer for "${key}" but found ${JSON.stringify(v)}`,
      );
    }
    return v as number;
  };
  const seed = int('seed');
  const trainSize = int('trainSize');
  const testSize = int('testSize');
  if (typeof o.forgetSpec !== 'string') {
    throw new FileFormatError(
      file,
      `expected a string for "forgetSpec" but found ${JSON.stringify(o.forgetSpec)}`,
    );
  }
  const set = (key: string, n: number): Int32Array => {
    const v = o[key];
    if (!Array.isArray(v)) throw new FileFormatError(file, `expected an array for "${key}"`);
    const a = new Int32Array(v.length);
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      if (!Number.isInteger(x) || x < 0 || x >= n) {
        throw new FileFormatError(
          file,
          `"${key}"[${i}] is ${JSON.stringify(x)}; expected an integer index in 0..${n - 1}`,
        );
      }
      if (i > 0 && x <= a[i - 1]) {
        throw new FileFormatError(
          file,
          `"${key}" must be sorted ascending without duplicates but "${key}"[${i}] is ${x} after ${a[i - 1]}`,
        );
      }
      a[i] = x;
    }
    return a;
  };
  const forget = set('forget', trainSize);
  const retain = set('retain', trainSize);
  const val = set('val', testSize);
  const test = set('test', testSize);
  checkPartition(file, forget, retain, trainSize, 'forget', 'retain', 'training');
  checkPartition(file, val, test, testSize, 'val', 'test', 'test');
  if (forget.length === 0) throw new FileFormatError(file, 'the forget set is empty');
  return { seed, forgetSpec: o.forgetSpec, forget, retain, val, test, trainSize, testSize };
}

function checkPartition(
  file: string,
  a: Int32Array,
  b: Int32Array,
  n: number,
  an: string,
  bn: string,
  what: string,
): void {
  if (a.length + b.length !== n) {
    throw new FileFormatError(
      file,
      `"${an}" (${a.length}) and "${bn}" (${b.length}) must together cover the ${what} set of ${n}`,
    );
  }
  const mark = new Uint8Array(n);
  for (const i of a) mark[i] = 1;
  for (const i of b) {
    if (mark[i]) throw new FileFormatError(file, `index ${i} is in both "${an}" and "${bn}"`);
  }
}

function randomForget(spec: string, arg: string, n: number, seed: number): Int32Array {
  const v = Number(arg);
  if (arg === '' || !Number.isFinite(v)) {
    throw new OptionError(
      `Expected a fraction in (0, 1) or a count after "random:" in forget spec "${spec}" but received ${JSON.stringify(arg)}`,
    );
  }
  let count: number;
  if (arg.includes('.') || v < 1) {
    if (!(v > 0 && v < 1)) {
      throw new OptionError(
        `Expected a fraction in (0, 1) in forget spec "${spec}" but received ${arg}`,
      );
    }
    count = Math.round(v * n);
  } else {
    if (!Number.isInteger(v)) {
      throw new OptionError(
        `Expected an integer count in forget spec "${spec}" but received ${arg}`,
      );
    }
    if (v > n) {
      throw new OptionError(
        `Forget spec "${spec}" asks for ${v} examples but the training set has only ${n}`,
      );
    }
    count = v;
  }
  const perm = new Rng(deriveSeed(seed, 'forget')).permutation(n);
  return sortedCopy(perm.subarray(0, count));
}

function classForget(spec: string, arg: string, train: LabelSource): Int32Array {
  const k = train.numClasses;
  if (arg === '') {
    throw new OptionError(`Expected class ids after "class:" in forget spec "${spec}"`);
  }
  const wanted = new Uint8Array(k);
  for (const raw of arg.split(',')) {
    const token = raw.trim();
    let id = /^\d+$/.test(token) ? Number(token) : (train.classNames?.indexOf(token) ?? -1);
    if (!/^\d+$/.test(token) && id < 0) id = NaN;
    if (!(id >= 0 && id < k)) {
      throw new OptionError(
        `Class ${JSON.stringify(token)} in forget spec "${spec}" does not exist; expected a class id in 0..${k - 1}${train.classNames ? ' or a class name' : ''}`,
      );
    }
    if (wanted[id]) {
      throw new OptionError(`Class ${id} appears twice in forget spec "${spec}"`);
    }
    wanted[id] = 1;
  }
  let count = 0;
  const labels = train.labels;
  for (let i = 0; i < labels.length; i++) if (wanted[labels[i]]) count++;
  const out = new Int32Array(count);
  for (let i = 0, j = 0; i < labels.length; i++) if (wanted[labels[i]]) out[j++] = i;
  return out;
}

/**
 * Reads forget indices from a file: a JSON array of integers, one integer per line, or a CSV
 * whose header has an `index` column. Duplicates and indices outside `0..n-1` are errors.
 * Returns the indices sorted ascending.
 */
export function readIndexFile(file: string, n: number): Int32Array {
  const bytes = readFileOrFail(
    file,
    (reason) =>
      `cannot read index file (${reason}); expected a JSON array, one index per line, or a CSV with an "index" column`,
  );
  let text: string;
  try {
    text = decodeUtf8(bytes);
  } catch {
    throw new FileFormatError(
      file,
      'is not valid UTF-8 text; expected a JSON array, one index per line, or a CSV with an "index" column',
    );
  }
  const values: { value: unknown; where: string }[] = [];
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) {
    let arr: unknown;
    try {
      arr = parseStrictJson(trimmed);
    } catch (err) {
      throw new FileFormatError(file, `invalid JSON (${(err as Error).message})`);
    }
    if (!Array.isArray(arr)) throw new FileFormatError(file, 'expected a JSON array of indices');
    arr.forEach((value, i) => values.push({ value, where: `element ${i}` }));
  } else {
    const lines = text.split(/\r?\n/);
    const header = lines[0]?.split(',').map((s) => s.trim().replace(/^"|"$/g, '')) ?? [];
    const isCsv = lines[0]?.includes(',') || /^[A-Za-z_"]/.test(lines[0]?.trim() ?? '');
    let column = 0;
    let first = 0;
    if (isCsv) {
      column = header.indexOf('index');
      if (column < 0) {
        throw new FileFormatError(
          file,
          `expected a CSV header with an "index" column but found ${JSON.stringify(lines[0])}`,
        );
      }
      first = 1;
    }
    for (let l = first; l < lines.length; l++) {
      if (lines[l].trim() === '') continue;
      const cell = isCsv
        ? lines[l].split(',')[column]?.trim().replace(/^"|"$/g, '')
        : lines[l].trim();
      values.push({
        value: cell !== undefined && /^-?\d+$/.test(cell) ? Number(cell) : cell,
        where: `line ${l + 1}`,
      });
    }
  }
  const out = new Int32Array(values.length);
  const seen = new Uint8Array(n);
  values.forEach(({ value, where }, i) => {
    if (!Number.isInteger(value) || (value as number) < 0 || (value as number) >= n) {
      throw new FileFormatError(
        file,
        `${where}: index ${JSON.stringify(value)} is out of range; expected an integer in 0..${n - 1}`,
      );
    }
    const v = value as number;
    if (seen[v]) throw new FileFormatError(file, `${where}: duplicate index ${v}`);
    seen[v] = 1;
    out[i] = v;
  });
  return out.sort();
}

function sortedCopy(a: Int32Array): Int32Array {
  return Int32Array.from(a).sort();
}

function checkSize(n: number, what: string): void {
  if (!Number.isInteger(n) || n < 0) {
    throw new OptionError(`Expected a non-negative integer for ${what} but received ${String(n)}`);
  }
}
