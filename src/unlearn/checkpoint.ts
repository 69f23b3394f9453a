/**
 * The unlearning loop's state on disk: a {@link LoopState} after a finished epoch as one
 * safetensors file (format `lethe-resume/1`) to resume from, with the identity of what made it
 * (the caller's: a run records its `RunIdentity`, and resumes only from its own). The model's and
 * the optimizer's tensors are stored as they are, the history as two float64 tensors, the rest
 * (counters, generator, optimizer and scheduler settings, identity) as JSON metadata.
 */
import { loadSafetensors, saveSafetensors } from '../nn/safetensors.js';
import {
  checkOptimizerMeta,
  checkOptimizerState,
  checkSchedulerState,
  type BadField,
} from '../optim/state.js';
import type { History } from '../records/metrics.js';
import { dispose, tensor, type Tensor } from '../tensor/index.js';
import { FileFormatError, OptionError } from '../util/errors.js';
import { parseStrictJson } from '../util/json.js';
import type { GradScalerState, SerializedOptimizerState } from '../optim/index.js';

/** Where a run stands after a finished epoch: everything its remaining epochs depend on. */
export interface LoopState {
  /** The last finished epoch (1-based). */
  epoch: number;
  /** Optimizer steps taken so far. */
  step: number;
  /** Training time so far (the run's `seconds`). */
  seconds: number;
  history: History;
  /** The method's generator (`ctx.rng`), e.g. for random labels and sRFL's shifts. */
  rng: number[];
  /** The model's state dict (parameters and batch-norm statistics). */
  model: Map<string, Tensor>;
  optimizer: SerializedOptimizerState;
  /** The learning-rate schedule's state; null for a constant rate. */
  scheduler: Record<string, unknown> | null;
  /** The loss scaler's state (`fp16-mixed` runs only). */
  scaler?: GradScalerState;
}

const RESUME_FORMAT = 'lethe-resume/1';

/** Epoch records as rows of [epoch, forget, retain, test]; steps as [step, facc, racc, loss]. */
function historyTensors(h: History): [Tensor, Tensor] {
  const epochs = h.epochs.flatMap((r) => [r.epoch, r.forget, r.retain, r.test]);
  const steps = h.steps.flatMap((r) => [r.step, r.facc, r.racc, r.loss]);
  return [
    tensor(Float64Array.from(epochs), [h.epochs.length, 4]),
    tensor(Float64Array.from(steps), [h.steps.length, 4]),
  ];
}

function historyFrom(epochs: Float64Array, steps: Float64Array): History {
  const rows = <T>(a: Float64Array, make: (r: Float64Array) => T): T[] =>
    Array.from({ length: a.length / 4 }, (_, i) => make(a.subarray(4 * i, 4 * i + 4)));
  return {
    epochs: rows(epochs, (r) => ({ epoch: r[0], forget: r[1], retain: r[2], test: r[3] })),
    steps: rows(steps, (r) => ({ step: r[0], facc: r[1], racc: r[2], loss: r[3] })),
  };
}

/**
 * Saves the loop's state after a finished epoch, with the `identity` of what made it, to `path`
 * (atomically: an interrupted save leaves the previous checkpoint intact). Model tensors are
 * stored under `model.<state-dict key>`, optimizer state under `optimizer.<name>`.
 */
export function saveLoopCheckpoint(path: string, identity: unknown, state: LoopState): void {
  const [epochs, steps] = historyTensors(state.history);
  const tensors = new Map<string, Tensor>([
    ['history.epochs', epochs],
    ['history.steps', steps],
  ]);
  for (const [k, t] of state.model) tensors.set(`model.${k}`, t);
  for (const [k, t] of Object.entries(state.optimizer.tensors)) tensors.set(`optimizer.${k}`, t);
  try {
    saveSafetensors(path, tensors, {
      format: RESUME_FORMAT,
      identity: JSON.stringify(identity),
      epoch: String(state.epoch),
      step: String(state.step),
      seconds: String(state.seconds),
      rng: JSON.stringify(state.rng),
      optimizer: JSON.stringify(state.optimizer.meta),
      scheduler: JSON.stringify(state.scheduler),
    });
  } finally {
    dispose([epochs, steps]);
  }
}

