/**
 * `Tensor`: a libtorch tensor in PyTorch's vocabulary (camelCase). Every method that returns a
 * new tensor returns a new owner: dispose it, or create it inside `tidy()`.
 */
import { native, TensorArgumentError, type TensorHandle } from './native.js';
import { OPS } from './ops.js';
import { track, type Owned } from './scope.js';

export type DType =
  'float32' | 'float64' | 'int64' | 'int32' | 'uint8' | 'bool' | 'float16' | 'bfloat16';
/** `'cpu'`, `'cuda'` or `'cuda:<n>'`. */
export type Device = string;

export type TypedArray =
  Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array | Int16Array | Int8Array;

/** libtorch's ScalarType codes. */
const CODE: Record<DType, number> = {
  uint8: 0,
  int32: 3,
  int64: 4,
  float16: 5,
  float32: 6,
  float64: 7,
  bool: 11,
  bfloat16: 15,
};
const FROM_CODE: Record<number, DType> = Object.fromEntries(
  Object.entries(CODE).map(([k, v]) => [v, k as DType]),
);

export function dtypeCode(dtype: DType): number {
  const code = CODE[dtype];
  if (code === undefined) {
    throw new TensorArgumentError(
      `Expected a dtype (${Object.keys(CODE).join(', ')}) but received ${String(dtype)}`,
    );
  }
  return code;
}

/** The typed array that holds a dtype's elements when read back. */
export type ArrayFor<D extends DType> = D extends 'float32'
  ? Float32Array
  : D extends 'float64'
    ? Float64Array
    : D extends 'int64'
      ? BigInt64Array
      : D extends 'int32'
        ? Int32Array
        : Uint8Array;

/**
 * How a tensor's elements are laid out in memory (PyTorch's `torch.memory_format`):
 * `'contiguous'` is `torch.contiguous_format` (row-major, NCHW for images), `'channelsLast'` is
 * `torch.channels_last` (NHWC strides for 4-D tensors; the shape stays `[N, C, H, W]`),
 * `'preserve'` is `torch.preserve_format` (keep the source's layout).
 */
export type MemoryFormat = 'contiguous' | 'preserve' | 'channelsLast';

/** c10::MemoryFormat's codes. */
const FORMAT_CODE: Record<MemoryFormat, number> = { contiguous: 0, preserve: 1, channelsLast: 2 };

/** @internal */
export function memoryFormatCode(format: MemoryFormat): number {
  const code = FORMAT_CODE[format];
  if (code === undefined) {
    throw new TensorArgumentError(
      `Expected a memoryFormat (${Object.keys(FORMAT_CODE).join(', ')}) but received ${String(format)}`,
    );
  }
  return code;
}

/** Both tensors and plain numbers are accepted where PyTorch accepts a scalar. */
export type TensorOrScalar = Tensor | number;

export interface ToOptions {
  device?: Device;
  dtype?: DType;
  /** Layout of the result (default `'preserve'`); only 4-D tensors can be `'channelsLast'`. */
  memoryFormat?: MemoryFormat;
}

export class Tensor implements Owned {
  /** @internal the native handle; use only inside src/tensor */
  readonly handle: TensorHandle;
  private cachedInfo: [number, string, boolean, ...number[]] | undefined;
  private disposed = false;

  /** @internal tensors are made by factory functions and operations */
  constructor(handle: TensorHandle) {
    this.handle = handle;
    track(this);
  }

  private info(): [number, string, boolean, ...number[]] {
    if (this.cachedInfo === undefined) this.cachedInfo = native.info(this.handle);
    return this.cachedInfo;
  }

  /** The size of every dimension. */
  get shape(): number[] {
    return this.info().slice(3) as number[];
  }

  get dtype(): DType {
    return FROM_CODE[this.info()[0]] ?? (`scalar type ${this.info()[0]}` as DType);
  }

  get device(): Device {
    return this.info()[1];
  }

  /** Number of dimensions. */
  get ndim(): number {
    return this.info().length - 3;
  }

  dim(): number {
    return this.ndim;
  }

  /** Size of dimension `d` (negative counts from the end). */
  size(d: number): number {
    const shape = this.shape;
    const i = d < 0 ? d + shape.length : d;
    if (i < 0 || i >= shape.length) {
      throw new TensorArgumentError(`size(${d}): tensor has ${shape.length} dimensions`);
    }
    return shape[i];
  }

