/**
 * Training and unlearning under mixed precision and channels-last: every registered method runs
 * under bf16-mixed, each step's forward pass is autocast while logits, losses and weights stay
 * float32, a seeded bf16 run is bit-for-bit repeatable, fp16-mixed is refused on the CPU before
 * any work, and prediction follows the same settings.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataLoader } from '../src/data/index.js';
import { predict, accuracyOf } from '../src/models/predict.js';
import type { Placement } from '../src/models/precision.js';
import { resolveCompute, type ComputeSettings } from '../src/records/compute.js';
import type { Module } from '../src/nn/module.js';
import { F, memory, type Tensor } from '../src/tensor/index.js';
import { train } from '../src/unlearn/api.js';
import type { LoopResult } from '../src/unlearn/loop.js';
import { getMethod, methodIds } from '../src/unlearn/registry.js';
import type { LoopOptions, UnlearnMethod, UnlearnEvent } from '../src/unlearn/types.js';
import { OptionError } from '../src/util/errors.js';
import { paramBits, problem, runOnProblem } from './methods-helpers.js';
import { syntheticPair } from './unlearn-helpers.js';

type Settings = Pick<ComputeSettings, 'precision' | 'memoryFormat'>;

function run(
  method: UnlearnMethod<LoopOptions>,
  options: Partial<LoopOptions> & Record<string, unknown>,
  settings: Settings,
  onEvent?: (e: UnlearnEvent) => void,
): LoopResult {
  const resolved = { ...method.defaults, batchSize: 32, epochs: 1, ...options } as LoopOptions;
  return runOnProblem(method, resolved, { onEvent, ...settings });
}

const BF16: Settings = { precision: 'bf16-mixed', memoryFormat: 'channelsLast' };

test('inside a bf16-mixed step: layers autocast, batches channels-last, logits and weights float32', () => {
  const seen: Record<string, unknown>[] = [];
  const probe: UnlearnMethod<LoopOptions> = {
    id: 'probe',
    summary: 'records what a step sees',
    defaults: getMethod('finetune').defaults,
    iteration: 'retain',
    prepare: (ctx) => ({
      step({ retain }) {
        const x = retain!.x;
        const logits = ctx.model.forward(x);
        const conv = ctx.model.namedParameters().find(([n]) => n === 'layer2.0.weight')![1];
        seen.push({
          compute: ctx.compute,
          input: x.isContiguous({ memoryFormat: 'channelsLast' }),
          conv: F.conv2d(x, ctx.model.namedParameters()[0][1]).dtype,
          logits: logits.dtype,
          weight: conv.dtype,
          weightLayout: conv.isContiguous({ memoryFormat: 'channelsLast' }),
        });
        return { loss: F.crossEntropy(logits, retain!.y), retainLogits: logits };
      },
      dispose() {},
    }),
  };
  problem(); // the cached original and its predictions are built once, outside the count
  const base = memory().tensors;
  const result = run(probe, { lr: 0.01 }, BF16);
  assert.deepEqual(result.compute, {
    seed: 5,
    device: 'cpu',
    precision: 'bf16-mixed',
    memoryFormat: 'channelsLast',
  });
  assert.equal(seen.length, result.history.steps.length);
  assert.deepEqual(seen[0], {
    compute: result.compute,
    input: true,
    conv: 'bfloat16',
    logits: 'float32',
    weight: 'float32',
    weightLayout: true,
  });
  for (const [name, p] of result.model.namedParameters()) assert.equal(p.dtype, 'float32', name);
  assert.ok(result.history.steps.every((s) => Number.isFinite(s.loss)));
  // The returned model has no output hook left: outside autocast it is a plain model.
  result.model.dispose();
  assert.equal(memory().tensors, base, 'no tensor leaked');
});

for (const id of methodIds()) {
  test(`${id} runs under bf16-mixed + channels-last with finite losses`, () => {
    const method = getMethod(id);
    const options: Record<string, unknown> =
      id === 'srfl' || id === 'srfl-published' ? {} : { lr: 1e-3 };
    if (id === 'salun' || id === 'ssd' || id === 'l1-sparse') options.batchSize = 64;
    const result = run(method, options, BF16);
    try {
      assert.ok(
        result.history.steps.every((s) => Number.isFinite(s.loss)),
        `${id} losses`,
      );
      for (const [name, p] of result.model.namedParameters()) {
        assert.equal(p.dtype, 'float32', name);
        assert.ok(tidyFinite(p), `${id}: ${name} is finite`);
      }
      assert.ok(accuracyOf(result.final.test) >= 0, 'final predictions exist');
    } finally {
      result.model.dispose();
    }
  });
}

function tidyFinite(p: Tensor): boolean {
  const v = p.data<'float32'>();
  return v.every(Number.isFinite);
}

for (const id of ['srfl', 'scrub', 'bad-teacher']) {
  test(`${id} under bf16-mixed: the same seed gives the same model bit for bit, and differs from fp32`, () => {
    const method = getMethod(id);
    const runs = [BF16, BF16, { precision: 'fp32', memoryFormat: 'channelsLast' } as Settings].map(
      (settings) => {
        const r = run(method, { lr: 5e-3 }, settings);
        const bits = paramBits(r.model);
        r.model.dispose();
        return bits;
      },
    );
    const same = (a: Map<string, Uint32Array>, b: Map<string, Uint32Array>): boolean =>
      [...a].every(([n, x]) => x.every((v, i) => v === b.get(n)![i]));
    assert.ok(same(runs[0], runs[1]), 'two bf16 runs are bit-identical');
    assert.ok(!same(runs[0], runs[2]), 'bf16 changed the numbers (autocast took effect)');
  });
}

test('channels-last fp32 ends within float rounding of contiguous fp32', () => {
  const method = getMethod('finetune');
  const [a, b] = (['contiguous', 'channelsLast'] as const).map((memoryFormat) =>
    run(method, { lr: 1e-2 }, { precision: 'fp32', memoryFormat }),
  );
  for (const [[name, p], [, q]] of a.model
    .namedParameters()
    .map((e, i) => [e, b.model.namedParameters()[i]] as const)) {
    const x = p.data<'float32'>();
    const y = q.data<'float32'>();
    const diff = Math.max(...x.map((v, i) => Math.abs(v - y[i])));
    assert.ok(diff < 1e-4, `${name}: max diff ${diff}`);
  }
  a.model.dispose();
  b.model.dispose();
});

test('a contiguous original is evaluated channels-last in a channels-last run (its teacher logits too), and left as it was', () => {
  const p = problem();
  const original = p.original.clone();
  original.to({ memoryFormat: 'contiguous' });
  const stem = (original as unknown as { layer1: { at(i: number): Module } }).layer1.at(0);
  const layouts: boolean[] = [];
  // clone() copies hooks, so the hook also sees the copies the loop evaluates and trains.
  const handle = stem.registerForwardHook((_m, _x, out) => {
    layouts.push(out.isContiguous({ memoryFormat: 'channelsLast' }) && !out.isContiguous());
  });
  const weight = original.namedParameters()[0][1];
  const result = runOnProblem(
    getMethod('finetune'),
    { ...getMethod('finetune').defaults, batchSize: 32, epochs: 1 },
    { original, originalPredictions: undefined, precision: 'fp32', memoryFormat: 'channelsLast' },
  );
  assert.ok(layouts.length > 0);
  assert.deepEqual(
    layouts.filter((cl) => !cl),
    [],
    'every stem output was NHWC, from the first pass over the original on',
  );
  assert.equal(weight.isDisposed, false, "the caller's parameters are untouched");
  assert.equal(original.namedParameters()[0][1], weight);
  handle.remove();
  result.model.dispose();
  original.dispose();
});

test('fp16-mixed and unknown settings are refused on the CPU before any work', () => {
  const events: UnlearnEvent[] = [];
  assert.throws(
    () => run(getMethod('finetune'), {}, { precision: 'fp16-mixed' }, (e) => events.push(e)),
    new OptionError(
      "precision: expected 'fp32' or 'bf16-mixed' on device 'cpu' but received 'fp16-mixed' (float16 autocast and loss scaling need CUDA)",
    ),
  );
  assert.deepEqual(events, []);
  assert.throws(
    () => run(getMethod('finetune'), {}, { precision: 'bf16' as never }),
    new OptionError("precision: expected 'fp32', 'bf16-mixed', 'fp16-mixed' but received 'bf16'"),
  );
  assert.throws(
    () => run(getMethod('finetune'), {}, { memoryFormat: 'nhwc' as never }),
    new OptionError("memoryFormat: expected 'contiguous', 'channelsLast' but received 'nhwc'"),
  );
  assert.deepEqual(resolveCompute({ device: 'cpu' }), {
    seed: 0,
    device: 'cpu',
    precision: 'fp32',
    memoryFormat: 'channelsLast',
  });
  assert.deepEqual(resolveCompute({ device: 'cuda', precision: 'fp16-mixed' }), {
    seed: 0,
    device: 'cuda',
    precision: 'fp16-mixed',
    memoryFormat: 'channelsLast',
  });
  assert.equal(resolveCompute({ device: 'cuda' }).memoryFormat, 'contiguous');
});

test('predict under bf16-mixed returns float32 logits close to fp32 and the same accuracy', () => {
  const p = problem();
  const loader = new DataLoader(p.data.test, p.split.test, { batchSize: 64 });
  const layouts = (): boolean[] => p.original.parameters().map((t) => t.isContiguous());
  const before = layouts();
  const fp32 = predict(p.original, loader, {
    device: 'cpu',
    precision: 'fp32',
    memoryFormat: 'contiguous',
  });
  const bf16 = predict(p.original, loader, { device: 'cpu', ...BF16 } as Placement);
  assert.ok(bf16.logits instanceof Float32Array);
  assert.equal(bf16.logits.length, fp32.logits.length);
  const scale = Math.max(...fp32.logits.map(Math.abs));
  const diff = Math.max(...fp32.logits.map((v, i) => Math.abs(v - bf16.logits[i])));
  assert.ok(
    diff > 0 && diff < 0.05 * scale,
    `bf16 logits within 5% of the range (${diff} / ${scale})`,
  );
  assert.ok(Math.abs(accuracyOf(bf16) - accuracyOf(fp32)) <= 0.02);
  assert.deepEqual(layouts(), before, "predict converts inputs, not the model's weights");
});

test('train() takes precision and memoryFormat and records them', () => {
  const result = train({
    architecture: { name: 'resnet20', options: { inChannels: 1, numClasses: 4 } },
    data: syntheticPair({ train: 64, test: 32 }),
    options: { epochs: 1, batchSize: 32, augment: false },
    precision: 'bf16-mixed',
    memoryFormat: 'channelsLast',
    evalEveryEpoch: false,
  });
  assert.deepEqual(result.compute, {
    seed: 0,
    device: 'cpu',
    precision: 'bf16-mixed',
    memoryFormat: 'channelsLast',
  });
  assert.ok(
    result.history.steps.length === 2 && result.history.steps.every((s) => Number.isFinite(s.loss)),
  );
  result.model.dispose();
});
