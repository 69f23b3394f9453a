/**
 * The ATen operators Lethe calls, resolved once by schema name, all together at the first use of
 * any (so that importing Lethe needs no addon: `lethe --help` works without one). A typo here
 * fails at the first tensor operation (and in every test), not in the middle of a training run.
 */
import { native, type OpHandle } from './native.js';

const table = {
  // arithmetic
  add: 'add.Tensor',
  addScalar: 'add.Scalar',
  sub: 'sub.Tensor',
  subScalar: 'sub.Scalar',
  mul: 'mul.Tensor',
  mulScalar: 'mul.Scalar',
  div: 'div.Tensor',
  divScalar: 'div.Scalar',
  rsub: 'rsub.Scalar',
  neg: 'neg',
  exp: 'exp',
  log: 'log',
  powScalar: 'pow.Tensor_Scalar',
  powTensor: 'pow.Tensor_Tensor',
  sqrt: 'sqrt',
  rsqrt: 'rsqrt',
  abs: 'abs',
  sign: 'sign',
  reciprocal: 'reciprocal',
  clamp: 'clamp',
  maximum: 'maximum',
  minimum: 'minimum',
  matmul: 'matmul',
  mm: 'mm',
  logsumexp: 'logsumexp',
  // in place
  add_: 'add_.Tensor',
  addScalar_: 'add_.Scalar',
  sub_: 'sub_.Tensor',
  mul_: 'mul_.Tensor',
  mulScalar_: 'mul_.Scalar',
  div_: 'div_.Tensor',
  divScalar_: 'div_.Scalar',
  addcmul_: 'addcmul_',
  addcdiv_: 'addcdiv_',
  copy_: 'copy_',
  zero_: 'zero_',
  fill_: 'fill_.Scalar',
  uniform_: 'uniform_',
  normal_: 'normal_',
  clamp_: 'clamp_',
  lerp_: 'lerp_.Scalar',
  sqrt_: 'sqrt_',
  // multi-tensor (one call for a list of tensors: the optimizers' updates)
  foreachAdd: '_foreach_add.List',
  foreachAdd_: '_foreach_add_.List',
  foreachMul_: '_foreach_mul_.Scalar',
  foreachNeg: '_foreach_neg',
  // reductions
  sumAll: 'sum',
  sum: 'sum.dim_IntList',
  meanAll: 'mean',
  mean: 'mean.dim',
  maxAll: 'max',
  maxDim: 'max.dim',
  minAll: 'min',
  minDim: 'min.dim',
  argmax: 'argmax',
  argmin: 'argmin',
  std: 'std.correction',
  var: 'var.correction',
  norm: 'norm.ScalarOpt_dim',
  normAll: 'norm.Scalar',
  sort: 'sort',
  topk: 'topk',
  kthvalue: 'kthvalue',
  quantile: 'quantile.scalar',
  all: 'all',
  any: 'any',
  // comparisons
  eq: 'eq.Tensor',
  eqScalar: 'eq.Scalar',
  ne: 'ne.Tensor',
  neScalar: 'ne.Scalar',
  lt: 'lt.Tensor',
  ltScalar: 'lt.Scalar',
  le: 'le.Tensor',
  leScalar: 'le.Scalar',
  gt: 'gt.Tensor',
  gtScalar: 'gt.Scalar',
  ge: 'ge.Tensor',
  geScalar: 'ge.Scalar',
  where: 'where.self',
  whereScalarOther: 'where.ScalarOther',
  whereScalarSelf: 'where.ScalarSelf',
  whereScalar: 'where.Scalar',
  isfinite: 'isfinite',
  // shape and indexing
  reshape: 'reshape',
  view: 'view',
  permute: 'permute',
  transpose: 'transpose.int',
  flatten: 'flatten.using_ints',
  squeeze: 'squeeze',
  squeezeDim: 'squeeze.dim',
  unsqueeze: 'unsqueeze',
  cat: 'cat',
  stack: 'stack',
  narrow: 'narrow',
  slice: 'slice.Tensor',
  select: 'select.int',
  indexSelect: 'index_select',
  gather: 'gather',
  scatter: 'scatter.src',
  scatterValue: 'scatter.value',
  scatterAdd: 'scatter_add',
  maskedSelect: 'masked_select',
  maskedFill: 'masked_fill.Scalar',
  roll: 'roll',
  repeat: 'repeat',
  expand: 'expand',
  contiguous: 'contiguous',
  clone: 'clone',
  detach: 'detach',
  toDtype: 'to.dtype',
  toDevice: 'to.device',
  // creation
  zeros: 'zeros',
  empty: 'empty.memory_format',
  ones: 'ones',
  full: 'full',
  arange: 'arange.start_step',
  eye: 'eye',
  rand: 'rand',
  randn: 'randn',
  randint: 'randint.low',
  randperm: 'randperm',
  zerosLike: 'zeros_like',
  onesLike: 'ones_like',
  fullLike: 'full_like',
  randLike: 'rand_like',
  randnLike: 'randn_like',
  emptyLike: 'empty_like',
  item: 'item',
  // functional nn
  conv2d: 'conv2d',
  batchNorm: 'batch_norm',
  linear: 'linear',
  relu: 'relu',
  relu_: 'relu_',
  leakyRelu: 'leaky_relu',
  gelu: 'gelu',
  sigmoid: 'sigmoid',
  tanh: 'tanh',
  maxPool2d: 'max_pool2d',
  avgPool2d: 'avg_pool2d',
  adaptiveAvgPool2d: 'adaptive_avg_pool2d',
  dropout: 'dropout',
  softmax: 'softmax.int',
  logSoftmax: 'log_softmax.int',
  crossEntropy: 'cross_entropy_loss',
  nllLoss: 'nll_loss',
  klDiv: 'kl_div',
  mseLoss: 'mse_loss',
  cosineSimilarity: 'cosine_similarity',
  oneHot: 'one_hot',
} as const;

export type OpName = keyof typeof table;

/** Resolves every operator and puts the handles in place of {@link OPS}'s getters. */
function resolveAll(): void {
  for (const [key, qualified] of Object.entries(table)) {
    const dot = qualified.indexOf('.');
    const name = dot < 0 ? qualified : qualified.slice(0, dot);
    const overload = dot < 0 ? '' : qualified.slice(dot + 1);
    Object.defineProperty(OPS, key, {
      value: native.op(`aten::${name}`, overload),
      enumerable: true,
    });
  }
}

/** Operator handles, by Lethe's name for them. */
export const OPS = {} as Readonly<Record<OpName, OpHandle>>;
for (const key of Object.keys(table))
  Object.defineProperty(OPS, key, {
    configurable: true,
    enumerable: true,
    get() {
      resolveAll();
      return OPS[key as OpName];
    },
  });
