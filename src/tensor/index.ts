/** Lethe's tensor engine: libtorch tensors, autograd and functional nn from TypeScript. */
export {
  Tensor,
  type DType,
  type Device,
  type MemoryFormat,
  type TypedArray,
  type TensorOrScalar,
} from './tensor.js';
export { autocast, isAutocastEnabled, type AutocastOptions } from './autocast.js';
export * from './creation.js';
export { foreachAdd, foreachAdd_, foreachMul_, foreachNeg } from './foreach.js';
export * as F from './functional.js';
export * from './autograd.js';
export { tidy, keep, dispose, memory } from './scope.js';
export { TorchError, TensorArgumentError } from './native.js';
