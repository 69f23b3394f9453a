/**
 * Convolution + batch norm. `foldedConvBatchNorm` (the norm folded into the convolution) gives the
 * outputs and the gradients (input, convolution weight and bias, norm weight and bias) of the two
 * layers run one after the other, up to float rounding. `convBatchNorm` folds exactly where that
 * is faster — an eval-mode norm under autograd and autocast — and elsewhere *is* the two layers,
 * bit for bit; Sequential and the ResNets go through it, leave no tensor behind and keep NHWC.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resnet20 } from '../src/models/index.js';
import {
  BatchNorm2d,
  Conv2d,
  convBatchNorm,
  foldedConvBatchNorm,
  ReLU,
  Sequential,
} from '../src/nn/index.js';
import {
  autocast,
  dispose,
  manualSeed,
  memory,
  noGrad,
  rand,
  randn,
  tidy,
  type Tensor,
} from '../src/tensor/index.js';

/** max |a − b| / max |b|, in float32. */
function relativeError(a: Tensor, b: Tensor): number {
  return tidy(() => {
    const [x, y] = [a.float(), b.float()];
    return x.sub(y).abs().max().item() / y.abs().max().item();
  });
}

const bf16 = <T>(fn: () => T): T => autocast({ device: 'cpu', dtype: 'bfloat16' }, fn);

/** A convolution and an eval-mode norm with statistics and affine terms far from 0 and 1. */
function layers(bias: boolean): { conv: Conv2d; bn: BatchNorm2d } {
  const conv = new Conv2d(4, 6, 3, { padding: 1, stride: 2, bias });
  const bn = new BatchNorm2d(6);
  noGrad(() => {
    const state = bn.stateDict();
    state.get('running_mean')!.copy_(tidy(() => randn([6])));
    state.get('running_var')!.copy_(tidy(() => rand([6]).add(0.2)));
    for (const p of bn.parameters()) p.copy_(tidy(() => randn([6])));
    dispose([...state.values()]);
  });
  bn.eval();
  return { conv, bn };
}

/** `bn(conv(x))` as two layers. */
const separate = (conv: Conv2d, bn: BatchNorm2d, x: Tensor): Tensor =>
  tidy(() => bn.forward(conv.forward(x)));

/** The output and the gradients of a weighted sum of it, through `forward`. */
function outputAndGrads(
  forward: () => Tensor,
  x: Tensor,
  weights: Tensor,
  params: Tensor[],
): Tensor[] {
  for (const p of [x, ...params]) p.grad = null;
  return tidy(() => {
    const out = forward();
    out.mul(weights).sum().backward();
    return [out, x.grad!.clone(), ...params.map((p) => p.grad!.clone())];
  });
}

for (const bias of [false, true]) {
  test(`the folded convolution's outputs and gradients equal conv then norm within 1e-5 (conv bias: ${bias})`, () => {
    manualSeed(11);
    const { conv, bn } = layers(bias);
    const x = randn([5, 4, 9, 9]).requiresGrad_();
    const weights = randn([5, 6, 5, 5]);
    const params = [...conv.parameters(), ...bn.parameters()];
    const folded = outputAndGrads(() => foldedConvBatchNorm(conv, bn, x), x, weights, params);
    const twoLayers = outputAndGrads(() => separate(conv, bn, x), x, weights, params);
    const names = ['output', 'x.grad', ...params.map((_, i) => `param ${i} grad`)];
    folded.forEach((t, i) => {
      assert.deepEqual(t.shape, twoLayers[i].shape, names[i]);
      const error = relativeError(t, twoLayers[i]);
      assert.ok(error < 1e-5, `${names[i]}: relative error ${error}`);
    });
    // The fold is a different computation: the two are not bit-identical (the test can fail).
    assert.ok(relativeError(folded[0], twoLayers[0]) > 0);
    dispose([...folded, ...twoLayers, x, weights]);
    conv.dispose();
    bn.dispose();
  });
}