/** A loaded checkpoint; the caller frees `state`'s tensors with {@link disposeLoopState}. */
export interface LoopCheckpoint<I> {
  identity: I;
  state: LoopState;
}

/**
 * Reads the checkpoint at `path`. Every field is checked before the state is handed on, the
 * identity by `checkIdentity` (which knows what made it): a damaged checkpoint is refused with
 * the field named, never resumed into a different run.
 */
export function loadLoopCheckpoint<I>(
  path: string,
  checkIdentity: (v: unknown, bad: BadField) => I,
): LoopCheckpoint<I> {
  const file = loadSafetensors(path);
  try {
    const m = file.metadata;
    if (m.format !== RESUME_FORMAT)
      throw new FileFormatError(path, `is not a Lethe run checkpoint (format '${m.format}')`);
    const bad = (field: string, expected: string, got?: unknown): never => {
      throw new FileFormatError(
        path,
        `has ${field} ${got === undefined ? 'missing' : JSON.stringify(got)}; expected ${expected} (a damaged checkpoint: remove it to start over)`,
      );
    };
    const json = (key: string): unknown => {
      if (m[key] === undefined) bad(`'${key}' metadata`, 'JSON');
      try {
        return parseStrictJson(m[key]);
      } catch {
        return bad(`'${key}' metadata`, 'JSON', m[key]);
      }
    };
    const count = (key: string, min: number): number => {
      const text = m[key];
      if (
        text === undefined ||
        !/^(0|[1-9]\d*)$/.test(text) ||
        !Number.isSafeInteger(+text) ||
        +text < min
      )
        bad(`'${key}' metadata`, `an integer ≥ ${min}`, text);
      return Number(text);
    };
    const epoch = count('epoch', 1);
    const step = count('step', 0);
    const seconds = Number(m.seconds);
    if (
      m.seconds === undefined ||
      m.seconds.trim() === '' ||
      !Number.isFinite(seconds) ||
      seconds < 0
    )
      bad(`'seconds' metadata`, 'a finite number ≥ 0', m.seconds);
    const rng = json('rng');
    if (
      !Array.isArray(rng) ||
      rng.length !== 4 ||
      !rng.every((v) => Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 32) ||
      rng.every((v) => v === 0)
    )
      bad(`'rng' metadata`, 'a generator state of four 32-bit integers, not all zero', rng);
    const identity = checkIdentity(json('identity'), bad);
    const scheduler = checkSchedulerState(json('scheduler'), bad);
    const optimizerMeta = checkOptimizerMeta(json('optimizer'), bad);

    const get = (name: string): Tensor => {
      const t = file.tensors.get(name);
      if (!t) throw new FileFormatError(path, `has no '${name}' tensor`);
      return t;
    };
    const model = new Map<string, Tensor>();
    const optimizer: Record<string, Tensor> = {};
    for (const [name, t] of file.tensors) {
      if (name.startsWith('model.')) model.set(name.slice('model.'.length), t);
      else if (name.startsWith('optimizer.')) optimizer[name.slice('optimizer.'.length)] = t;
      else if (name !== 'history.epochs' && name !== 'history.steps')
        throw new FileFormatError(path, `has an unexpected tensor '${name}'`);
    }
    if (model.size === 0) throw new FileFormatError(path, "has no 'model.*' tensors");
    checkOptimizerState(optimizer, optimizerMeta, step, bad);
    const history = checkHistory(get('history.epochs'), get('history.steps'), epoch, step, bad);
    const state: LoopState = {
      epoch,
      step,
      seconds,
      history,
      rng: rng as number[],
      model,
      optimizer: { tensors: optimizer, meta: optimizerMeta as never },
      scheduler,
    };
    // The history tensors are read; the rest now belongs to the caller.
    dispose([get('history.epochs'), get('history.steps')]);
    return { identity, state };
  } catch (error) {
    dispose([...file.tensors.values()]);
    throw error;
  }
}

