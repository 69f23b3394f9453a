/**
 * Learning-rate schedulers, as `torch.optim.lr_scheduler` in PyTorch 1.13: the same chainable
 * (recursive) rules, the same initial step at construction, and the same values step for step.
 * A "step" is whatever the caller makes it: call `step()` once per batch or once per epoch, and
 * size `tMax`, `stepSize`, `milestones` in the same unit.
 *
 * @example
 * const sched = new CosineAnnealingLR(opt, { tMax: epochs * batchesPerEpoch });
 * for (const batch of loader) { ...; opt.step(); sched.step(); }
 */
import { OptionError } from '../util/errors.js';
import { show } from './optimizer.js';

/** What a scheduler needs of an optimizer: its groups' learning rates. */
export interface SchedulableOptimizer {
  readonly paramGroups: { lr: number; initialLr?: number }[];
}

/** Anything that sets learning rates step by step. */
export interface Scheduler {
  /** Advances one step and writes the new learning rates into the optimizer's groups. */
  step(): void;
  /** The learning rate of each group after the latest step. */
  getLastLr(): number[];
  stateDict(): Record<string, unknown>;
  loadStateDict(state: Record<string, unknown>): void;
}

/** The saved state of an `LRScheduler`. */
export interface LRSchedulerState {
  lastEpoch: number;
  stepCount: number;
  baseLrs: number[];
  lastLr: number[];
}

/**
 * Base class (PyTorch's `_LRScheduler`). Construction records each group's `initialLr` (if no
 * scheduler has yet) and performs the initial step, which sets the learning rate for step 0.
 */
export abstract class LRScheduler<O extends object = object> implements Scheduler {
  readonly optimizer: SchedulableOptimizer;
  /** The group learning rates this schedule is relative to (each group's `initialLr`). */
  baseLrs: number[];
  /** The index of the latest step (0 after construction). */
  lastEpoch = -1;
  protected readonly options: Readonly<O>;
  protected stepCount = 0;
  private lastLr: number[] = [];

  protected constructor(optimizer: SchedulableOptimizer, options: O) {
    if (
      optimizer === null ||
      typeof optimizer !== 'object' ||
      !Array.isArray(optimizer.paramGroups)
    ) {
      throw new OptionError(`Expected an optimizer but received ${show(optimizer)}`);
    }
    this.optimizer = optimizer;
    this.options = Object.freeze({ ...options });
    for (const g of optimizer.paramGroups) g.initialLr ??= g.lr;
    this.baseLrs = optimizer.paramGroups.map((g) => g.initialLr as number);
    this.initialStep();
  }

  /** @internal PyTorch's `_initial_step`, also used by `SequentialLR`. */
  initialStep(): void {
    this.stepCount = 0;
    this.step();
  }

  /**
   * Advances one step. With `epoch`, jumps to that step using the closed form where one exists
   * (PyTorch's deprecated `step(epoch)`; `SequentialLR` relies on it at its milestones).
   */
  step(epoch?: number): void {
    this.stepCount += 1;
    let values: number[];
    if (epoch === undefined) {
      this.lastEpoch += 1;
      values = this.getLr();
    } else {
      this.lastEpoch = epoch;
      values = this.closedFormLr() ?? this.getLr();
    }
    this.optimizer.paramGroups.forEach((g, i) => (g.lr = values[i]));
    this.lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  getLastLr(): number[] {
    return [...this.lastLr];
  }

  /** The chainable rule: the next learning rates from the groups' current ones. */
  protected abstract getLr(): number[];

  /** The learning rates at `lastEpoch` computed from `baseLrs`, or null where there is none. */
  protected closedFormLr(): number[] | null {
    return null;
  }

  protected currentLrs(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }

  stateDict(): LRSchedulerState & Record<string, unknown> {
    return {
      lastEpoch: this.lastEpoch,
      stepCount: this.stepCount,
      baseLrs: [...this.baseLrs],
      lastLr: [...this.lastLr],
    };
  }

  loadStateDict(state: Record<string, unknown>): void {
    const s = state as unknown as LRSchedulerState;
    for (const key of ['lastEpoch', 'stepCount'] as const) {
      if (!Number.isInteger(s[key]))
        throw new OptionError(`Expected an integer for ${key} but received ${show(s[key])}`);
    }
    this.lastEpoch = s.lastEpoch;
    this.stepCount = s.stepCount;
    this.baseLrs = [...s.baseLrs];
    this.lastLr = [...s.lastLr];
  }
}

function checkPositiveInteger(name: string, v: unknown): void {
  if (!Number.isInteger(v) || (v as number) <= 0) {
    throw new OptionError(`Expected a positive integer for ${name} but received ${show(v)}`);
  }
}

function checkNonNegativeNumber(name: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new OptionError(`Expected a non-negative number for ${name} but received ${show(v)}`);
  }
}