test('convBatchNorm folds only an eval-mode norm under autograd and autocast; otherwise it is conv then norm, bit for bit', () => {
  manualSeed(12);
  const { conv, bn } = layers(false);
  const x = randn([5, 4, 9, 9]);
  const same = (a: Tensor, b: Tensor, what: string): void =>
    assert.equal(relativeError(a, b), 0, what);
  const grab = (fn: () => Tensor): Tensor => tidy(() => fn().detach());

  const autocastGrad = grab(() => bf16(() => convBatchNorm(conv, bn, x)));
  const folded = grab(() => bf16(() => foldedConvBatchNorm(conv, bn, x)));
  same(autocastGrad, folded, 'folded');
  const unfolded = grab(() => bf16(() => separate(conv, bn, x)));
  assert.ok(relativeError(autocastGrad, unfolded) > 0, 'the fold changes the rounding');

  const cases: [string, () => Tensor, () => Tensor][] = [
    ['float32', () => convBatchNorm(conv, bn, x), () => separate(conv, bn, x)],
    [
      'no autograd',
      () => noGrad(() => bf16(() => convBatchNorm(conv, bn, x))),
      () => noGrad(() => bf16(() => separate(conv, bn, x))),
    ],
  ];
  for (const [what, a, b] of cases) {
    const [u, v] = [grab(a), grab(b)];
    same(u, v, what);
    dispose([u, v]);
  }

  bn.train();
  const twin = bn.clone() as BatchNorm2d;
  const trained = grab(() => bf16(() => convBatchNorm(conv, bn, x)));
  const twinOut = grab(() => bf16(() => twin.forward(conv.forward(x))));
  same(trained, twinOut, 'training mode');
  const stats = (m: BatchNorm2d): number[] => {
    const state = m.stateDict();
    const values = [...state.get('running_mean')!.data<'float32'>()];
    dispose([...state.values()]);
    return values;
  };
  assert.deepEqual(stats(bn), stats(twin), 'the running statistics moved once, as in the norm');
  dispose([autocastGrad, folded, unfolded, trained, twinOut, x]);
  for (const m of [conv, bn, twin]) m.dispose();
});

test('Sequential folds a convolution and its norm; a forward hook on either keeps them apart', () => {
  manualSeed(14);
  const { conv, bn } = layers(false);
  const chain = new Sequential(conv, bn, new ReLU());
  chain.eval();
  const x = randn([3, 4, 9, 9]);
  const run = (fn: () => Tensor): Tensor => tidy(() => bf16(fn).detach());
  const folded = run(() => foldedConvBatchNorm(conv, bn, x).relu());
  const twoLayers = run(() => separate(conv, bn, x).relu());
  const chained = run(() => chain.forward(x));
  assert.equal(relativeError(chained, folded), 0, 'the chain folded');
  let seen: Tensor | null = null;
  const handle = bn.registerForwardHook((_m, _x, out) => {
    seen = out.clone();
  });
  const hooked = run(() => chain.forward(x));
  assert.equal(relativeError(hooked, twoLayers), 0, 'the hooked norm ran as written');
  assert.ok(seen !== null, 'the hook saw the norm output');
  handle.remove();
  dispose([x, folded, twoLayers, chained, hooked, seen!]);
  chain.dispose();
});

test('a partly frozen eval-mode ResNet-20 under autograd and bf16 autocast: logits close to prediction, gradients, NHWC, no tensor left', () => {
  manualSeed(13);
  const model = resnet20({ inChannels: 1, numClasses: 10 });
  tidy(() => model.forward(randn([16, 1, 28, 28]))); // non-trivial running statistics
  model.eval();
  model.to({ memoryFormat: 'channelsLast' });
  model.setTrainable(['layer1.']); // trainable and frozen stages, as in sRFL
  const x = tidy(() => randn([8, 1, 28, 28]).contiguous({ memoryFormat: 'channelsLast' }));
  const predicted = noGrad(() => bf16(() => model.forward(x).float()));
  const before = memory().tensors;
  const [logits, grad] = tidy(() => {
    const out = bf16(() => model.forward(x).float());
    out.sum().backward();
    return [out, model.trainableParameters()[0].grad!.clone()];
  });
  model.zeroGrad();
  const error = relativeError(logits, predicted);
  assert.ok(error > 0 && error < 3e-2, `relative error ${error} (bf16 rounding)`);
  assert.ok(tidy(() => grad.abs().sum().item()) > 0, 'gradients reach the trainable stage');
  dispose([logits, grad]);
  assert.equal(memory().tensors, before, 'nothing left behind');
  const { conv, bn } = layers(false);
  conv.to({ memoryFormat: 'channelsLast' });
  const input = tidy(() => randn([2, 4, 9, 9]).contiguous({ memoryFormat: 'channelsLast' }));
  const out = bf16(() => convBatchNorm(conv, bn, input));
  assert.equal(out.dtype, 'bfloat16');
  assert.ok(out.isContiguous({ memoryFormat: 'channelsLast' }), 'the folded output is NHWC');
  dispose([out, input, x, predicted]);
  for (const m of [model, conv, bn]) m.dispose();
});
