/**
 * `convBatchNorm`: an eval-mode batch norm folded into its convolution under autograd gives the
 * outputs and the gradients (input, convolution weight and bias, norm weight and bias) of the two
 * layers run one after the other, up to float rounding; without autograd, and in training mode,
 * it *is* the two layers, bit for bit; it leaves no tensor behind and keeps channels-last.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resnet20 } from '../src/models/index.js';
import { BatchNorm2d, Conv2d, convBatchNorm, ReLU, Sequential } from '../src/nn/index.js';
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

/** max |a − b| / max |b|. */
function relativeError(a: Tensor, b: Tensor): number {
  return tidy(() => a.sub(b).abs().max().item() / b.abs().max().item());
}

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
  test(`eval mode under autograd: folded outputs and gradients equal conv then norm within 1e-5 (conv bias: ${bias})`, () => {
    manualSeed(11);
    const { conv, bn } = layers(bias);
    const x = randn([5, 4, 9, 9]).requiresGrad_();
    const weights = randn([5, 6, 5, 5]);
    const params = [...conv.parameters(), ...bn.parameters()];
    const folded = outputAndGrads(() => convBatchNorm(conv, bn, x), x, weights, params);
    const separate = outputAndGrads(
      () => tidy(() => bn.forward(conv.forward(x))),
      x,
      weights,
      params,
    );
    const names = ['output', 'x.grad', ...params.map((_, i) => `param ${i} grad`)];
    folded.forEach((t, i) => {
      assert.deepEqual(t.shape, separate[i].shape, names[i]);
      const error = relativeError(t, separate[i]);
      assert.ok(error < 1e-5, `${names[i]}: relative error ${error}`);
    });
    // The fold is a different computation: the two are not bit-identical (the test can fail).
    assert.ok(relativeError(folded[0], separate[0]) > 0);
    dispose([...folded, ...separate, x, weights]);
    conv.dispose();
    bn.dispose();
  });
}

test('without autograd, and in training mode, convBatchNorm is conv then norm bit for bit', () => {
  manualSeed(12);
  const { conv, bn } = layers(false);
  const x = randn([5, 4, 9, 9]);
  noGrad(() => {
    const [a, b] = tidy(() => [convBatchNorm(conv, bn, x), bn.forward(conv.forward(x))]);
    assert.equal(relativeError(a, b), 0);
    dispose([a, b]);
  });
  bn.train();
  const twin = bn.clone() as BatchNorm2d;
  const [a, b] = tidy(() => [convBatchNorm(conv, bn, x), twin.forward(conv.forward(x))]);
  assert.equal(relativeError(a, b), 0);
  const stats = (m: BatchNorm2d): number[] => {
    const state = m.stateDict();
    const values = [...state.get('running_mean')!.data<'float32'>()];
    dispose([...state.values()]);
    return values;
  };
  assert.deepEqual(stats(bn), stats(twin), 'the running statistics moved once, as in the norm');
  dispose([a, b, x]);
  for (const m of [conv, bn, twin]) m.dispose();
});

test('a frozen eval-mode ResNet-20 under autograd: same logits and input gradients, channels-last kept, no tensor left', () => {
  manualSeed(13);
  const model = resnet20({ inChannels: 1, numClasses: 10 });
  tidy(() => model.forward(randn([16, 1, 28, 28]))); // non-trivial running statistics
  model.eval();
  model.to({ memoryFormat: 'channelsLast' });
  model.setTrainable(['layer1.']); // trainable and frozen stages, as in sRFL
  const x = tidy(() => randn([8, 1, 28, 28]).contiguous({ memoryFormat: 'channelsLast' }));
  const inference = noGrad(() => model.forward(x));
  const before = memory().tensors;
  const [logits, grad] = tidy(() => {
    const out = model.forward(x);
    out.sum().backward();
    const p = model.trainableParameters()[0];
    return [out, p.grad!.clone()];
  });
  model.zeroGrad();
  assert.ok(relativeError(logits, inference) < 1e-5);
  assert.ok(tidy(() => grad.abs().sum().item()) > 0, 'gradients reach the trainable stage');
  dispose([logits, grad]);
  assert.equal(memory().tensors, before, 'nothing left behind');
  // Under bf16 autocast the folded convolution runs in bf16 and keeps the NHWC layout.
  const { conv, bn } = layers(false);
  conv.to({ memoryFormat: 'channelsLast' });
  const input = tidy(() => randn([2, 4, 9, 9]).contiguous({ memoryFormat: 'channelsLast' }));
  const out = autocast({ device: 'cpu', dtype: 'bfloat16' }, () => convBatchNorm(conv, bn, input));
  assert.equal(out.dtype, 'bfloat16');
  assert.ok(out.isContiguous({ memoryFormat: 'channelsLast' }));
  dispose([out, input, x, inference]);
  for (const m of [model, conv, bn]) m.dispose();
});

test('Sequential folds a convolution and its norm; a forward hook on either keeps them apart', () => {
  manualSeed(14);
  const { conv, bn } = layers(false);
  const chain = new Sequential(conv, bn, new ReLU());
  chain.eval();
  const x = randn([3, 4, 9, 9]);
  const separate = noGrad(() => tidy(() => bn.forward(conv.forward(x)).relu()));
  const folded = tidy(() => chain.forward(x).detach());
  const error = relativeError(folded, separate);
  assert.ok(error > 0 && error < 1e-5, `folded under autograd: relative error ${error}`);
  let seen: Tensor | null = null;
  const handle = bn.registerForwardHook((_m, _x, out) => {
    seen = out.clone();
  });
  const hooked = tidy(() => chain.forward(x).detach());
  assert.equal(relativeError(hooked, separate), 0, 'the hooked norm ran as written');
  assert.ok(seen !== null, 'the hook saw the norm output');
  handle.remove();
  dispose([x, separate, folded, hooked, seen!]);
  chain.dispose();
});