function checkFactor(name: string, v: unknown): void {
  if (typeof v !== 'number' || !(v > 0 && v <= 1)) {
    throw new OptionError(`Expected a number in (0, 1] for ${name} but received ${show(v)}`);
  }
}

// ---- StepLR ---------------------------------------------------------------------------------------

export interface StepLROptions {
  /** Steps between decays. Required. */
  stepSize: number;
  /** Multiplicative decay. Default 0.1. */
  gamma?: number;
}

export const STEP_LR_DEFAULTS: Readonly<Omit<Required<StepLROptions>, 'stepSize'>> = Object.freeze({
  gamma: 0.1,
});

/** Multiplies the learning rate by `gamma` every `stepSize` steps. */
export class StepLR extends LRScheduler<Required<StepLROptions>> {
  constructor(optimizer: SchedulableOptimizer, options: StepLROptions) {
    const o = { ...STEP_LR_DEFAULTS, ...defined(options) } as Required<StepLROptions>;
    checkPositiveInteger('stepSize', o.stepSize);
    checkNonNegativeNumber('gamma', o.gamma);
    super(optimizer, o);
  }

  protected getLr(): number[] {
    const { stepSize, gamma } = this.options;
    if (this.lastEpoch === 0 || this.lastEpoch % stepSize !== 0) return this.currentLrs();
    return this.currentLrs().map((lr) => lr * gamma);
  }

  protected override closedFormLr(): number[] {
    const { stepSize, gamma } = this.options;
    return this.baseLrs.map((lr) => lr * gamma ** Math.floor(this.lastEpoch / stepSize));
  }
}

// ---- MultiStepLR ----------------------------------------------------------------------------------

export interface MultiStepLROptions {
  /** Steps at which to decay, non-decreasing; a repeated milestone decays once per repeat. */
  milestones: number[];
  /** Multiplicative decay. Default 0.1. */
  gamma?: number;
}

export const MULTI_STEP_LR_DEFAULTS: Readonly<Omit<Required<MultiStepLROptions>, 'milestones'>> =
  Object.freeze({
    gamma: 0.1,
  });

/** Multiplies the learning rate by `gamma` at each milestone. */
export class MultiStepLR extends LRScheduler<Required<MultiStepLROptions>> {
  constructor(optimizer: SchedulableOptimizer, options: MultiStepLROptions) {
    const o = { ...MULTI_STEP_LR_DEFAULTS, ...defined(options) } as Required<MultiStepLROptions>;
    checkMilestones(o.milestones);
    checkNonNegativeNumber('gamma', o.gamma);
    super(optimizer, { ...o, milestones: [...o.milestones] });
  }

  protected getLr(): number[] {
    const count = this.options.milestones.filter((m) => m === this.lastEpoch).length;
    if (count === 0) return this.currentLrs();
    return this.currentLrs().map((lr) => lr * this.options.gamma ** count);
  }

  protected override closedFormLr(): number[] {
    const passed = bisectRight(this.options.milestones, this.lastEpoch);
    return this.baseLrs.map((lr) => lr * this.options.gamma ** passed);
  }
}

function checkMilestones(milestones: unknown): void {
  const ok =
    Array.isArray(milestones) &&
    milestones.every(
      (m, i) => Number.isInteger(m) && m >= 0 && (i === 0 || m >= milestones[i - 1]),
    );
  if (!ok) {
    throw new OptionError(
      `Expected non-decreasing non-negative integers for milestones but received ${show(milestones)}`,
    );
  }
}

// ---- CosineAnnealingLR ----------------------------------------------------------------------------

export interface CosineAnnealingLROptions {
  /** Steps from the initial learning rate down to `etaMin` (half a cosine period). Required. */
  tMax: number;
  /** The minimum learning rate. Default 0. */
  etaMin?: number;
}

export const COSINE_ANNEALING_LR_DEFAULTS: Readonly<
  Omit<Required<CosineAnnealingLROptions>, 'tMax'>
> = Object.freeze({ etaMin: 0 });

/**
 * Cosine annealing from each group's initial learning rate to `etaMin` over `tMax` steps:
 * `η_t = η_min + (η_0 − η_min)(1 + cos(πt/T_max))/2`. Computed recursively as PyTorch does, which
 * equals that closed form when nothing else changes the rate; past `tMax` it rises again.
 */