/** The history tensors: rows of finite numbers, epochs ≤ `epoch` in order, steps 0..step-1. */
function checkHistory(
  epochsT: Tensor,
  stepsT: Tensor,
  epoch: number,
  step: number,
  bad: BadField,
): History {
  for (const [name, t] of [
    ['history.epochs', epochsT],
    ['history.steps', stepsT],
  ] as const) {
    if (t.dtype !== 'float64' || t.shape.length !== 2 || t.shape[1] !== 4)
      bad(`tensor '${name}'`, 'float64 rows of 4', `${t.dtype} [${t.shape}]`);
  }
  const history = historyFrom(epochsT.data<'float64'>(), stepsT.data<'float64'>());
  let last = -1;
  history.epochs.forEach((r, i) => {
    if (!Number.isInteger(r.epoch) || r.epoch <= last || r.epoch > epoch)
      bad(`history.epochs[${i}].epoch`, `increasing epochs in 0..${epoch}`, r.epoch);
    last = r.epoch;
    for (const key of ['forget', 'retain', 'test'] as const)
      if (!(r[key] >= 0 && r[key] <= 1))
        bad(`history.epochs[${i}].${key}`, 'an accuracy in [0, 1]', r[key]);
  });
  if (history.steps.length !== step)
    bad("tensor 'history.steps'", `${step} rows, one per step`, history.steps.length);
  history.steps.forEach((r, i) => {
    if (r.step !== i) bad(`history.steps[${i}].step`, String(i), r.step);
    for (const key of ['facc', 'racc'] as const)
      if (!(r[key] >= 0 && r[key] <= 1) && !Number.isNaN(r[key]))
        bad(`history.steps[${i}].${key}`, 'an accuracy in [0, 1]', r[key]);
    if (!Number.isFinite(r.loss)) bad(`history.steps[${i}].loss`, 'a finite number', r.loss);
  });
  return history;
}

/** Frees a loaded state's tensors (its model's and its optimizer's). */
export function disposeLoopState(state: LoopState): void {
  dispose([...state.model.values(), ...Object.values(state.optimizer.tensors)]);
}

/**
 * Refuses a saved state a run cannot continue from: saved after an epoch this run does not have,
 * with or without a schedule unlike it, or with optimizer state that does not fit its parameters.
 */
export function checkResumable(
  state: LoopState,
  epochs: number,
  scheduled: boolean,
  optimizer: { paramGroups: readonly { params: readonly Tensor[] }[] },
): void {
  if (!Number.isInteger(state.epoch) || state.epoch < 1 || state.epoch >= epochs) {
    throw new OptionError(
      `Expected a saved state after one of epochs 1..${epochs - 1} of this ${epochs}-epoch run but it was saved after epoch ${state.epoch}`,
    );
  }
  if (scheduled !== (state.scheduler !== null)) {
    throw new OptionError(
      `The saved state ${state.scheduler ? 'has' : 'has no'} learning-rate schedule but this run ${scheduled ? 'has one' : 'has none'}`,
    );
  }
  // Saved state that does not fit its parameter would broadcast, or fail mid-step.
  const params = new Map<number, Tensor>();
  state.optimizer.meta.paramGroups.forEach((g, i) =>
    g.params.forEach((id, j) => {
      const p = optimizer.paramGroups[i]?.params[j];
      if (p) params.set(id, p);
    }),
  );
  for (const [name, t] of Object.entries(state.optimizer.tensors)) {
    const id = Number(/^state\.(\d+)\./.exec(name)?.[1]);
    const p = params.get(id);
    if (p === undefined) {
      throw new OptionError(
        `The saved optimizer state '${name}' is for parameter ${id}, which this run's optimizer does not have`,
      );
    }
    if (t.shape.length !== p.shape.length || t.shape.some((d, i) => d !== p.shape[i])) {
      throw new OptionError(
        `The saved optimizer state '${name}' has shape [${t.shape.join(', ')}] but parameter ${id} has shape [${p.shape.join(', ')}]`,
      );
    }
  }
}
