/**
 * `Optimizer`: PyTorch 1.13's `torch.optim.Optimizer` — parameter groups, lazily created
 * per-parameter state, `zeroGrad`, and a state dict with PyTorch's structure (state keyed by the
 * parameter's position across groups, groups holding their hyper-parameters and those positions).
 *
 * Ownership: parameters and gradient masks passed in stay owned by the caller. State tensors
 * (momentum buffers, moment estimates) are owned by the optimizer: they survive every `tidy()`
 * scope and are freed by `dispose()`.
 */
import { keep, noGrad, Tensor, tidy, where } from '../tensor/index.js';
import { OptionError } from '../util/errors.js';

/** A value in a parameter's optimizer state: a tensor (owned by the optimizer) or a number. */
export type StateValue = Tensor | number;

/** One parameter's state, under PyTorch's keys (`momentum_buffer`, `exp_avg`, `step`, ...). */
export type ParamState = Record<string, StateValue>;

/** Hyper-parameters every optimizer has; schedulers only touch `lr`. */
export interface BaseHyperParams {
  lr: number;
}

/**
 * A parameter group as the optimizer holds it: its parameters plus every hyper-parameter,
 * resolved against the optimizer's options. `initialLr` is set by the first scheduler attached
 * (PyTorch's `initial_lr`).
 */
export type ParamGroup<H extends BaseHyperParams = BaseHyperParams> = H & {
  params: Tensor[];
  initialLr?: number;
};

/** A parameter group as passed in: parameters plus any hyper-parameters that override the options. */
export type ParamGroupInput<H extends BaseHyperParams = BaseHyperParams> = Partial<H> & {
  params: Tensor[];
};

/** A parameter group in a state dict: hyper-parameters, with `params` as positions. */
export type SavedParamGroup<H extends BaseHyperParams = BaseHyperParams> = H & {
  params: number[];
  initialLr?: number;
};

/**
 * PyTorch's optimizer state-dict structure. `state` is keyed by a parameter's position counted
 * across all groups in order; parameters that have never been stepped have no entry. Tensors in
 * a state dict returned by `stateDict()` are the optimizer's own (do not dispose them); clone
 * them to keep a snapshot that outlives the next `step()`.
 */
export interface OptimizerStateDict<H extends BaseHyperParams = BaseHyperParams> {
  state: Record<number, ParamState>;
  paramGroups: SavedParamGroup<H>[];
}

/**
 * A state dict split for saving: tensors under flat names (`state.<index>.<key>`, ready for
 * safetensors) and everything else in `meta`, which is JSON-serialisable.
 */
export interface SerializedOptimizerState<H extends BaseHyperParams = BaseHyperParams> {
  tensors: Record<string, Tensor>;
  meta: OptimizerMeta<H>;
}

/** The JSON half of a serialised state dict. */
export interface OptimizerMeta<H extends BaseHyperParams = BaseHyperParams> {
  format: 'lethe.optim/1';
  paramGroups: SavedParamGroup<H>[];
  /** Numeric state entries (such as Adam's `step`), keyed like `state`. */
  state: Record<number, Record<string, number>>;
}

/** Options every optimizer accepts besides its hyper-parameters. */
export interface OptimizerOptions {
  /**
   * 0/1 masks (any dtype; non-zero means "trainable") keyed by parameter, each of the
   * parameter's shape. Masked-out entries stay bit-identical through every step: the gradient is
   * masked before it enters the update (so momentum and moment estimates see 0 there, as SalUn
   * does) and the new value is taken only where the mask is set, so weight decay and momentum
   * cannot move them either. The optimizer keeps its own boolean copy. See `setGradMask`.
   */
  gradMask?: Map<Tensor, Tensor>;
}

/** Formats a received value for an "Expected X for Y but received Z" message. */
export function show(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (Array.isArray(value)) return `[${value.map(show).join(', ')}]`;
  return String(value);
}

/** Throws unless `value` is a finite number >= 0. */
export function checkNonNegative(name: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new OptionError(`Expected a non-negative number for ${name} but received ${show(value)}`);
  }
}

/** Throws unless `value` is a boolean. */
export function checkBoolean(name: string, value: unknown): void {
  if (typeof value !== 'boolean') {
    throw new OptionError(`Expected a boolean for ${name} but received ${show(value)}`);
  }
}

/** Drops keys whose value is undefined, so they do not override defaults. */
export function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

const FLOAT_DTYPES = new Set(['float32', 'float64', 'float16', 'bfloat16']);

/**
 * Base class: subclasses supply their defaults, a validator for one group's hyper-parameters,
 * and `update`, the in-place rule for one parameter.
 */
