/**
 * The engine on a GPU: tensors crossing to CUDA and back, libtorch's CUDA autocast in float16 and
 * bfloat16, loss scaling that skips non-finite float16 steps, a ResNet-20 that learns in every
 * precision × memory format, sRFL under fp16-mixed, checkpoints that leave the GPU contiguous,
 * and no tensor left behind.
 *
 * Runs where libtorch sees a GPU and is skipped elsewhere (CI has none). `scripts/cuda-check.sh`
 * runs it with LETHE_REQUIRE_CUDA=1, which turns "no GPU" into a failure. LETHE_TEST_DEVICE=cpu
 * runs the same checks on the CPU in the precisions the CPU has (fp32, bf16-mixed): how these
 * tests themselves are checked on a machine without a GPU.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DatasetPair } from '../src/data/dataset.js';
import { makeSplit } from '../src/data/index.js';
import { resolveCompute, type ModelMemoryFormat, type Precision } from '../src/records/compute.js';
import { decodeSafetensors, encodeSafetensors } from '../src/nn/safetensors.js';
import { GradScaler, SGD } from '../src/optim/index.js';
import {
  autocast,
  cuda,
  F,
  keep,
  manualSeed,
  memory,
  randn,
  tensor,
  tidy,
} from '../src/tensor/index.js';
import { train, unlearn } from '../src/unlearn/api.js';
import { syntheticPair } from './unlearn-helpers.js';

const device = process.env.LETHE_TEST_DEVICE ?? (cuda.isAvailable() ? 'cuda' : null);
if (device === null && process.env.LETHE_REQUIRE_CUDA === '1') {
  throw new Error('LETHE_REQUIRE_CUDA=1 but libtorch sees no CUDA device (is this a CUDA build?)');
}
const skip =
  device === null ? 'no CUDA device (LETHE_TEST_DEVICE=cpu runs these on the CPU)' : false;
const D = device ?? 'cuda';
const onGpu = D.startsWith('cuda');
const precisions: Precision[] = onGpu
  ? ['fp32', 'bf16-mixed', 'fp16-mixed']
  : ['fp32', 'bf16-mixed'];
const lowDtype = (p: Precision) => (p === 'fp16-mixed' ? 'float16' : 'bfloat16');

test(
  'tensors cross to the device and back exactly, and elementwise ops agree with the CPU',
  { skip },
  () => {
    tidy(() => {
      manualSeed(0);
      const a = randn([64, 33]);
      const b = randn([64, 33]);
      const onDevice = a.to(D);
      assert.equal(onDevice.device, D === 'cuda' ? 'cuda:0' : D);
      assert.deepEqual(onDevice.to('cpu').toArray(), a.toArray());
      // Elementwise float32 arithmetic is exact IEEE on both; a sum may differ only in order.
      assert.deepEqual(onDevice.mul(b.to(D)).add(1).to('cpu').toArray(), a.mul(b).add(1).toArray());
      const sum = onDevice.sum().item();
      assert.ok(Math.abs(sum - a.sum().item()) < 1e-3, `sum ${sum} vs ${a.sum().item()}`);
    });
  },
);

for (const precision of precisions.filter((p) => p !== 'fp32')) {
  const dtype = lowDtype(precision);
  // softmax and log_softmax are on CUDA's float32 list; the CPU's list leaves them in the input's.
  const softmax = onGpu ? 'float32' : dtype;
  test(
    `${precision} autocast on ${D}: conv/linear/matmul in ${dtype}, losses in float32`,
    { skip },
    () => {
      tidy(() => {
        manualSeed(1);
        const x = randn([8, 3, 12, 12]).to(D);
        const w = randn([4, 3, 3, 3]).to(D);
        const m = randn([8, 16]).to(D);
        const lw = randn([5, 16]).to(D);
        const y = tensor(new BigInt64Array([0n, 1n, 2n, 3n, 4n, 0n, 1n, 2n]), [8]).to(D);
        const seen = autocast({ device: D, dtype }, () => {
          const logits = F.linear(m, lw);
          return {
            conv: F.conv2d(x, w).dtype,
            linear: logits.dtype,
            matmul: m.matmul(lw.t()).dtype,
            softmax: logits.softmax(1).dtype,
            logSoftmax: logits.logSoftmax(1).dtype,
            loss: F.crossEntropy(logits, y).dtype,
            // Outside the autocast lists: ordinary promotion of a low-precision and a float32 tensor.
            add: logits.add(randn([8, 5]).to(D)).dtype,
          };
        });
        assert.deepEqual(seen, {
          conv: dtype,
          linear: dtype,
          matmul: dtype,
          softmax,
          logSoftmax: softmax,
          loss: 'float32',
          add: 'float32',
        });
        // The scope is closed: the same call is float32 again.
        assert.equal(F.conv2d(x, w).dtype, 'float32');
      });
    },
  );
}

test(`loss scaling on ${D}: an inf gradient skips the step and halves the scale`, { skip }, () => {
  const w = keep(tensor([1, 2]).to(D)).requiresGrad_(true);
  const opt = new SGD([w], { lr: 0.5 });
  const scaler = new GradScaler({ initScale: 1024 });
  const stepWith = (x: number[]) =>
    tidy(() => {
      opt.zeroGrad(true);
      scaler.scale(w.mul(tensor(x).to(D)).sum()).backward();
      const stepped = scaler.step(opt);
      scaler.update();
      return stepped;
    });
  assert.equal(stepWith([Infinity, 1]), false);
  assert.deepEqual(w.to('cpu').toArray(), [1, 2], 'a skipped step leaves the weights');
  assert.equal(scaler.getScale(), 512);
  assert.equal(stepWith([2, 4]), true);
  // Unscaled exactly: w − 0.5·x.
  assert.deepEqual(w.to('cpu').toArray(), [0, 0]);
  w.dispose();
  opt.dispose();
});

/** 4 classes of 16×16 bars that a ResNet-20 learns in 4 epochs (test accuracy 1.0 on the CPU). */
const synthetic = () => syntheticPair({ train: 256, test: 128, size: 16, seed: 3 });

