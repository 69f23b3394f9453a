/** Factory functions: tensors from data, constants, ranges and random draws. */
import { native, TensorArgumentError } from './native.js';
import { OPS } from './ops.js';
import {
  dtypeCode,
  shapeArg,
  Tensor,
  validateDevice,
  wrap,
  type Device,
  type DType,
  type TypedArray,
} from './tensor.js';

export interface CreateOptions {
  dtype?: DType;
  device?: Device;
  requiresGrad?: boolean;
}

function inferDtype(data: TypedArray | number[] | boolean[]): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Uint8Array) return 'uint8';
  if (Array.isArray(data) && typeof data[0] === 'boolean') return 'bool';
  if (Array.isArray(data)) return 'float32';
  throw new TensorArgumentError(
    `tensor(): unsupported data type ${Object.prototype.toString.call(data)}`,
  );
}

function toBuffer(data: TypedArray | number[] | boolean[], dtype: DType): ArrayBufferView {
  const source = data as ArrayLike<number | bigint | boolean>;
  switch (dtype) {
    case 'float32':
      return data instanceof Float32Array ? data : Float32Array.from(source, Number);
    case 'float64':
      return data instanceof Float64Array ? data : Float64Array.from(source, Number);
    case 'int64':
      return data instanceof BigInt64Array
        ? data
        : BigInt64Array.from(source, (v) => BigInt(Math.trunc(Number(v))));
    case 'int32':
      return data instanceof Int32Array ? data : Int32Array.from(source, Number);
    case 'uint8':
    case 'bool':
      return data instanceof Uint8Array
        ? data
        : Uint8Array.from(source, (v) => (dtype === 'bool' ? (v ? 1 : 0) : Number(v)));
    default:
      throw new TensorArgumentError(
        `tensor(): creating ${dtype} tensors from data is not supported`,
      );
  }
}

function finish(t: Tensor, options: CreateOptions): Tensor {
  let out = t;
  if (options.device !== undefined && options.device !== 'cpu') {
    out = t.to({ device: options.device });
    t.dispose();
  }
  if (options.requiresGrad) out.requiresGrad_(true);
  return out;
}

/**
 * A tensor holding a copy of `data` (a typed array, or numbers), with `shape` (1-D by default).
 * The dtype follows the array type (numbers give float32) unless `options.dtype` says otherwise.
 *
 * @example
 * const x = tensor(new Float32Array([1, 2, 3, 4]), [2, 2]);
 */
export function tensor(
  data: TypedArray | number[] | boolean[],
  shape?: number[],
  options: CreateOptions = {},
): Tensor {
  const dtype = options.dtype ?? inferDtype(data);
  const code = dtypeCode(dtype); // an unknown dtype says so before anything else
  const dims = shape ?? [data.length];
  const expected = dims.reduce((a, b) => a * b, 1);
  if (dims.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new TensorArgumentError(
      `tensor(): expected non-negative integer sizes but received shape [${dims}]`,
    );
  }
  if (expected !== data.length) {
    throw new TensorArgumentError(
      `tensor(): data has ${data.length} elements but shape [${dims}] needs ${expected}`,
    );
  }
  return finish(wrap(native.fromBuffer(toBuffer(data, dtype), dims, code)), options);
}

/** A 0-dimensional tensor holding one number. */
export function scalar(value: number, options: CreateOptions = {}): Tensor {
  return tensor([value], [], options);
}

function factoryArgs(options: CreateOptions): [number | null, null, string | null, null] {
  if (options.device !== undefined) validateDevice(options.device);
  return [
    options.dtype === undefined ? null : dtypeCode(options.dtype),
    null,
    options.device ?? null,
    null,
  ];
}

function withGrad(t: Tensor, options: CreateOptions): Tensor {
  return options.requiresGrad ? t.requiresGrad_(true) : t;
}

/** Uninitialised memory: fill it (e.g. with `uniform_`) before reading. */
export function empty(shape: number[], options: CreateOptions = {}): Tensor {
  return withGrad(
    wrap(native.call(OPS.empty, shapeArg([shape]), ...factoryArgs(options))),
    options,
  );
}

export function zeros(shape: number[], options: CreateOptions = {}): Tensor {
  return withGrad(
    wrap(native.call(OPS.zeros, shapeArg([shape]), ...factoryArgs(options))),
    options,
  );
}

export function ones(shape: number[], options: CreateOptions = {}): Tensor {
  return withGrad(wrap(native.call(OPS.ones, shapeArg([shape]), ...factoryArgs(options))), options);
}

