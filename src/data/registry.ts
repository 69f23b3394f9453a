/**
 * Data sets by name: `loadDataset('cifar10:/data/cifar-10-batches-bin')`. Nothing is ever
 * downloaded; every reader works on files the user already has.
 */
import { OptionError } from '../util/errors.js';
import { type Cifar100Options, loadCifar10, loadCifar100 } from './cifar.js';
import {
  type DatasetPair,
  type ImageDataset,
  DATASET_STATS,
  FASHION_MNIST_CLASSES,
  MNIST_CLASSES,
} from './dataset.js';
import { type ImageFolderOptions, loadImageFolder } from './image-folder.js';
import { loadMnistDir } from './idx.js';
import { Rng, deriveSeed } from '../util/rng.js';
import { complement, readIndexFile } from './split.js';

/** Where Debian's `dataset-fashion-mnist` package installs Fashion-MNIST. */
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** The names {@link loadDataset} knows. */
export const DATASET_NAMES = [
  'fashion-mnist',
  'mnist',
  'cifar10',
  'cifar100',
  'image-folder',
] as const;

/** A name {@link loadDataset} knows. */
export type DatasetName = (typeof DATASET_NAMES)[number];

/** Options of {@link loadDataset}, passed to the reader the name selects. */
export interface LoadDatasetOptions {
  /** CIFAR-100 labels: `'fine'` (default) or `'coarse'`. */
  cifar100Labels?: Cifar100Options['labels'];
  /** Options of the image-folder reader. */
  imageFolder?: ImageFolderOptions;
}

/** A parsed `name[:path][,subset=<n>][,exclude=<file>]` data set spec. */
export interface DatasetSpec {
  name: DatasetName;
  path?: string;
  /**
   * Train on a fixed random subset of this many training images (the NeurIPS 2023 kit's
   * protocol trains on a subset until the model memorizes it). The test set is kept whole.
   */
  subset?: number;
  /**
   * An index file (as `indices:` forget specs read) naming training images to leave out, counted
   * in the training set that remains after `subset`; the rest keep their order. An audit's shadow
   * models train on the scenario's pool less such a file.
   */
  exclude?: string;
}

/** Parses `name[:path][,subset=<n>][,exclude=<file>]`, checking the name and the subset size. */
export function parseDatasetSpec(spec: string): DatasetSpec {
  if (typeof spec !== 'string' || spec.length === 0) {
    throw new OptionError(
      `Expected a data set spec "name[:path][,subset=<n>][,exclude=<file>]" for dataset but received ${JSON.stringify(spec)}`,
    );
  }
  const excluded = /,exclude=([^,]*)$/.exec(spec);
  if (excluded) {
    if (excluded[1] === '')
      throw new OptionError(`Expected an index file after "exclude=" in data set spec "${spec}"`);
    return { ...parseDatasetSpec(spec.slice(0, excluded.index)), exclude: excluded[1] };
  }
  const suffix = /,subset=([^,]*)$/.exec(spec);
  if (suffix) {
    const n = Number(suffix[1]);
    if (!/^[0-9]+$/.test(suffix[1]) || !Number.isSafeInteger(n) || n < 1) {
      throw new OptionError(
        `Expected a positive integer after "subset=" in data set spec "${spec}" but received "${suffix[1]}"`,
      );
    }
    return { ...parseDatasetSpec(spec.slice(0, suffix.index)), subset: n };
  }
  const colon = spec.indexOf(':');
  const name = colon < 0 ? spec : spec.slice(0, colon);
  const path = colon < 0 ? undefined : spec.slice(colon + 1);
  if (!(DATASET_NAMES as readonly string[]).includes(name)) {
    throw new OptionError(
      `Unknown data set "${name}"; expected one of ${DATASET_NAMES.join(', ')} (as name or name:path)`,
    );
  }
  if (path === '') {
    throw new OptionError(`Expected a directory after "${name}:" in data set spec "${spec}"`);
  }
  return { name: name as DatasetName, path };
}