function trainResnet(
  data: DatasetPair,
  compute: { precision?: Precision; memoryFormat?: ModelMemoryFormat },
) {
  return train({
    architecture: { name: 'resnet20', options: { inChannels: 1, numClasses: 4 } },
    data,
    options: { epochs: 4, lr: 0.05, batchSize: 32, augment: false, schedule: 'constant' },
    seed: 2,
    device: D,
    ...compute,
  });
}

const formats: ModelMemoryFormat[] = ['contiguous', 'channelsLast'];
for (const precision of precisions) {
  for (const memoryFormat of formats) {
    test(
      `a ResNet-20 learns on ${D} in ${precision} / ${memoryFormat}, weights float32, no tensor left`,
      { skip },
      () => {
        const before = memory().tensors;
        const result = trainResnet(synthetic(), { precision, memoryFormat });
        assert.deepEqual(result.compute, resolveCompute({ device: D, precision, memoryFormat }));
        const losses = result.history.steps.map((s) => s.loss);
        // Under fp16-mixed the loss scaler may skip early steps; their losses are still recorded.
        const finite = losses.filter(Number.isFinite);
        assert.ok(
          finite.length >= losses.length - 4,
          `finite losses: ${finite.length}/${losses.length}`,
        );
        const head = mean(finite.slice(0, 4));
        const tail = mean(finite.slice(-4));
        assert.ok(tail < head * 0.5, `loss ${head.toFixed(3)} → ${tail.toFixed(3)}`);
        assert.ok(
          result.metrics.accuracy.test > 0.9,
          `test accuracy ${result.metrics.accuracy.test}`,
        );
        for (const [name, p] of result.model.namedParameters()) {
          assert.equal(p.dtype, 'float32', name);
          assert.ok(p.device.startsWith(D), `${name} on ${p.device}`);
        }
        result.model.dispose();
        assert.equal(memory().tensors, before, 'tensors left after the run');
      },
    );
  }
}

test(
  `sRFL forgets a class on ${D} in its fastest precision and saves a contiguous checkpoint`,
  { skip },
  () => {
    const precision = precisions[precisions.length - 1];
    const data = synthetic();
    const original = trainResnet(data, {}).model;
    const split = makeSplit({ train: data.train, testSize: 128, forgetSpec: 'class:0', seed: 0 });
    const result = unlearn({
      model: original,
      data,
      split,
      method: 'srfl',
      options: { epochs: 3, batchSize: 32 },
      device: D,
      precision,
    });
    const acc = result.metrics.accuracy;
    // The original classifies every image; after, on the CPU in bf16: forget 0.30, retain 1.0.
    assert.ok(acc.forget <= 0.5 && acc.retain >= 0.9, `forget ${acc.forget}, retain ${acc.retain}`);
    const state = result.model.stateDict();
    const file = decodeSafetensors(encodeSafetensors(state), 'srfl.safetensors');
    for (const [name, t] of state) {
      const back = file.tensors.get(name)!;
      assert.deepEqual(back.shape, t.shape, name);
      assert.deepEqual(
        back.toArray(),
        tidy(() => t.to('cpu').contiguous().toArray()),
        name,
      );
      back.dispose();
      t.dispose();
    }
    result.model.dispose();
    original.dispose();
  },
);

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}
