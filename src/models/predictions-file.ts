/**
 * A predictions file: a model's eval-mode logits, labels and indices on a split's sets
 * (`predictions.safetensors` of a run directory), so evaluation and later runs starting from the
 * model need no second inference pass.
 */
import { encodeSafetensors, loadSafetensors } from '../nn/safetensors.js';
import { dispose, tensor, type Tensor } from '../tensor/index.js';
import { writeFileAtomic } from '../util/atomic.js';
import { FileFormatError } from '../util/errors.js';
import type { Predictions, SetPredictions } from './predict.js';

/** The sets a predictions file holds; `val` is optional (older runs have none). */
const SETS = ['forget', 'retain', 'test', 'val'] as const;

/** Writes {@link encodePredictions}'s bytes to `path` atomically. */
export function savePredictions(path: string, p: SetPredictions): void {
  writeFileAtomic(path, encodePredictions(p));
}

/**
 * A model's predictions on a split's sets as a safetensors file: per set, its logits (float32,
 * [n, classes]), labels and indices (int32); the number of classes in the metadata.
 */
export function encodePredictions(p: SetPredictions): Uint8Array {
  const tensors = new Map<string, Tensor>();
  for (const set of SETS) {
    const part = p[set];
    if (!part) continue;
    tensors.set(`${set}.logits`, tensor(part.logits, [part.labels.length, part.numClasses]));
    tensors.set(`${set}.labels`, tensor(part.labels));
    tensors.set(`${set}.indices`, tensor(part.indices));
  }
  try {
    return encodeSafetensors(tensors, { numClasses: String(p.test.numClasses) });
  } finally {
    dispose([...tensors.values()]);
  }
}

/** Reads a file {@link encodePredictions} wrote. */
export function loadPredictions(path: string): SetPredictions {
  const file = loadSafetensors(path);
  try {
    const numClasses = Number(file.metadata.numClasses);
    const part = (set: (typeof SETS)[number]): Predictions => {
      const get = (name: string): Tensor => {
        const t = file.tensors.get(`${set}.${name}`);
        if (!t) throw new FileFormatError(path, `has no '${set}.${name}' tensor`);
        return t;
      };
      return {
        logits: get('logits').data<'float32'>(),
        labels: get('labels').data<'int32'>(),
        indices: get('indices').data<'int32'>(),
        numClasses,
      };
    };
    const hasVal = file.tensors.has('val.logits');
    return {
      forget: part('forget'),
      retain: part('retain'),
      test: part('test'),
      ...(hasVal ? { val: part('val') } : {}),
    };
  } finally {
    dispose([...file.tensors.values()]);
  }
}