export class CosineAnnealingLR extends LRScheduler<Required<CosineAnnealingLROptions>> {
  constructor(optimizer: SchedulableOptimizer, options: CosineAnnealingLROptions) {
    const o = {
      ...COSINE_ANNEALING_LR_DEFAULTS,
      ...defined(options),
    } as Required<CosineAnnealingLROptions>;
    checkPositiveInteger('tMax', o.tMax);
    checkNonNegativeNumber('etaMin', o.etaMin);
    super(optimizer, o);
  }

  protected getLr(): number[] {
    const { tMax, etaMin } = this.options;
    const t = this.lastEpoch;
    if (t === 0) return this.currentLrs();
    if (this.stepCount === 1 && t > 0) {
      return this.baseLrs.map(
        (base) => etaMin + ((base - etaMin) * (1 + Math.cos((t * Math.PI) / tMax))) / 2,
      );
    }
    if ((t - 1 - tMax) % (2 * tMax) === 0) {
      return this.currentLrs().map(
        (lr, i) => lr + ((this.baseLrs[i] - etaMin) * (1 - Math.cos(Math.PI / tMax))) / 2,
      );
    }
    return this.currentLrs().map(
      (lr) =>
        ((1 + Math.cos((Math.PI * t) / tMax)) / (1 + Math.cos((Math.PI * (t - 1)) / tMax))) *
          (lr - etaMin) +
        etaMin,
    );
  }

  protected override closedFormLr(): number[] {
    const { tMax, etaMin } = this.options;
    return this.baseLrs.map(
      (base) => etaMin + ((base - etaMin) * (1 + Math.cos((Math.PI * this.lastEpoch) / tMax))) / 2,
    );
  }
}

// ---- LinearLR and LinearWarmup --------------------------------------------------------------------

export interface LinearLROptions {
  /** Factor at step 0, in (0, 1]. Default 1/3. */
  startFactor?: number;
  /** Factor from step `totalIters` on, in (0, 1]. Default 1. */
  endFactor?: number;
  /** Steps to go from `startFactor` to `endFactor`. Default 5. */
  totalIters?: number;
}

export const LINEAR_LR_DEFAULTS: Readonly<Required<LinearLROptions>> = Object.freeze({
  startFactor: 1 / 3,
  endFactor: 1,
  totalIters: 5,
});

/** Scales the learning rate by a factor moving linearly from `startFactor` to `endFactor`. */
export class LinearLR extends LRScheduler<Required<LinearLROptions>> {
  constructor(optimizer: SchedulableOptimizer, options: LinearLROptions = {}) {
    const o = { ...LINEAR_LR_DEFAULTS, ...defined(options) } as Required<LinearLROptions>;
    // PyTorch allows a start factor of 0, but its recursive rule then divides by zero.
    checkFactor('startFactor', o.startFactor);
    checkFactor('endFactor', o.endFactor);
    checkPositiveInteger('totalIters', o.totalIters);
    super(optimizer, o);
  }

  protected getLr(): number[] {
    const { startFactor, endFactor, totalIters } = this.options;
    const t = this.lastEpoch;
    if (t === 0) return this.currentLrs().map((lr) => lr * startFactor);
    if (t > totalIters) return this.currentLrs();
    return this.currentLrs().map(
      (lr) =>
        lr *
        (1 +
          (endFactor - startFactor) /
            (totalIters * startFactor + (t - 1) * (endFactor - startFactor))),
    );
  }

  protected override closedFormLr(): number[] {
    const { startFactor, endFactor, totalIters } = this.options;
    const f =
      startFactor + ((endFactor - startFactor) * Math.min(totalIters, this.lastEpoch)) / totalIters;
    return this.baseLrs.map((lr) => lr * f);
  }
}

export interface LinearWarmupOptions {
  /** Steps of warm-up; the full learning rate is reached at step `steps`. Required. */
  steps: number;
  /** Factor at step 0, in (0, 1]. Default 1/3 (LinearLR's). */
  startFactor?: number;
}

export const LINEAR_WARMUP_DEFAULTS: Readonly<Omit<Required<LinearWarmupOptions>, 'steps'>> =
  Object.freeze({
    startFactor: 1 / 3,
  });

/**
 * Linear warm-up from `startFactor`·lr to lr over `steps` steps: PyTorch's
 * `LinearLR(startFactor, endFactor=1, totalIters=steps)`. Follow it with another schedule via
 * `SequentialLR` or `withWarmup`.
 */