export function full(shape: number[], value: number, options: CreateOptions = {}): Tensor {
  const [dtype, ...rest] = factoryArgs(options);
  // PyTorch infers an integer dtype from an integer fill value; Lethe keeps float32 by default.
  return withGrad(
    wrap(native.call(OPS.full, shapeArg([shape]), value, dtype ?? dtypeCode('float32'), ...rest)),
    options,
  );
}

/** Values from `start` to `end` (exclusive) by `step`; `arange(n)` is 0..n-1 as int64. */
export function arange(start: number, end?: number, step = 1, options: CreateOptions = {}): Tensor {
  const [s, e] = end === undefined ? [0, start] : [start, end];
  return withGrad(wrap(native.call(OPS.arange, s, e, step, ...factoryArgs(options))), options);
}

export function eye(n: number, options: CreateOptions = {}): Tensor {
  return withGrad(wrap(native.call(OPS.eye, n, ...factoryArgs(options))), options);
}

/** U(0, 1) draws from libtorch's generator (seeded by `manualSeed`). */
export function rand(shape: number[], options: CreateOptions = {}): Tensor {
  return withGrad(wrap(native.call(OPS.rand, shapeArg([shape]), ...factoryArgs(options))), options);
}

/** N(0, 1) draws from libtorch's generator (seeded by `manualSeed`). */
export function randn(shape: number[], options: CreateOptions = {}): Tensor {
  return withGrad(
    wrap(native.call(OPS.randn, shapeArg([shape]), ...factoryArgs(options))),
    options,
  );
}

/** Integers in [low, high) as int64. */
export function randint(
  low: number,
  high: number,
  shape: number[],
  options: CreateOptions = {},
): Tensor {
  const [dtype, ...rest] = factoryArgs(options);
  return wrap(
    native.call(OPS.randint, low, high, shapeArg([shape]), dtype ?? dtypeCode('int64'), ...rest),
  );
}

/** A random permutation of 0..n-1 as int64. */
export function randperm(n: number, options: CreateOptions = {}): Tensor {
  const [dtype, ...rest] = factoryArgs(options);
  return wrap(native.call(OPS.randperm, n, dtype ?? dtypeCode('int64'), ...rest));
}

function likeArgs(options: CreateOptions): [number | null, null, string | null, null, null] {
  return [...factoryArgs(options), null];
}

export function zerosLike(t: Tensor, options: CreateOptions = {}): Tensor {
  return withGrad(wrap(native.call(OPS.zerosLike, t.handle, ...likeArgs(options))), options);
}

export function onesLike(t: Tensor, options: CreateOptions = {}): Tensor {
  return withGrad(wrap(native.call(OPS.onesLike, t.handle, ...likeArgs(options))), options);
}

export function fullLike(t: Tensor, value: number, options: CreateOptions = {}): Tensor {
  return withGrad(wrap(native.call(OPS.fullLike, t.handle, value, ...likeArgs(options))), options);
}

export function randLike(t: Tensor, options: CreateOptions = {}): Tensor {
  return withGrad(wrap(native.call(OPS.randLike, t.handle, ...likeArgs(options))), options);
}

export function randnLike(t: Tensor, options: CreateOptions = {}): Tensor {
  return withGrad(wrap(native.call(OPS.randnLike, t.handle, ...likeArgs(options))), options);
}

function handles(tensors: Tensor[], what: string): unknown[] {
  if (tensors.length === 0)
    throw new TensorArgumentError(`${what}(): expected a non-empty list of tensors`);
  return tensors.map((t) => t.handle);
}

/** Concatenates along an existing dimension. */
export function cat(tensors: Tensor[], dim = 0): Tensor {
  return wrap(native.call(OPS.cat, handles(tensors, 'cat'), dim));
}

/** Stacks along a new dimension. */
export function stack(tensors: Tensor[], dim = 0): Tensor {
  return wrap(native.call(OPS.stack, handles(tensors, 'stack'), dim));
}

/** Elementwise `condition ? a : b`, with broadcasting; either branch may be a number. */
export function where(condition: Tensor, a: Tensor | number, b: Tensor | number): Tensor {
  if (typeof a === 'number' && typeof b === 'number')
    return wrap(native.call(OPS.whereScalar, condition.handle, a, b));
  if (typeof a === 'number')
    return wrap(native.call(OPS.whereScalarSelf, condition.handle, a, (b as Tensor).handle));
  if (typeof b === 'number')
    return wrap(native.call(OPS.whereScalarOther, condition.handle, a.handle, b));
  return wrap(native.call(OPS.where, condition.handle, a.handle, b.handle));
}
