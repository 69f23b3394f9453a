/**
 * `Module`: PyTorch's model-building base in TypeScript. Parameters, buffers and children are
 * registered by name, so `namedParameters()` and `stateDict()` produce PyTorch's dotted keys and
 * checkpoints move both ways.
 */
import { noGrad, Tensor, TensorArgumentError, type MemoryFormat } from '../tensor/index.js';
import { keep } from '../tensor/scope.js';

/** What `Module.to` converts: the device, and the memory format of 4-D parameters and buffers. */
export interface ModuleToOptions {
  device?: string;
  /**
   * `'channelsLast'` lays 4-D tensors (convolution weights) out as NHWC, as PyTorch's
   * `module.to(memory_format=torch.channels_last)`; `'contiguous'` converts them back. Values,
   * shapes and state-dict keys do not change.
   */
  memoryFormat?: MemoryFormat;
}

/**
 * Called after `forward` with the module, its input and its output; returning a tensor replaces
 * the output (PyTorch's `register_forward_hook`).
 */
export type ForwardHook = (module: Module, input: Tensor, output: Tensor) => Tensor | void;

/** Removes the hook it was returned for (PyTorch's `RemovableHandle`). */
export interface RemovableHandle {
  remove(): void;
}

/** Thrown by `loadStateDict` when keys or shapes do not match. */
export class StateDictError extends TensorArgumentError {
  readonly missing: string[];
  readonly unexpected: string[];
  readonly mismatched: string[];
  constructor(missing: string[], unexpected: string[], mismatched: string[]) {
    const parts: string[] = [];
    if (missing.length) parts.push(`missing keys: ${missing.join(', ')}`);
    if (unexpected.length) parts.push(`unexpected keys: ${unexpected.join(', ')}`);
    if (mismatched.length) parts.push(`wrong shapes: ${mismatched.join('; ')}`);
    super(`Error(s) in loading state dict: ${parts.join(' | ')}`);
    this.missing = missing;
    this.unexpected = unexpected;
    this.mismatched = mismatched;
  }
}

export abstract class Module {
  /** Training mode (batch statistics, dropout) or eval mode. */
  training = true;
  private readonly _parameters = new Map<string, Tensor | null>();
  private readonly _buffers = new Map<string, Tensor | null>();
  private readonly _nonPersistent = new Set<string>();
  private readonly _modules = new Map<string, Module>();

  abstract forward(x: Tensor): Tensor;

  /**
   * Runs `hook` after every `forward` of this module (PyTorch's `register_forward_hook`). Lethe
   * calls `forward` directly, so the hook is installed on the instance; `clone()` copies it, as
   * `copy.deepcopy` copies PyTorch's hooks. A replaced output's handle is disposed (its storage
   * lives on wherever it is still used, autograd included).
   *
   * @example
   * // Logits in float32 whatever precision the layers ran in:
   * const handle = model.registerForwardHook((_m, _x, out) => out.float());
   * handle.remove();
   */
  registerForwardHook(hook: ForwardHook): RemovableHandle {
    const self = this as this & { _forwardHooks?: ForwardHook[] };
    if (!Object.prototype.hasOwnProperty.call(self, '_forwardHooks')) {
      self._forwardHooks = [];
      // An own `forward` that runs the class's forward, then the hooks of whichever instance
      // it is called on (a clone carries the hooks it copied).
      const forward = function (this: Module & { _forwardHooks: ForwardHook[] }, x: Tensor) {
        let out = (Object.getPrototypeOf(this) as Module).forward.call(this, x);
        for (const h of [...this._forwardHooks]) {
          const replaced = h(this, x, out);
          if (replaced instanceof Tensor && replaced !== out) {
            out.dispose();
            out = replaced;
          }
        }
        return out;
      };
      Object.defineProperty(self, 'forward', {
        value: forward,
        writable: true,
        configurable: true,
        enumerable: false,
      });
    }
    const hooks = self._forwardHooks!;
    hooks.push(hook);
    return {
      remove: () => {
        const i = hooks.indexOf(hook);
        if (i >= 0) hooks.splice(i, 1);
      },
    };
  }

  /** Whether `registerForwardHook` has hooks installed on this instance. */
  hasForwardHooks(): boolean {
    const hooks = (this as { _forwardHooks?: ForwardHook[] })._forwardHooks;
    return hooks !== undefined && hooks.length > 0;
  }

  /** Registers a parameter (made a kept leaf that requires grad) and returns it. */
  protected registerParameter(name: string, value: Tensor | null): Tensor {
    if (value !== null) {
      keep(value);
      value.requiresGrad_(true);
    }
    this._parameters.set(name, value);
    return value as Tensor;
  }

