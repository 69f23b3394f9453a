/**
 * Every tensor operation against PyTorch 1.13.1 (fixtures/ops/ops.json, written once by
 * scripts/fixtures/ops.py): the values of every output and the gradients of sum(output * w)
 * with respect to every float input, float64 within 1e-10 and float32 within 1e-5 (relative).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  cat,
  F,
  manualSeed,
  memory,
  rand,
  randint,
  randn,
  randperm,
  stack,
  tensor,
  tidy,
  where,
  type DType,
  type Tensor,
} from '../src/tensor/index.js';

interface Arr {
  dtype: DType;
  shape: number[];
  /** JSON has no infinities or NaN: the fixtures spell them 'inf', '-inf', 'nan'. */
  data: (number | string)[];
}
const num = (v: number | string): number =>
  typeof v === 'number' ? v : v === 'nan' ? NaN : v === 'inf' ? Infinity : -Infinity;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- fixture arguments are JSON; each case below reads its own
type Args = Record<string, any>;
interface Case {
  name: string;
  op: string;
  args: Args;
  inputs: Record<string, Arr>;
  outputs: Record<string, Arr>;
  weights?: Record<string, Arr>;
  grads?: Record<string, Arr>;
}
const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/ops/ops.json', import.meta.url), 'utf8'),
) as {
  torch: string;
  cases: Case[];
  seed0: { fn: string; args: unknown[]; out: Arr }[];
};

type In = Record<string, Tensor>;
type Out = Tensor | { values: Tensor; indices: Tensor } | Record<string, Tensor>;
const u = <T>(v: T | null): T | undefined => v ?? undefined;