export class LinearWarmup extends LinearLR {
  constructor(optimizer: SchedulableOptimizer, options: LinearWarmupOptions) {
    const o = {
      ...LINEAR_WARMUP_DEFAULTS,
      ...defined(options ?? {}),
    } as Required<LinearWarmupOptions>;
    checkPositiveInteger('steps', o.steps);
    super(optimizer, { startFactor: o.startFactor, endFactor: 1, totalIters: o.steps });
  }
}

// ---- SequentialLR ---------------------------------------------------------------------------------

export interface SequentialLROptions {
  /** The schedulers, all on the same optimizer, in order. */
  schedulers: LRScheduler[];
  /** The steps at which to hand over to the next scheduler (one fewer than `schedulers`). */
  milestones: number[];
}

/**
 * Runs `schedulers[i]` between `milestones[i-1]` and `milestones[i]`, exactly as PyTorch's
 * `SequentialLR`: construct the schedulers first, in order, then this. At each milestone the next
 * scheduler restarts from step 0 (its closed form), so a cosine schedule after a warm-up starts
 * at the full learning rate.
 */
export class SequentialLR implements Scheduler {
  readonly optimizer: SchedulableOptimizer;
  lastEpoch: number;
  private readonly schedulers: LRScheduler[];
  private readonly milestones: number[];
  private lastLr: number[];

  constructor(optimizer: SchedulableOptimizer, options: SequentialLROptions) {
    const { schedulers, milestones } = options ?? ({} as SequentialLROptions);
    if (!Array.isArray(schedulers) || schedulers.length === 0) {
      throw new OptionError(
        `Expected a non-empty array of schedulers but received ${show(schedulers)}`,
      );
    }
    schedulers.forEach((s, i) => {
      if (s.optimizer !== optimizer) {
        throw new OptionError(
          `Expected every scheduler to belong to the given optimizer but scheduler ${i} does not`,
        );
      }
    });
    checkMilestones(milestones);
    if (milestones.length !== schedulers.length - 1) {
      throw new OptionError(
        `Expected ${schedulers.length - 1} milestones for ${schedulers.length} schedulers but received ${milestones.length}`,
      );
    }
    this.optimizer = optimizer;
    this.schedulers = [...schedulers];
    this.milestones = [...milestones];
    this.lastEpoch = 0;
    // Constructing the schedulers already stepped each once; undo that and restart the first.
    for (const g of optimizer.paramGroups) g.lr = g.initialLr as number;
    for (const s of this.schedulers) s.lastEpoch -= 1;
    this.schedulers[0].initialStep();
    this.lastLr = this.schedulers[0].getLastLr();
  }

  step(): void {
    this.lastEpoch += 1;
    const idx = bisectRight(this.milestones, this.lastEpoch);
    const scheduler = this.schedulers[idx];
    if (idx > 0 && this.milestones[idx - 1] === this.lastEpoch) scheduler.step(0);
    else scheduler.step();
    this.lastLr = scheduler.getLastLr();
  }

  getLastLr(): number[] {
    return [...this.lastLr];
  }

  stateDict(): Record<string, unknown> {
    return {
      lastEpoch: this.lastEpoch,
      milestones: [...this.milestones],
      lastLr: [...this.lastLr],
      schedulers: this.schedulers.map((s) => s.stateDict()),
    };
  }

  loadStateDict(state: Record<string, unknown>): void {
    const saved = state.schedulers as Record<string, unknown>[];
    if (!Array.isArray(saved) || saved.length !== this.schedulers.length) {
      throw new OptionError(
        `Expected state for ${this.schedulers.length} schedulers but received ${show(saved?.length)}`,
      );
    }
    this.lastEpoch = state.lastEpoch as number;
    this.lastLr = [...(state.lastLr as number[])];
    saved.forEach((s, i) => this.schedulers[i].loadStateDict(s));
  }
}

/**
 * A linear warm-up followed by another schedule, e.g.
 * `withWarmup(opt, { steps: 500 }, (o) => new CosineAnnealingLR(o, { tMax: total - 500 }))`.
 * The same as constructing `LinearWarmup`, then the schedule, then `SequentialLR` with
 * milestone `steps`.
 */
export function withWarmup(
  optimizer: SchedulableOptimizer,
  warmup: LinearWarmupOptions,
  then: (optimizer: SchedulableOptimizer) => LRScheduler,
): SequentialLR {
  const first = new LinearWarmup(optimizer, warmup);
  const second = then(optimizer);
  return new SequentialLR(optimizer, { schedulers: [first, second], milestones: [warmup.steps] });
}

function bisectRight(sorted: number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (x < sorted[mid]) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(o ?? {}).filter(([, v]) => v !== undefined),
  ) as Partial<T>;
}