  /** Number of elements. */
  numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Frees the tensor's memory now. Using it afterwards is an error. Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    native.dispose(this.handle);
  }

  // ---- autograd ---------------------------------------------------------------------------

  get requiresGrad(): boolean {
    return native.info(this.handle)[2];
  }

  set requiresGrad(value: boolean) {
    native.setRequiresGrad(this.handle, value);
  }

  /** Sets `requiresGrad` in place and returns this tensor. */
  requiresGrad_(value = true): this {
    native.setRequiresGrad(this.handle, value);
    return this;
  }

  /**
   * The gradient accumulated by `backward()`, or null. Each read returns a new handle to the
   * same storage (owned like any other tensor).
   */
  get grad(): Tensor | null {
    const g = native.grad(this.handle);
    return g === null ? null : new Tensor(g);
  }

  set grad(value: Tensor | null) {
    native.setGrad(this.handle, value === null ? null : value.handle);
  }

  get isLeaf(): boolean {
    return native.isLeaf(this.handle);
  }

  /** Computes gradients of this tensor (a scalar, or with an explicit `gradient`). */
  backward(
    gradient?: Tensor,
    options: { retainGraph?: boolean; createGraph?: boolean } = {},
  ): void {
    native.backward(
      [this.handle],
      gradient === undefined ? null : [gradient.handle],
      options.retainGraph ?? false,
      options.createGraph ?? false,
    );
  }

  /** A view that shares storage but is cut off from the graph. */
  detach(): Tensor {
    return unary(OPS.detach, this);
  }

  // ---- conversion ----------------------------------------------------------------------------

  /**
   * Moves and/or converts: `t.to('cuda')`, `t.to('float64')`,
   * `t.to({ device, dtype, memoryFormat: 'channelsLast' })`. Like PyTorch, returns a new handle to
   * the same storage when nothing changes.
   */
  to(target: Device | DType | ToOptions): Tensor {
    const opts: ToOptions =
      typeof target === 'object'
        ? target
        : target in CODE
          ? { dtype: target as DType }
          : { device: target };
    const format = opts.memoryFormat === undefined ? null : memoryFormatCode(opts.memoryFormat);
    const dtype = dtypeCode(opts.dtype ?? this.dtype);
    if (opts.device !== undefined) {
      validateDevice(opts.device);
      return wrap(native.call(OPS.toDevice, this.handle, opts.device, dtype, false, false, format));
    }
    return wrap(native.call(OPS.toDtype, this.handle, dtype, false, false, format));
  }

  cpu(): Tensor {
    return this.to({ device: 'cpu' });
  }

  float(): Tensor {
    return this.to('float32');
  }

  double(): Tensor {
    return this.to('float64');
  }

  long(): Tensor {
    return this.to('int64');
  }

  int(): Tensor {
    return this.to('int32');
  }

  bool(): Tensor {
    return this.to('bool');
  }

  /** The elements as a typed array of the tensor's dtype (copied, contiguous, on the CPU). */
  data<D extends DType = DType>(): ArrayFor<D> {
    const buffer = native.toBuffer(this.handle);
    switch (this.dtype) {
      case 'float32':
        return new Float32Array(buffer) as ArrayFor<D>;
      case 'float64':
        return new Float64Array(buffer) as ArrayFor<D>;
      case 'int64':
        return new BigInt64Array(buffer) as ArrayFor<D>;
      case 'int32':
        return new Int32Array(buffer) as ArrayFor<D>;
      case 'uint8':
      case 'bool':
        return new Uint8Array(buffer) as ArrayFor<D>;
      default:
        throw new TensorArgumentError(
          `data(): reading ${this.dtype} tensors is not supported; convert with .float()`,
        );
    }
  }

  /** The elements as plain numbers (int64 converted to number). */
  toArray(): number[] {
    const d = this.data();
    return d instanceof BigInt64Array ? Array.from(d, Number) : Array.from(d as ArrayLike<number>);
  }

  /** The value of a one-element tensor. */
  item(): number {
    if (this.numel() !== 1) {
      throw new TensorArgumentError(
        `item(): expected a tensor with one element but shape is [${this.shape}]`,
      );
    }
    return native.call(OPS.item, this.handle) as number;
  }

  // ---- shape and indexing ----------------------------------------------------------------------

  reshape(...shape: number[] | [number[]]): Tensor {
    return wrap(native.call(OPS.reshape, this.handle, shapeArg(shape)));
  }

  view(...shape: number[] | [number[]]): Tensor {
    return wrap(native.call(OPS.view, this.handle, shapeArg(shape)));
  }

  permute(...dims: number[] | [number[]]): Tensor {
    return wrap(native.call(OPS.permute, this.handle, shapeArg(dims)));
  }

  transpose(dim0: number, dim1: number): Tensor {
    return wrap(native.call(OPS.transpose, this.handle, dim0, dim1));
  }

  /** Transpose of a 2-D tensor. */
  t(): Tensor {
    return this.transpose(0, 1);
  }

  flatten(startDim = 0, endDim = -1): Tensor {
    return wrap(native.call(OPS.flatten, this.handle, startDim, endDim));
  }

  squeeze(dim?: number): Tensor {
    return dim === undefined
      ? unary(OPS.squeeze, this)
      : wrap(native.call(OPS.squeezeDim, this.handle, dim));
  }

  unsqueeze(dim: number): Tensor {
    return wrap(native.call(OPS.unsqueeze, this.handle, dim));
  }

  /** `length` elements of dimension `dim` starting at `start` (a view). */
  narrow(dim: number, start: number, length: number): Tensor {
    return wrap(native.call(OPS.narrow, this.handle, dim, start, length));
  }

  /** Python's `t[start:end:step]` along `dim` (a view). */
  slice(dim: number, start?: number, end?: number, step = 1): Tensor {
    return wrap(native.call(OPS.slice, this.handle, dim, start ?? null, end ?? null, step));
  }

  /** Index `index` of dimension `dim`, removing that dimension (a view). */
  select(dim: number, index: number): Tensor {
    return wrap(native.call(OPS.select, this.handle, dim, index));
  }

  indexSelect(dim: number, index: Tensor): Tensor {
    return wrap(native.call(OPS.indexSelect, this.handle, dim, index.handle));
  }

  gather(dim: number, index: Tensor): Tensor {
    return wrap(native.call(OPS.gather, this.handle, dim, index.handle));
  }

  /** Out-of-place scatter: a copy of this tensor with `src` (or a value) written at `index`. */
  scatter(dim: number, index: Tensor, src: TensorOrScalar): Tensor {
    return typeof src === 'number'
      ? wrap(native.call(OPS.scatterValue, this.handle, dim, index.handle, src))
      : wrap(native.call(OPS.scatter, this.handle, dim, index.handle, src.handle));
  }

  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor {
    return wrap(native.call(OPS.scatterAdd, this.handle, dim, index.handle, src.handle));
  }

  maskedSelect(mask: Tensor): Tensor {
    return binary(OPS.maskedSelect, this, mask);
  }

  maskedFill(mask: Tensor, value: number): Tensor {
    return wrap(native.call(OPS.maskedFill, this.handle, mask.handle, value));
  }

  /** Like `torch.roll`: shifts elements along `dims` (all elements flattened when omitted). */
  roll(shifts: number | number[], dims?: number | number[]): Tensor {
    return wrap(
      native.call(OPS.roll, this.handle, toList(shifts), dims === undefined ? [] : toList(dims)),
    );
  }

  repeat(...repeats: number[] | [number[]]): Tensor {
    return wrap(native.call(OPS.repeat, this.handle, shapeArg(repeats)));
  }

  expand(...shape: number[] | [number[]]): Tensor {
    return wrap(native.call(OPS.expand, this.handle, shapeArg(shape)));
  }

  expandAs(other: Tensor): Tensor {
    return this.expand(other.shape);
  }

  /**
   * This tensor laid out in `memoryFormat` (default `'contiguous'`, row-major): a new handle to
   * the same storage when it already is, a copy otherwise (`torch.Tensor.contiguous`).
   */
  contiguous(options: { memoryFormat?: MemoryFormat } = {}): Tensor {
    return wrap(
      native.call(
        OPS.contiguous,
        this.handle,
        memoryFormatCode(options.memoryFormat ?? 'contiguous'),
      ),
    );
  }

  /** Whether the strides are those of `memoryFormat` (default `'contiguous'`, row-major). */
  isContiguous(options: { memoryFormat?: MemoryFormat } = {}): boolean {
    const format = options.memoryFormat ?? 'contiguous';
    if (format === 'preserve') {
      throw new TensorArgumentError(
        "isContiguous: expected memoryFormat 'contiguous' or 'channelsLast' but received 'preserve'",
      );
    }
    return native.isContiguous(this.handle, memoryFormatCode(format));
  }

  /** A copy with its own storage, laid out like this tensor unless `memoryFormat` says otherwise. */
  clone(options: { memoryFormat?: MemoryFormat } = {}): Tensor {
    return wrap(
      native.call(OPS.clone, this.handle, memoryFormatCode(options.memoryFormat ?? 'preserve')),
    );
  }

  // ---- math -------------------------------------------------------------------------------------

  /** `this + alpha * other` */
  add(other: TensorOrScalar, alpha = 1): Tensor {
    return typeof other === 'number'
      ? wrap(native.call(OPS.addScalar, this.handle, other, alpha))
      : wrap(native.call(OPS.add, this.handle, other.handle, alpha));
  }

  /** `this - alpha * other` */
  sub(other: TensorOrScalar, alpha = 1): Tensor {
    return typeof other === 'number'
      ? wrap(native.call(OPS.subScalar, this.handle, other, alpha))
      : wrap(native.call(OPS.sub, this.handle, other.handle, alpha));
  }

  mul(other: TensorOrScalar): Tensor {
    return scalarOrTensor(OPS.mulScalar, OPS.mul, this, other);
  }

  div(other: TensorOrScalar): Tensor {
    return scalarOrTensor(OPS.divScalar, OPS.div, this, other);
  }

  /** `other - this` for a scalar `other`. */
  rsub(other: number): Tensor {
    return wrap(native.call(OPS.rsub, this.handle, other));
  }

  neg(): Tensor {
    return unary(OPS.neg, this);
  }

  exp(): Tensor {
    return unary(OPS.exp, this);
  }

  log(): Tensor {
    return unary(OPS.log, this);
  }

  pow(exponent: TensorOrScalar): Tensor {
    return scalarOrTensor(OPS.powScalar, OPS.powTensor, this, exponent);
  }

  sqrt(): Tensor {
    return unary(OPS.sqrt, this);
  }

  rsqrt(): Tensor {
    return unary(OPS.rsqrt, this);
  }

  abs(): Tensor {
    return unary(OPS.abs, this);
  }

  sign(): Tensor {
    return unary(OPS.sign, this);
  }

  reciprocal(): Tensor {
    return unary(OPS.reciprocal, this);
  }

  square(): Tensor {
    return this.mul(this);
  }

  clamp(min?: number | null, max?: number | null): Tensor {
    return wrap(native.call(OPS.clamp, this.handle, min ?? null, max ?? null));
  }

  maximum(other: Tensor): Tensor {
    return binary(OPS.maximum, this, other);
  }

  minimum(other: Tensor): Tensor {
    return binary(OPS.minimum, this, other);
  }

  matmul(other: Tensor): Tensor {
    return binary(OPS.matmul, this, other);
  }

  mm(other: Tensor): Tensor {
    return binary(OPS.mm, this, other);
  }

  logsumexp(dim: number | number[], keepdim = false): Tensor {
    return wrap(native.call(OPS.logsumexp, this.handle, toList(dim), keepdim));
  }

  relu(): Tensor {
    return unary(OPS.relu, this);
  }

  sigmoid(): Tensor {
    return unary(OPS.sigmoid, this);
  }

  tanh(): Tensor {
    return unary(OPS.tanh, this);
  }

  softmax(dim: number): Tensor {
    return wrap(native.call(OPS.softmax, this.handle, dim));
  }

  logSoftmax(dim: number): Tensor {
    return wrap(native.call(OPS.logSoftmax, this.handle, dim));
  }

  // ---- reductions ---------------------------------------------------------------------------------

  sum(dim?: number | number[], keepdim = false): Tensor {
    return dim === undefined
      ? unary(OPS.sumAll, this)
      : wrap(native.call(OPS.sum, this.handle, toList(dim), keepdim));
  }

  mean(dim?: number | number[], keepdim = false): Tensor {
    return dim === undefined
      ? unary(OPS.meanAll, this)
      : wrap(native.call(OPS.mean, this.handle, toList(dim), keepdim));
  }

  /** The maximum of all elements. */
  max(): Tensor;
  /** Maxima along `dim` and their indices. */
  max(dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
  max(dim?: number, keepdim = false): Tensor | { values: Tensor; indices: Tensor } {
    if (dim === undefined) return unary(OPS.maxAll, this);
    return pair(native.call(OPS.maxDim, this.handle, dim, keepdim));
  }

  min(): Tensor;
  min(dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
  min(dim?: number, keepdim = false): Tensor | { values: Tensor; indices: Tensor } {
    if (dim === undefined) return unary(OPS.minAll, this);
    return pair(native.call(OPS.minDim, this.handle, dim, keepdim));
  }

  argmax(dim?: number, keepdim = false): Tensor {
    return wrap(native.call(OPS.argmax, this.handle, dim ?? null, keepdim));
  }

  argmin(dim?: number, keepdim = false): Tensor {
    return wrap(native.call(OPS.argmin, this.handle, dim ?? null, keepdim));
  }

  /** Standard deviation; `unbiased` (Bessel's correction) by default, as in PyTorch. */
  std(dim?: number | number[], options: { unbiased?: boolean; keepdim?: boolean } = {}): Tensor {
    const correction = options.unbiased === false ? 0 : 1;
    return wrap(
      native.call(
        OPS.std,
        this.handle,
        dim === undefined ? null : toList(dim),
        correction,
        options.keepdim ?? false,
      ),
    );
  }

  var(dim?: number | number[], options: { unbiased?: boolean; keepdim?: boolean } = {}): Tensor {
    const correction = options.unbiased === false ? 0 : 1;
    return wrap(
      native.call(
        OPS.var,
        this.handle,
        dim === undefined ? null : toList(dim),
        correction,
        options.keepdim ?? false,
      ),
    );
  }

  /** The p-norm over `dim` (all elements when omitted). */
  norm(p = 2, dim?: number | number[], keepdim = false): Tensor {
    return dim === undefined
      ? wrap(native.call(OPS.normAll, this.handle, p))
      : wrap(native.call(OPS.norm, this.handle, p, toList(dim), keepdim));
  }

  sort(dim = -1, descending = false): { values: Tensor; indices: Tensor } {
    return pair(native.call(OPS.sort, this.handle, dim, descending));
  }

  topk(k: number, dim = -1, largest = true, sorted = true): { values: Tensor; indices: Tensor } {
    return pair(native.call(OPS.topk, this.handle, k, dim, largest, sorted));
  }

  /** The k-th smallest element (1-based, as PyTorch) along `dim`. */
  kthvalue(k: number, dim = -1, keepdim = false): { values: Tensor; indices: Tensor } {
    return pair(native.call(OPS.kthvalue, this.handle, k, dim, keepdim));
  }

  /** The q-quantile (0..1), linear interpolation, over `dim` or all elements. */
  quantile(q: number, dim?: number, keepdim = false): Tensor {
    return wrap(native.call(OPS.quantile, this.handle, q, dim ?? null, keepdim));
  }

  all(): Tensor {
    return unary(OPS.all, this);
  }

  any(): Tensor {
    return unary(OPS.any, this);
  }

  // ---- comparisons --------------------------------------------------------------------------------

  eq(other: TensorOrScalar): Tensor {
    return scalarOrTensor(OPS.eqScalar, OPS.eq, this, other);
  }

  ne(other: TensorOrScalar): Tensor {
    return scalarOrTensor(OPS.neScalar, OPS.ne, this, other);
  }

  lt(other: TensorOrScalar): Tensor {
    return scalarOrTensor(OPS.ltScalar, OPS.lt, this, other);
  }

  le(other: TensorOrScalar): Tensor {
    return scalarOrTensor(OPS.leScalar, OPS.le, this, other);
  }

  gt(other: TensorOrScalar): Tensor {
    return scalarOrTensor(OPS.gtScalar, OPS.gt, this, other);
  }

  ge(other: TensorOrScalar): Tensor {
    return scalarOrTensor(OPS.geScalar, OPS.ge, this, other);
  }

  isfinite(): Tensor {
    return unary(OPS.isfinite, this);
  }

  // ---- in place (return this) -------------------------------------------------------------------

  add_(other: TensorOrScalar, alpha = 1): this {
    if (typeof other === 'number') native.callInPlace(OPS.addScalar_, this.handle, other, alpha);
    else native.callInPlace(OPS.add_, this.handle, other.handle, alpha);
    return this;
  }

  sub_(other: Tensor, alpha = 1): this {
    native.callInPlace(OPS.sub_, this.handle, other.handle, alpha);
    return this;
  }

  mul_(other: TensorOrScalar): this {
    if (typeof other === 'number') native.callInPlace(OPS.mulScalar_, this.handle, other);
    else native.callInPlace(OPS.mul_, this.handle, other.handle);
    return this;
  }

  div_(other: TensorOrScalar): this {
    if (typeof other === 'number') native.callInPlace(OPS.divScalar_, this.handle, other);
    else native.callInPlace(OPS.div_, this.handle, other.handle);
    return this;
  }

  /** `this += value * t1 * t2` */
  addcmul_(t1: Tensor, t2: Tensor, value = 1): this {
    native.callInPlace(OPS.addcmul_, this.handle, t1.handle, t2.handle, value);
    return this;
  }

  /** `this += value * t1 / t2` */
  addcdiv_(t1: Tensor, t2: Tensor, value = 1): this {
    native.callInPlace(OPS.addcdiv_, this.handle, t1.handle, t2.handle, value);
    return this;
  }

  lerp_(end: Tensor, weight: number): this {
    native.callInPlace(OPS.lerp_, this.handle, end.handle, weight);
    return this;
  }

  sqrt_(): this {
    native.callInPlace(OPS.sqrt_, this.handle);
    return this;
  }

  clamp_(min?: number | null, max?: number | null): this {
    native.callInPlace(OPS.clamp_, this.handle, min ?? null, max ?? null);
    return this;
  }

  relu_(): this {
    native.callInPlace(OPS.relu_, this.handle);
    return this;
  }

  copy_(src: Tensor): this {
    native.callInPlace(OPS.copy_, this.handle, src.handle);
    return this;
  }

  zero_(): this {
    native.callInPlace(OPS.zero_, this.handle);
    return this;
  }

  fill_(value: number): this {
    native.callInPlace(OPS.fill_, this.handle, value);
    return this;
  }

  /** Fills with U(from, to) draws from libtorch's seeded generator. */
  uniform_(from = 0, to = 1): this {
    native.callInPlace(OPS.uniform_, this.handle, from, to);
    return this;
  }

  /** Fills with N(mean, std²) draws from libtorch's seeded generator. */
  normal_(mean = 0, std = 1): this {
    native.callInPlace(OPS.normal_, this.handle, mean, std);
    return this;
  }

  toString(): string {
    if (this.disposed) return 'Tensor(disposed)';
    return `Tensor(shape=[${this.shape}], dtype=${this.dtype}, device=${this.device})`;
  }
}

// ---- helpers shared by the tensor modules --------------------------------------------------------

/** @internal wraps a native handle into an owned Tensor */
export function wrap(handle: unknown): Tensor {
  return new Tensor(handle as TensorHandle);
}

function pair(result: unknown): { values: Tensor; indices: Tensor } {
  const [values, indices] = result as [TensorHandle, TensorHandle];
  return { values: new Tensor(values), indices: new Tensor(indices) };
}

function unary(op: (typeof OPS)[keyof typeof OPS], t: Tensor): Tensor {
  return wrap(native.call(op, t.handle));
}

function binary(op: (typeof OPS)[keyof typeof OPS], a: Tensor, b: Tensor): Tensor {
  return wrap(native.call(op, a.handle, b.handle));
}

function scalarOrTensor(
  scalarOp: (typeof OPS)[keyof typeof OPS],
  tensorOp: (typeof OPS)[keyof typeof OPS],
  a: Tensor,
  b: TensorOrScalar,
): Tensor {
  return typeof b === 'number'
    ? wrap(native.call(scalarOp, a.handle, b))
    : wrap(native.call(tensorOp, a.handle, b.handle));
}

/** @internal accepts `f(2, 3)` and `f([2, 3])` */
export function shapeArg(args: number[] | [number[]]): number[] {
  const shape = (args.length === 1 && Array.isArray(args[0]) ? args[0] : args) as number[];
  for (const s of shape) {
    if (!Number.isInteger(s))
      throw new TensorArgumentError(`Expected integer sizes but received [${shape}]`);
  }
  return shape;
}

function toList(v: number | number[]): number[] {
  return typeof v === 'number' ? [v] : v;
}

/** @internal */
export function validateDevice(device: string): void {
  if (!/^(cpu|cuda(:\d+)?)$/.test(device)) {
    throw new TensorArgumentError(
      `Expected a device 'cpu', 'cuda' or 'cuda:<n>' but received '${device}'`,
    );
  }
}