export abstract class Optimizer<H extends BaseHyperParams = BaseHyperParams> {
  /** The parameter groups; schedulers write `lr` here. */
  readonly paramGroups: ParamGroup<H>[] = [];
  /** The hyper-parameters a group gets when it does not override them. */
  readonly defaults: Readonly<H>;
  /** Number of completed `step()` calls. */
  stepCount = 0;
  private readonly state = new Map<Tensor, ParamState>();
  private readonly masks = new Map<Tensor, Tensor>();
  private readonly validateGroup: (h: H) => void;
  private disposed = false;

  protected constructor(
    params: Tensor[] | ParamGroupInput<H>[],
    defaults: H,
    validate: (h: H) => void,
    options: OptimizerOptions = {},
  ) {
    this.validateGroup = validate;
    validate(defaults);
    this.defaults = Object.freeze({ ...defaults });
    if (!Array.isArray(params)) {
      throw new OptionError(
        `Expected an array of tensors or parameter groups for params but received ${show(params)}`,
      );
    }
    if (params.length === 0)
      throw new OptionError('Expected a non-empty parameter list but received []');
    const groups: ParamGroupInput<H>[] = isGroupList(params)
      ? params
      : [{ params: params as Tensor[] } as ParamGroupInput<H>];
    for (const g of groups) this.addParamGroup(g);
    if (options.gradMask !== undefined) this.setGradMask(options.gradMask);
  }

  /** The in-place update of one parameter (`param` may be a scratch copy when masked). */
  protected abstract update(
    param: Tensor,
    grad: Tensor,
    state: ParamState,
    group: ParamGroup<H>,
  ): void;

  /**
   * The same rule for a list of parameters at once (none of them masked), for optimizers that
   * can write it with multi-tensor operations: one call to libtorch per operation instead of one
   * per parameter. Must give exactly `update`'s numbers.
   */
  protected updateMany?(
    params: Tensor[],
    grads: Tensor[],
    states: ParamState[],
    group: ParamGroup<H>,
  ): void;

  /** Adds a group, filling unspecified hyper-parameters from `defaults` (PyTorch's `add_param_group`). */
  addParamGroup(group: ParamGroupInput<H>): void {
    this.assertLive();
    if (group === null || typeof group !== 'object' || !Array.isArray(group.params)) {
      throw new OptionError(
        `Expected a parameter group { params: Tensor[] } but received ${show(group)}`,
      );
    }
    const overrides = Object.fromEntries(
      Object.entries(group).filter(([k, v]) => k !== 'params' && v !== undefined),
    ) as Partial<H>;
    const resolved = { ...this.defaults, ...overrides } as H;
    if ('betas' in resolved && Array.isArray(resolved.betas)) {
      (resolved as { betas: number[] }).betas = [...resolved.betas];
    }
    this.validateGroup(resolved);
    const seen = new Set(this.paramGroups.flatMap((g) => g.params));
    for (const p of group.params) {
      if (!(p instanceof Tensor)) {
        throw new OptionError(`Expected tensors in params but received ${show(p)}`);
      }
      if (!p.isLeaf)
        throw new OptionError(
          "Expected leaf tensors in params but received a non-leaf tensor (can't optimize it)",
        );
      if (seen.has(p))
        throw new OptionError('Expected each parameter in one group only but received one twice');
      seen.add(p);
    }
    this.paramGroups.push({ ...resolved, params: [...group.params] });
  }

  /**
   * Sets (or, with null, clears) the gradient masks; replaces any previous masks. Keys must be
   * parameters of this optimizer and each mask must have its parameter's shape.
   */
  setGradMask(masks: Map<Tensor, Tensor> | null): void {
    this.assertLive();
    const index = new Map(this.allParams().map((p, i) => [p, i]));
    const fresh = new Map<Tensor, Tensor>();
    try {
      for (const [p, m] of masks ?? []) {
        const i = index.get(p);
        if (i === undefined)
          throw new OptionError(
            'Expected gradMask keys to be parameters of this optimizer but received another tensor',
          );
        if (m.shape.join() !== p.shape.join()) {
          throw new OptionError(
            `Expected a gradMask of shape [${p.shape}] for parameter ${i} but received [${m.shape}]`,
          );
        }
        fresh.set(p, keep(noGrad(() => m.ne(0))));
      }
    } catch (error) {
      for (const m of fresh.values()) m.dispose();
      throw error;
    }
    for (const m of this.masks.values()) m.dispose();
    this.masks.clear();
    for (const [p, m] of fresh) this.masks.set(p, m);
  }

