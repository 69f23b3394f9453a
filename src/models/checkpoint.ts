/**
 * Checkpoints: a model's state dict in safetensors (PyTorch's keys, so `safetensors.torch.load_file`
 * opens it) with Lethe's metadata (architecture, options, data set, seed) in `__metadata__`.
 */
import { dispose } from '../tensor/index.js';
import type { Module } from '../nn/module.js';
import { encodeSafetensors, loadSafetensors, writeFileAtomic } from '../nn/safetensors.js';
import { FileFormatError } from '../util/errors.js';
import { parseStrictJson } from '../util/json.js';
import {
  createModel,
  modelNames,
  validateModelOptions,
  type Classifier,
  type ModelOptions,
} from './registry.js';

export interface CheckpointMeta {
  architecture: string;
  modelOptions: ModelOptions;
  /** Data set spec the model was trained on, e.g. `fashion-mnist`. */
  dataset?: string;
  seed?: number;
  /** Free-form extra fields (method, epoch, ...), stored as strings. */
  extra?: Record<string, string>;
}

const FORMAT = 'lethe-checkpoint/1';

/** `model` and its metadata as the bytes of a checkpoint file. */
export function encodeCheckpoint(model: Module, meta: CheckpointMeta): Uint8Array {
  const sd = model.stateDict();
  try {
    return encodeSafetensors(sd, {
      format: FORMAT,
      architecture: meta.architecture,
      modelOptions: JSON.stringify(meta.modelOptions),
      ...(meta.dataset !== undefined ? { dataset: meta.dataset } : {}),
      ...(meta.seed !== undefined ? { seed: String(meta.seed) } : {}),
      ...(meta.extra ?? {}),
    });
  } finally {
    dispose([...sd.values()]);
  }
}

/** Saves `model` and its metadata to `path` (atomically). */
export function saveCheckpoint(path: string, model: Module, meta: CheckpointMeta): void {
  writeFileAtomic(path, encodeCheckpoint(model, meta));
}

/** Reads only a checkpoint's metadata (and validates the file). */
export function readCheckpointMeta(path: string): CheckpointMeta {
  const file = loadSafetensors(path);
  dispose([...file.tensors.values()]);
  return parseMeta(path, file.metadata);
}

/**
 * The checkpoint metadata Lethe reads, each field checked: the format tag, a registered
 * architecture, model options that the architecture accepts, a seed that is an integer.
 */
function parseMeta(path: string, metadata: Record<string, string>): CheckpointMeta {
  if (metadata.format !== FORMAT || metadata.architecture === undefined) {
    throw new FileFormatError(
      path,
      'has no Lethe checkpoint metadata (a plain state dict?); build the model yourself and use loadWeights(model, path)',
    );
  }
  const { format: _f, architecture, modelOptions: rawOptions, dataset, seed, ...extra } = metadata;
  if (!modelNames().includes(architecture)) {
    throw new FileFormatError(
      path,
      `records an unknown architecture ${JSON.stringify(architecture)}; expected one of ${modelNames().join(', ')}`,
    );
  }
  let modelOptions: ModelOptions;
  try {
    modelOptions = validateModelOptions(
      parseStrictJson(rawOptions ?? '{}'),
      'the modelOptions metadata',
    );
  } catch (error) {
    throw new FileFormatError(
      path,
      `has malformed modelOptions metadata ${JSON.stringify(rawOptions)}: ${(error as Error).message}`,
    );
  }
  return {
    architecture,
    modelOptions,
    dataset,
    seed: seed === undefined ? undefined : parseSeed(path, seed),
    extra,
  };
}

/** A seed as written by `String(seed)`: a safe integer in decimal, nothing else. */
function parseSeed(path: string, text: string): number {
  const seed = Number(text);
  if (!/^-?(0|[1-9]\d*)$/.test(text) || !Number.isSafeInteger(seed)) {
    throw new FileFormatError(
      path,
      `has seed metadata ${JSON.stringify(text)}; expected an integer`,
    );
  }
  return seed;
}

/**
 * Loads a Lethe checkpoint: builds the recorded architecture and loads its weights strictly.
 * With `expectArchitecture`, a checkpoint of another architecture is refused by name.
 */
export function loadCheckpoint(
  path: string,
  options: { expectArchitecture?: string } = {},
): { model: Classifier; meta: CheckpointMeta } {
  const file = loadSafetensors(path);
  try {
    const meta = parseMeta(path, file.metadata);
    if (options.expectArchitecture && options.expectArchitecture !== meta.architecture) {
      throw new FileFormatError(
        path,
        `is a ${meta.architecture} checkpoint but ${options.expectArchitecture} was expected`,
      );
    }
    const model = createModel(meta.architecture, meta.modelOptions);
    try {
      model.loadStateDict(file.tensors);
    } catch (error) {
      model.dispose();
      throw new FileFormatError(
        path,
        `does not fit ${meta.architecture}: ${(error as Error).message}`,
      );
    }
    return { model, meta };
  } finally {
    dispose([...file.tensors.values()]);
  }
}

/** Loads a plain state dict (e.g. saved by PyTorch) from a safetensors file into `model`. */
export function loadWeights(model: Module, path: string, options: { strict?: boolean } = {}): void {
  const file = loadSafetensors(path);
  try {
    model.loadStateDict(file.tensors, options);
  } catch (error) {
    if (error instanceof FileFormatError) throw error;
    throw new FileFormatError(path, (error as Error).message);
  } finally {
    dispose([...file.tensors.values()]);
  }
}