  /** Registers a buffer (state that is not trained: running statistics, counters). */
  protected registerBuffer(name: string, value: Tensor | null, persistent = true): Tensor {
    if (value !== null) keep(value);
    this._buffers.set(name, value);
    if (!persistent) this._nonPersistent.add(name);
    return value as Tensor;
  }

  /** Registers a child module under `name` and returns it. */
  protected registerModule<M extends Module>(name: string, module: M): M {
    this._modules.set(name, module);
    return module;
  }

  /** The parameter registered as `name` on this module. */
  protected param(name: string): Tensor | null {
    return this._parameters.get(name) ?? null;
  }

  /** The buffer registered as `name` on this module. */
  protected buffer(name: string): Tensor | null {
    return this._buffers.get(name) ?? null;
  }

  /** Replaces a buffer's tensor (e.g. after moving it); disposes the old one. */
  protected setBuffer(name: string, value: Tensor): void {
    const old = this._buffers.get(name);
    this._buffers.set(name, keep(value));
    if (old && old !== value) old.dispose();
  }

  /** Direct children, by name. */
  namedChildren(): [string, Module][] {
    return [...this._modules.entries()];
  }

  /** This module and all descendants with dotted names ('' for this one). */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [name, child] of this._modules) {
      out.push(...child.namedModules(prefix ? `${prefix}.${name}` : name));
    }
    return out;
  }

  /** Every parameter with its dotted name, in registration order (PyTorch's order). */
  namedParameters(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [prefix, module] of this.namedModules()) {
      for (const [name, p] of module._parameters)
        if (p) out.push([prefix ? `${prefix}.${name}` : name, p]);
    }
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** Every buffer with its dotted name; `persistentOnly` keeps those saved in state dicts. */
  namedBuffers(persistentOnly = false): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [prefix, module] of this.namedModules()) {
      for (const [name, b] of module._buffers) {
        if (b && !(persistentOnly && module._nonPersistent.has(name)))
          out.push([prefix ? `${prefix}.${name}` : name, b]);
      }
    }
    return out;
  }

  buffers(): Tensor[] {
    return this.namedBuffers().map(([, b]) => b);
  }

  /** Sets training mode on this module and all descendants. */
  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /**
   * Makes exactly the parameters whose names start with one of `prefixes` trainable and freezes
   * the rest (sRFL trains `['layer1.', 'layer2.']`). Returns the trainable names.
   */
  setTrainable(prefixes: string[]): string[] {
    const trainable: string[] = [];
    for (const [name, p] of this.namedParameters()) {
      const on = prefixes.some((prefix) => name.startsWith(prefix));
      p.requiresGrad = on;
      if (on) trainable.push(name);
    }
    if (prefixes.length > 0 && trainable.length === 0) {
      const stages = [...new Set(this.namedParameters().map(([n]) => n.split('.')[0] + '.'))];
      throw new TensorArgumentError(
        `No parameter name starts with ${prefixes.join(', ')}; names start with ${stages.join(', ')}`,
      );
    }
    return trainable;
  }

  /** Freezes (requiresGrad = false) every parameter under a name prefix ('' = all). */
  freeze(prefix = ''): void {
    for (const [name, p] of this.namedParameters())
      if (name.startsWith(prefix)) p.requiresGrad = false;
  }

  /** Unfreezes every parameter under a name prefix ('' = all). */
  unfreeze(prefix = ''): void {
    for (const [name, p] of this.namedParameters())
      if (name.startsWith(prefix)) p.requiresGrad = true;
  }

  /** Parameters that currently require grad. */
  trainableParameters(): Tensor[] {
    return this.parameters().filter((p) => p.requiresGrad);
  }

  /** Clears every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /**
   * Moves every parameter and buffer to a device, and/or lays 4-D ones out in a memory format:
   * `model.to('cuda')`, `model.to({ memoryFormat: 'channelsLast' })`. In place: the module keeps
   * its identity, but converted parameters are new tensors (build optimizers afterwards).
   */
  to(target: string | ModuleToOptions): this {
    const { device, memoryFormat } = typeof target === 'string' ? { device: target } : target;
    const convert = (t: Tensor): Tensor | null => {
      const move = device !== undefined && t.device !== device;
      // Not `isContiguous(memoryFormat)`: a weight with one input channel ([16, 1, 3, 3]) is
      // contiguous in both formats, yet libtorch picks a convolution's layout from its strides
      // (`suggest_memory_format`), and NCHW strides there made the whole stem run NCHW. Like
      // PyTorch's Module.to, ask libtorch's `to`, which copies unless the strides already say it.
      const relayout = memoryFormat !== undefined && memoryFormat !== 'preserve' && t.ndim === 4;
      if (!move && !relayout) return null;
      return noGrad(() =>
        t.to({ ...(move ? { device } : {}), ...(relayout ? { memoryFormat } : {}) }),
      );
    };
    for (const [, module] of this.namedModules()) {
      for (const [name, p] of module._parameters) {
        const moved = p && convert(p);
        if (!p || !moved) continue;
        module._parameters.set(name, keep(moved));
        moved.requiresGrad_(p.requiresGrad);
        p.dispose();
      }
      for (const [name, b] of module._buffers) {
        const moved = b && convert(b);
        if (!b || !moved) continue;
        module._buffers.set(name, keep(moved));
        b.dispose();
      }
    }
    return this;
  }

  /**
   * The state dict: parameters and persistent buffers by PyTorch's keys. The tensors are
   * detached views of the module's own storage (new handles the caller disposes).
   */
  stateDict(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const [name, t] of this.namedState()) out.set(name, t.detach());
    return out;
  }

  /** Parameters then persistent buffers of each module in turn: PyTorch's state-dict order. */
  private namedState(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [prefix, module] of this.namedModules()) {
      const key = (name: string): string => (prefix ? `${prefix}.${name}` : name);
      for (const [name, p] of module._parameters) if (p) out.push([key(name), p]);
      for (const [name, b] of module._buffers)
        if (b && !module._nonPersistent.has(name)) out.push([key(name), b]);
    }
    return out;
  }

  /**
   * Copies values from a state dict into this module's parameters and buffers. With `strict`
   * (default) every key must match; any mismatch lists all missing, unexpected and wrongly
   * shaped keys. Values are converted to each parameter's dtype and device.
   */
  loadStateDict(
    sd: Map<string, Tensor> | Record<string, Tensor>,
    options: { strict?: boolean } = {},
  ): void {
    const strict = options.strict ?? true;
    const source = sd instanceof Map ? sd : new Map(Object.entries(sd));
    const own = new Map<string, Tensor>(this.namedState());
    const missing = [...own.keys()].filter((k) => !source.has(k));
    const unexpected = [...source.keys()].filter((k) => !own.has(k));
    const mismatched: string[] = [];
    for (const [key, target] of own) {
      const value = source.get(key);
      if (value && value.shape.join(',') !== target.shape.join(',')) {
        mismatched.push(
          `${key}: expected [${target.shape}] but the state dict has [${value.shape}]`,
        );
      }
    }
    if (mismatched.length || (strict && (missing.length || unexpected.length))) {
      throw new StateDictError(missing, unexpected, mismatched);
    }
    noGrad(() => {
      for (const [key, target] of own) {
        const value = source.get(key);
        if (value) target.copy_(value);
      }
    });
  }

  /**
   * A deep copy with its own parameters and buffers (gradients are not copied; `requiresGrad`
   * and training mode are). This is how a teacher is copied from a model.
   */
  clone(): this {
    const copy = Object.create(Object.getPrototypeOf(this)) as this;
    const replaced = new Map<unknown, unknown>();
    const cloneTensor = (t: Tensor | null): Tensor | null => {
      if (!t) return t;
      const c = keep(noGrad(() => t.clone()));
      if (t.requiresGrad) c.requiresGrad_(true);
      replaced.set(t, c);
      return c;
    };
    for (const p of this._parameters.values()) cloneTensor(p);
    for (const b of this._buffers.values()) cloneTensor(b);
    for (const [, child] of this._modules) replaced.set(child, child.clone());
    const mapValue = (v: unknown): unknown => {
      if (replaced.has(v)) return replaced.get(v);
      if (v instanceof Map) return new Map([...v].map(([k, x]) => [k, mapValue(x)]));
      if (v instanceof Set) return new Set(v);
      if (Array.isArray(v)) return v.map(mapValue);
      return v;
    };
    for (const key of Reflect.ownKeys(this)) {
      (copy as Record<string | symbol, unknown>)[key] = mapValue(
        (this as Record<string | symbol, unknown>)[key],
      );
    }
    return copy;
  }

  /** Frees every parameter and buffer of this module and its descendants. */
  dispose(): void {
    for (const p of this.parameters()) p.dispose();
    for (const b of this.buffers()) b.dispose();
  }

  /** Number of elements over all parameters (or only trainable ones). */
  numParameters(trainableOnly = false): number {
    return this.parameters()
      .filter((p) => !trainableOnly || p.requiresGrad)
      .reduce((n, p) => n + p.numel(), 0);
  }
}