  /**
   * One optimisation step over every parameter that has a gradient (others are skipped, as in
   * PyTorch). Runs without recording gradients.
   */
  step(): void {
    this.assertLive();
    noGrad(() => {
      for (const group of this.paramGroups) {
        if (this.updateMany) tidy(() => this.stepGroup(group));
        else for (const p of group.params) tidy(() => this.stepParam(p, group));
      }
    });
    this.stepCount += 1;
  }

  /** A group through `updateMany`; masked parameters still go one by one. */
  private stepGroup(group: ParamGroup<H>): void {
    const params: Tensor[] = [];
    const grads: Tensor[] = [];
    const states: ParamState[] = [];
    for (const p of group.params) {
      if (this.masks.has(p)) {
        tidy(() => this.stepParam(p, group));
        continue;
      }
      const grad = p.grad; // a fresh handle, freed by the enclosing tidy
      if (grad === null) continue;
      params.push(p);
      grads.push(grad);
      states.push(this.stateOf(p));
    }
    if (params.length > 0) this.updateMany!(params, grads, states, group);
  }

  private stateOf(p: Tensor): ParamState {
    let state = this.state.get(p);
    if (state === undefined) {
      state = {};
      this.state.set(p, state);
    }
    return state;
  }

  private stepParam(p: Tensor, group: ParamGroup<H>): void {
    const grad = p.grad; // a fresh handle, freed by the enclosing tidy
    if (grad === null) return;
    const state = this.stateOf(p);
    const mask = this.masks.get(p);
    if (mask === undefined) {
      this.update(p, grad, state, group);
      return;
    }
    // Update a copy, then take the new value only where the mask is set: exact for the masked
    // entries whatever weight decay or momentum would have done to them.
    const next = p.clone();
    this.update(next, where(mask, grad, 0), state, group);
    p.copy_(where(mask, next, p));
  }

  /**
   * Clears gradients. `setToNone = false` (PyTorch 1.13's default) zeroes them in place;
   * `true` drops them, so parameters left out of the next backward pass are skipped by `step()`.
   */
  zeroGrad(setToNone = false): void {
    this.assertLive();
    noGrad(() => {
      for (const p of this.allParams()) {
        if (setToNone) {
          p.grad = null; // no handle to the old gradient needed
          continue;
        }
        const g = p.grad;
        if (g === null) continue;
        g.zero_();
        g.dispose();
      }
    });
  }

  /** The state of one parameter (undefined before its first step). Tensors are the optimizer's. */
  getState(param: Tensor): Readonly<ParamState> | undefined {
    return this.state.get(param);
  }

  /** PyTorch's `state_dict()`: see `OptimizerStateDict`. Tensors are not copied. */
  stateDict(): OptimizerStateDict<H> {
    this.assertLive();
    const state: Record<number, ParamState> = {};
    this.allParams().forEach((p, i) => {
      const s = this.state.get(p);
      if (s !== undefined) state[i] = { ...s };
    });
    let start = 0;
    const paramGroups = this.paramGroups.map((g) => {
      const { params, ...hyper } = g;
      const saved = {
        ...cloneHyper(hyper),
        params: params.map((_, j) => start + j),
      } as SavedParamGroup<H>;
      start += params.length;
      return saved;
    });
    return { state, paramGroups };
  }

  /**
   * PyTorch's `load_state_dict()`: group hyper-parameters are replaced by the saved ones and state
   * tensors are copied (cast to each parameter's device, and dtype for floating-point state), so
   * the source may be disposed afterwards.
   */
  loadStateDict(stateDict: OptimizerStateDict<H>): void {
    this.assertLive();
    const saved = stateDict.paramGroups;
    if (!Array.isArray(saved) || saved.length !== this.paramGroups.length) {
      throw new OptionError(
        `Expected a state dict with ${this.paramGroups.length} parameter groups but received ${Array.isArray(saved) ? saved.length : show(saved)}`,
      );
    }
    saved.forEach((g, i) => {
      if (g.params.length !== this.paramGroups[i].params.length) {
        throw new OptionError(
          `Expected ${this.paramGroups[i].params.length} parameters in saved group ${i} but received ${g.params.length}`,
        );
      }
    });
    const groups = saved.map((g) => {
      const resolved = cloneHyper(g) as unknown as Record<string, unknown>;
      delete resolved.params;
      this.validateGroup(resolved as unknown as H);
      return resolved as unknown as H & { initialLr?: number };
    });
    const idToParam = new Map<number, Tensor>();
    saved.forEach((g, i) =>
      g.params.forEach((id, j) => idToParam.set(id, this.paramGroups[i].params[j])),
    );
    const fresh = new Map<Tensor, ParamState>();
    try {
      for (const [key, entry] of Object.entries(stateDict.state ?? {})) {
        const p = idToParam.get(Number(key));
        if (p === undefined)
          throw new OptionError(
            `Expected state for parameters 0..${idToParam.size - 1} but received state for ${key}`,
          );
        const s: ParamState = {};
        fresh.set(p, s);
        for (const [k, v] of Object.entries(entry))
          s[k] = typeof v === 'number' ? v : castLike(v, p);
      }
    } catch (error) {
      for (const s of fresh.values()) disposeState(s);
      throw error;
    }
    for (const s of this.state.values()) disposeState(s);
    this.state.clear();
    for (const [p, s] of fresh) this.state.set(p, s);
    groups.forEach((h, i) => {
      const params = this.paramGroups[i].params;
      for (const k of Object.keys(this.paramGroups[i]))
        delete (this.paramGroups[i] as unknown as Record<string, unknown>)[k];
      Object.assign(this.paramGroups[i], h, { params });
    });
  }