/** Fixture op name → the Lethe call. Arguments use Lethe's names, so most pass straight through. */
const OPS: Record<string, (i: In, a: Args) => Out> = {
  add: (i, a) => i.a.add(i.b, a.alpha),
  addScalar: (i, a) => i.a.add(a.s, a.alpha),
  sub: (i, a) => i.a.sub(i.b, a.alpha),
  subScalar: (i, a) => i.a.sub(a.s),
  mul: (i) => i.a.mul(i.b),
  mulScalar: (i, a) => i.a.mul(a.s),
  div: (i) => i.a.div(i.b),
  divScalar: (i, a) => i.a.div(a.s),
  rsub: (i, a) => i.a.rsub(a.s),
  neg: (i) => i.a.neg(),
  exp: (i) => i.a.exp(),
  log: (i) => i.a.log(),
  powScalar: (i, a) => i.a.pow(a.e),
  powTensor: (i) => i.a.pow(i.e),
  sqrt: (i) => i.a.sqrt(),
  rsqrt: (i) => i.a.rsqrt(),
  abs: (i) => i.a.abs(),
  sign: (i) => i.a.sign(),
  reciprocal: (i) => i.a.reciprocal(),
  square: (i) => i.a.square(),
  clamp: (i, a) => i.a.clamp(a.min, a.max),
  maximum: (i) => i.a.maximum(i.b),
  minimum: (i) => i.a.minimum(i.b),
  matmul: (i) => i.a.matmul(i.b),
  mm: (i) => i.a.mm(i.b),
  logsumexp: (i, a) => i.a.logsumexp(a.dim, a.keepdim),
  sum: (i, a) => i.a.sum(a.dim, a.keepdim),
  mean: (i, a) => i.a.mean(a.dim, a.keepdim),
  max: (i, a) => (a.dim === undefined ? i.a.max() : i.a.max(a.dim, a.keepdim)),
  min: (i, a) => (a.dim === undefined ? i.a.min() : i.a.min(a.dim, a.keepdim)),
  argmax: (i, a) => i.a.argmax(a.dim, a.keepdim),
  argmin: (i, a) => i.a.argmin(a.dim, a.keepdim),
  std: (i, a) => i.a.std(a.dim, a),
  var: (i, a) => i.a.var(a.dim, a),
  norm: (i, a) => i.a.norm(a.p, a.dim, a.keepdim),
  sort: (i, a) => i.a.sort(a.dim, a.descending),
  topk: (i, a) => i.a.topk(a.k, a.dim, a.largest),
  kthvalue: (i, a) => i.a.kthvalue(a.k, a.dim, a.keepdim),
  quantile: (i, a) => i.a.quantile(a.q, a.dim, a.keepdim),
  allAny: (i) => ({
    all: i.a.all(),
    any: i.a.any(),
    rowAll: i.a.select(0, 1).all(),
    none: i.a.select(0, 0).eq(0).mul(i.a.select(0, 0)).any(),
  }),
  eq: (i) => i.a.eq(i.b),
  ne: (i) => i.a.ne(i.b),
  lt: (i) => i.a.lt(i.b),
  le: (i) => i.a.le(i.b),
  gt: (i) => i.a.gt(i.b),
  ge: (i) => i.a.ge(i.b),
  eqScalar: (i, a) => i.a.eq(a.s),
  neScalar: (i, a) => i.a.ne(a.s),
  ltScalar: (i, a) => i.a.lt(a.s),
  leScalar: (i, a) => i.a.le(a.s),
  gtScalar: (i, a) => i.a.gt(a.s),
  geScalar: (i, a) => i.a.ge(a.s),
  where: (i) => where(i.c, i.a, i.b),
  whereScalarOther: (i, a) => where(i.c, i.a, a.s),
  whereScalarSelf: (i, a) => where(i.c, a.s, i.b),
  whereScalar: (i, a) => where(i.c, a.x, a.y),
  isfinite: (i) => i.a.isfinite(),
  reshape: (i, a) => i.a.reshape(a.shape),
  view: (i, a) => i.a.view(...a.shape),
  permute: (i, a) => i.a.permute(a.dims),
  transpose: (i, a) => i.a.transpose(a.d0, a.d1),
  t: (i) => i.a.t(),
  flatten: (i, a) => i.a.flatten(a.start, a.end),
  squeeze: (i, a) => i.a.squeeze(u(a.dim)),
  unsqueeze: (i, a) => i.a.unsqueeze(a.dim),
  cat: (i, a) => cat([i.a, i.b], a.dim),
  stack: (i, a) => stack([i.a, i.b], a.dim),
  narrow: (i, a) => i.a.narrow(a.dim, a.start, a.length),
  slice: (i, a) => i.a.slice(a.dim, a.start, u(a.end), a.step),
  select: (i, a) => i.a.select(a.dim, a.index),
  indexSelect: (i, a) => i.a.indexSelect(a.dim, i.index),
  gather: (i, a) => i.a.gather(a.dim, i.index),
  scatter: (i, a) => i.a.scatter(a.dim, i.index, i.src),
  scatterValue: (i, a) => i.a.scatter(a.dim, i.index, a.value),
  scatterAdd: (i, a) => i.a.scatterAdd(a.dim, i.index, i.src),
  maskedSelect: (i) => i.a.maskedSelect(i.mask),
  maskedFill: (i, a) => i.a.maskedFill(i.mask, a.value),
  roll: (i, a) => i.a.roll(a.shifts, u(a.dims)),
  repeat: (i, a) => i.a.repeat(a.repeats),
  expand: (i, a) => i.a.expand(a.shape),
  contiguous: (i) => i.a.t().contiguous(),
  clone: (i) => i.a.clone(),
  conv2d: (i, a) => F.conv2d(i.x, i.w, i.b, a),
  batchNorm: (i, a) => {
    const out = F.batchNorm(i.x, i.runningMean ?? null, i.runningVar ?? null, {
      weight: i.weight,
      bias: i.bias,
      ...a,
    });
    return i.runningMean
      ? { out, runningMean: i.runningMean, runningVar: i.runningVar }
      : ({ out } as Out);
  },
  linear: (i) => F.linear(i.x, i.w, i.b),
  relu: (i) => F.relu(i.x),
  leakyRelu: (i, a) => F.leakyRelu(i.x, u(a.negativeSlope)),
  gelu: (i, a) => F.gelu(i.x, a.approximate),
  sigmoid: (i) => F.sigmoid(i.x),
  tanh: (i) => F.tanh(i.x),
  maxPool2d: (i, a) => F.maxPool2d(i.x, a.kernelSize, a.options),
  avgPool2d: (i, a) => F.avgPool2d(i.x, a.kernelSize, a.options),
  adaptiveAvgPool2d: (i, a) => F.adaptiveAvgPool2d(i.x, a.size),
  softmax: (i, a) => F.softmax(i.x, a.dim),
  logSoftmax: (i, a) => F.logSoftmax(i.x, a.dim),
  crossEntropy: (i, a) => F.crossEntropy(i.x, i.t, { weight: i.weight, ...a }),
  nllLoss: (i, a) => F.nllLoss(i.x, i.t, { weight: i.weight, ...a }),
  klDiv: (i, a) => F.klDiv(i.x, i.t, a),
  mseLoss: (i, a) => F.mseLoss(i.x, i.y, a.reduction),
  cosineSimilarity: (i, a) => F.cosineSimilarity(i.a, i.b, a.dim),
  normalize: (i, a) => F.normalize(i.x, a.p, a.dim),
  oneHot: (i, a) => F.oneHot(i.t, a.numClasses),
  to: (i, a) => i.a.to(a.dtype),
};