/**
 * Loads a data set's train and test parts by spec `name[:path][,subset=<n>]`:
 * - `fashion-mnist[:dir]` (default dir {@link FASHION_MNIST_DIR}), `mnist:dir`: IDX files;
 * - `cifar10:dir` (`cifar-10-batches-bin`), `cifar100:dir` (`cifar-100-binary`);
 * - `image-folder:dir` (`dir/<class>/*.png|jpg|jpeg`, optionally under `train/` and `test/`);
 * - any of them with `,subset=<n>`: a fixed random subset of n training images;
 * - and then `,exclude=<file>`: those training images left out (an index file, counted after
 *   the subset).
 *
 * @example
 * const { train, test } = await loadDataset('cifar10:/data/cifar-10-batches-bin');
 */
export async function loadDataset(
  spec: string,
  options: LoadDatasetOptions = {},
): Promise<DatasetPair> {
  const parsed = parseDatasetSpec(spec);
  let pair = await loadWhole(parsed, options);
  if (parsed.subset !== undefined) {
    const n = pair.train.labels.length;
    if (parsed.subset > n) {
      throw new OptionError(
        `Data set spec "${spec}" asks for a subset of ${parsed.subset} training images but the training set has ${n}`,
      );
    }
    const keep = subsetIndices(n, parsed.subset);
    pair = { train: trainRows(pair.train, keep, `subset ${parsed.subset}`), test: pair.test };
  }
  if (parsed.exclude !== undefined) {
    const n = pair.train.labels.length;
    const drop = readIndexFile(parsed.exclude, n);
    if (drop.length >= n)
      throw new OptionError(
        `Data set spec "${spec}" excludes all ${n} training images; at least one must remain`,
      );
    pair = {
      train: trainRows(pair.train, complement(drop, n), `−${drop.length}`),
      test: pair.test,
    };
  }
  return pair;
}

/**
 * The fixed random subset of `size` training images a `subset=<n>` spec names: the first `size`
 * of one seeded permutation, kept in data-set order. It depends on the size only, never on a
 * run's seed, so every run of a scenario (original, oracles, methods) sees the same images.
 */
export function subsetIndices(total: number, size: number): Int32Array {
  return new Rng(deriveSeed(0, 'train-subset')).permutation(total).subarray(0, size).sort();
}

/**
 * The training rows `keep` (sorted) of a data set, in order, as a data set of their own; the
 * same rows of the training set a spec without `exclude=` names are `complement(drop, n)`.
 */
function trainRows(ds: ImageDataset, keep: Int32Array, what: string): ImageDataset {
  const size = keep.length;
  const per = ds.shape[0] * ds.shape[1] * ds.shape[2];
  const images = new (ds.images.constructor as Uint8ArrayConstructor | Float32ArrayConstructor)(
    size * per,
  );
  const labels = new Int32Array(size);
  keep.forEach((k, i) => {
    images.set(ds.images.subarray(k * per, (k + 1) * per), i * per);
    labels[i] = ds.labels[k];
  });
  // The normalisation statistics stay the full set's, as the kit's transforms do.
  return { ...ds, name: `${ds.name}[${what}]`, images, labels };
}

async function loadWhole(
  { name, path }: DatasetSpec,
  options: LoadDatasetOptions,
): Promise<DatasetPair> {
  switch (name) {
    case 'fashion-mnist':
      return loadMnistDir(path ?? FASHION_MNIST_DIR, {
        name,
        classNames: FASHION_MNIST_CLASSES,
        ...DATASET_STATS['fashion-mnist'],
        hint: "Debian's dataset-fashion-mnist package provides them",
      });
    case 'mnist':
      return loadMnistDir(requirePath(name, path, 'the directory of the MNIST IDX files'), {
        name,
        classNames: MNIST_CLASSES,
        ...DATASET_STATS.mnist,
      });
    case 'cifar10':
      return loadCifar10(requirePath(name, path, 'the cifar-10-batches-bin directory'));
    case 'cifar100':
      return loadCifar100(requirePath(name, path, 'the cifar-100-binary directory'), {
        labels: options.cifar100Labels,
      });
    case 'image-folder':
      return loadImageFolder(requirePath(name, path, 'a directory of <class>/ image folders'), {
        ...options.imageFolder,
      });
  }
}

function requirePath(name: string, path: string | undefined, what: string): string {
  if (path === undefined) {
    throw new OptionError(
      `Data set "${name}" needs a path: use ${name}:<dir>, where <dir> is ${what}`,
    );
  }
  return path;
}