  /** The state dict as named tensors plus JSON metadata, for saving with safetensors. */
  toTensors(): SerializedOptimizerState<H> {
    return stateDictToTensors(this.stateDict());
  }

  /** Loads what `toTensors()` produced (tensors are copied; the caller keeps ownership). */
  fromTensors(tensors: Record<string, Tensor>, meta: OptimizerMeta<H>): void {
    this.loadStateDict(stateDictFromTensors(tensors, meta));
  }

  /** Frees the state tensors and mask copies. The optimizer cannot be used afterwards. */
  dispose(): void {
    if (this.disposed) return;
    for (const s of this.state.values()) disposeState(s);
    this.state.clear();
    for (const m of this.masks.values()) m.dispose();
    this.masks.clear();
    this.disposed = true;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  private allParams(): Tensor[] {
    return this.paramGroups.flatMap((g) => g.params);
  }

  private assertLive(): void {
    if (this.disposed) throw new OptionError('This optimizer has been disposed');
  }
}

/** Splits a state dict into named tensors and JSON metadata (tensors are not copied). */
export function stateDictToTensors<H extends BaseHyperParams>(
  sd: OptimizerStateDict<H>,
): SerializedOptimizerState<H> {
  const tensors: Record<string, Tensor> = {};
  const numbers: Record<number, Record<string, number>> = {};
  for (const [i, entry] of Object.entries(sd.state)) {
    for (const [k, v] of Object.entries(entry)) {
      if (typeof v === 'number') (numbers[Number(i)] ??= {})[k] = v;
      else tensors[`state.${i}.${k}`] = v;
    }
  }
  return {
    tensors,
    meta: {
      format: 'lethe.optim/1',
      paramGroups: sd.paramGroups.map((g) => cloneHyper(g) as SavedParamGroup<H>),
      state: numbers,
    },
  };
}

/** Reassembles a state dict from `stateDictToTensors`' output (tensors are not copied). */
export function stateDictFromTensors<H extends BaseHyperParams>(
  tensors: Record<string, Tensor>,
  meta: OptimizerMeta<H>,
): OptimizerStateDict<H> {
  if (meta?.format !== 'lethe.optim/1') {
    throw new OptionError(
      `Expected optimizer metadata of format 'lethe.optim/1' but received ${show(meta?.format)}`,
    );
  }
  const state: Record<number, ParamState> = {};
  for (const [i, entry] of Object.entries(meta.state)) state[Number(i)] = { ...entry };
  for (const [name, t] of Object.entries(tensors)) {
    const m = /^state\.(\d+)\.(.+)$/.exec(name);
    if (m === null)
      throw new OptionError(
        `Expected optimizer tensor names like 'state.<index>.<key>' but received '${name}'`,
      );
    (state[Number(m[1])] ??= {})[m[2]] = t;
  }
  return { state, paramGroups: meta.paramGroups };
}

function isGroupList<H extends BaseHyperParams>(params: unknown[]): params is ParamGroupInput<H>[] {
  const first = params[0] as { params?: unknown };
  return first !== null && typeof first === 'object' && Array.isArray(first.params);
}

/** Copies a group's hyper-parameters, so tuples such as `betas` are not shared. */
function cloneHyper<T extends object>(h: T): T {
  return Object.fromEntries(
    Object.entries(h).map(([k, v]) => [k, Array.isArray(v) ? [...v] : v]),
  ) as T;
}

function castLike(value: Tensor, param: Tensor): Tensor {
  return keep(
    tidy(() => {
      const dtype = FLOAT_DTYPES.has(value.dtype) ? param.dtype : value.dtype;
      // `to` may return an alias of its input; clone so the optimizer owns its own storage.
      return value.to({ device: param.device, dtype }).clone();
    }),
  );
}

function disposeState(s: ParamState): void {
  for (const v of Object.values(s)) if (typeof v !== 'number') v.dispose();
}