const fromArr = (a: Arr, requiresGrad = false): Tensor =>
  tensor(a.data.map(num), a.shape, { dtype: a.dtype, requiresGrad });

const RTOL: Partial<Record<DType, number>> = { float64: 1e-10, float32: 1e-5 };

/** Equal dtype and shape; floats within RTOL of each element plus RTOL of the largest element. */
function assertClose(actual: Tensor, expected: Arr, what: string): void {
  assert.equal(actual.dtype, expected.dtype, `${what}: dtype`);
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  const got = actual.toArray();
  const rtol = RTOL[expected.dtype];
  if (rtol === undefined) {
    assert.deepEqual(got, expected.data, `${what}: values`);
    return;
  }
  const want = expected.data.map(num);
  const scale = Math.max(...want.filter(Number.isFinite).map(Math.abs), 0);
  got.forEach((v, k) => {
    const e = want[k];
    if (!Number.isFinite(e))
      return assert.ok(Object.is(v, e), `${what}[${k}]: got ${v}, PyTorch ${e}`);
    const tol = rtol * (Math.abs(e) + scale);
    assert.ok(
      Math.abs(v - e) <= tol,
      `${what}[${k}]: got ${v}, PyTorch ${e} (|diff| ${Math.abs(v - e)} > ${tol})`,
    );
  });
}

function outputs(result: Out): Record<string, Tensor> {
  if (typeof (result as Tensor).dispose === 'function') return { out: result as Tensor };
  return result as Record<string, Tensor>;
}

test('the fixtures come from PyTorch 1.13 and cover every op in the table', () => {
  assert.match(fixture.torch, /^1\.13/);
  const used = new Set(fixture.cases.map((c) => c.op));
  assert.deepEqual(
    Object.keys(OPS).filter((op) => !used.has(op)),
    [],
  );
  assert.deepEqual(
    [...used].filter((op) => !(op in OPS)),
    [],
  );
});

for (const c of fixture.cases) {
  test(`${c.name} matches PyTorch${c.grads ? ' (value and gradient)' : ''}`, () => {
    const before = memory().tensors;
    tidy(() => {
      const inputs: In = {};
      for (const [k, a] of Object.entries(c.inputs))
        inputs[k] = fromArr(a, c.grads?.[k] !== undefined);
      const outs = outputs(OPS[c.op](inputs, c.args));
      assert.deepEqual(Object.keys(outs).sort(), Object.keys(c.outputs).sort(), 'outputs');
      for (const [k, expected] of Object.entries(c.outputs)) assertClose(outs[k], expected, k);
      if (!c.grads || !c.weights) return;
      const terms = Object.entries(c.weights).map(([k, w]) => outs[k].mul(fromArr(w)).sum());
      terms.reduce((acc, t) => acc.add(t)).backward();
      for (const [k, expected] of Object.entries(c.grads)) {
        const g = inputs[k].grad;
        assert.ok(g !== null, `${k} has a gradient`);
        assertClose(g, expected, `grad ${k}`);
      }
    });
    assert.equal(memory().tensors, before, 'every tensor made by the case is freed');
  });
}

test('manualSeed(0) draws exactly what torch.manual_seed(0) draws, in sequence', () => {
  manualSeed(0);
  for (const d of fixture.seed0) {
    tidy(() => {
      const args = d.args as [number[]] & [number] & [number, number, number[]];
      const draw: Record<string, () => Tensor> = {
        randn: () => randn(args[0]),
        'randn float64': () => randn(args[0], { dtype: 'float64' }),
        rand: () => rand(args[0]),
        randperm: () => randperm(args[0]),
        randint: () => randint(args[0], args[1], args[2]),
      };
      const t = draw[d.fn]();
      assert.equal(t.dtype, d.out.dtype, d.fn);
      assert.deepEqual(t.shape, d.out.shape, d.fn);
      // The same generator and the same kernels: bit-identical, not merely close.
      assert.deepEqual(t.toArray(), d.out.data, `${d.fn}(${JSON.stringify(d.args)})`);
    });
  }
});
