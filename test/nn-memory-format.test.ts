/**
 * Channels-last models: `Module.to({ memoryFormat })` lays convolution weights out as NHWC without
 * changing values, names or outputs (beyond float rounding); checkpoints of a channels-last model
 * are the same contiguous safetensors bytes, with PyTorch's keys, as the contiguous model's; and
 * forward hooks replace outputs as PyTorch's do.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCheckpoint, resnet20, saveCheckpoint } from '../src/models/index.js';
import { encodeSafetensors, loadSafetensors } from '../src/nn/index.js';
import {
  dispose,
  manualSeed,
  memory,
  noGrad,
  randn,
  tidy,
  type Tensor,
} from '../src/tensor/index.js';

const channelsLast = (t: Tensor): boolean => t.isContiguous({ memoryFormat: 'channelsLast' });

test('Module.to({ memoryFormat }) converts exactly the 4-D tensors, keeping keys, values and outputs', () => {
  manualSeed(3);
  const model = resnet20({ inChannels: 1, numClasses: 10 });
  tidy(() => model.forward(randn([8, 1, 28, 28]))); // non-trivial running statistics
  model.eval();
  const copy = model.clone();
  const before = memory().tensors;
  copy.to({ memoryFormat: 'channelsLast' });
  assert.equal(memory().tensors, before, 'the old handles were freed');
  for (const [name, p] of copy.namedParameters()) {
    assert.ok(p.ndim === 4 ? channelsLast(p) : p.isContiguous(), name);
    // With one input channel (the stem) or 1×1 kernels NCHW and NHWC strides coincide.
    if (p.ndim === 4 && p.shape[1] > 1 && p.shape[2] * p.shape[3] > 1)
      assert.equal(p.isContiguous(), false, `${name} is NHWC`);
    assert.equal(p.requiresGrad, true, `${name} still requires grad`);
  }
  const a = model.stateDict();
  const b = copy.stateDict();
  assert.deepEqual([...b.keys()], [...a.keys()]);
  for (const [k, t] of a) assert.deepEqual(b.get(k)!.toArray(), t.toArray(), k);
  tidy(() => {
    const x = randn([4, 1, 28, 28]);
    const y0 = noGrad(() => model.forward(x));
    const y1 = noGrad(() => copy.forward(x.contiguous({ memoryFormat: 'channelsLast' })));
    const diff = y0.sub(y1).abs().max().item();
    assert.ok(diff < 1e-4, `outputs agree up to rounding (max diff ${diff})`);
  });
  copy.to({ memoryFormat: 'contiguous' });
  for (const [name, p] of copy.namedParameters()) assert.ok(p.isContiguous(), name);
  dispose([...a.values(), ...b.values()]);
  model.dispose();
  copy.dispose();
});

test('a channels-last ResNet computes channels-last throughout: every activation, the stem included, and every weight gradient', () => {
  // The stem's weight [16, 1, 3, 3] is contiguous in both formats, so contiguity cannot tell them
  // apart; libtorch picks a convolution's layout from the strides, and a weight left with NCHW
  // strides ran the stem, its batch norm and ReLU in NCHW (with a reorder in the backward pass).
  manualSeed(4);
  const model = resnet20({ inChannels: 1, numClasses: 10 });
  model.to({ memoryFormat: 'channelsLast' });
  model.train();
  const seen: string[] = [];
  const handles = [...model.namedModules()]
    .filter(([name]) => name !== '')
    .map(([name, m]) =>
      m.registerForwardHook((_m, _x, out) => {
        if (out.ndim === 4) {
          seen.push(name);
          // Shapes here have several channels and pixels: the two formats are distinguishable.
          assert.ok(channelsLast(out) && !out.isContiguous(), `${name} output is NHWC`);
        }
      }),
    );
  tidy(() => {
    const x = randn([4, 1, 28, 28]).contiguous({ memoryFormat: 'channelsLast' });
    model.forward(x).sum().backward();
  });
  for (const name of [
    'conv1',
    'bn1',
    'layer1.0.conv1',
    'layer1.0',
    'layer2.0.downsample',
    'layer3.2',
  ])
    assert.ok(seen.includes(name), `${name} was checked`);
  for (const [name, p] of model.namedParameters()) {
    if (p.ndim !== 4) continue;
    tidy(() => {
      const g = p.grad!;
      assert.ok(channelsLast(g), `${name}.grad is channels-last`);
      if (p.shape[1] > 1 && p.shape[2] * p.shape[3] > 1)
        assert.equal(g.isContiguous(), false, `${name}.grad is NHWC`);
    });
  }
  for (const h of handles) h.remove();
  model.dispose();
});

test('a channels-last model saves the same safetensors bytes as its contiguous twin and loads back', () => {
  manualSeed(4);
  const model = resnet20({ inChannels: 1, numClasses: 10 });
  tidy(() => model.forward(randn([8, 1, 28, 28])));
  const twin = model.clone().to({ memoryFormat: 'channelsLast' });
  const meta = { architecture: 'resnet20', modelOptions: { inChannels: 1, numClasses: 10 } };
  const dir = mkdtempSync(join(tmpdir(), 'lethe-nhwc-'));
  saveCheckpoint(join(dir, 'nchw.safetensors'), model, meta);
  saveCheckpoint(join(dir, 'nhwc.safetensors'), twin, meta);
  assert.ok(
    readFileSync(join(dir, 'nhwc.safetensors')).equals(readFileSync(join(dir, 'nchw.safetensors'))),
    'bit-identical files',
  );
  const sd = twin.stateDict();
  assert.ok(
    [...sd.values()].some(channelsLast) && ![...sd.values()].every((t) => t.isContiguous()),
  );
  const bytes = encodeSafetensors(sd);
  dispose([...sd.values()]);
  assert.ok(bytes.length > 0);

  const file = loadSafetensors(join(dir, 'nhwc.safetensors'));
  const original = model.stateDict();
  assert.deepEqual([...file.tensors.keys()].sort(), [...original.keys()].sort());
  for (const [k, t] of file.tensors) {
    assert.ok(t.isContiguous(), `${k} is stored contiguous`);
    assert.deepEqual(t.toArray(), original.get(k)!.toArray(), `${k} is bit-identical`);
  }
  // Loading into a channels-last model keeps its layout and takes the values.
  const loaded = loadCheckpoint(join(dir, 'nhwc.safetensors')).model;
  loaded.to({ memoryFormat: 'channelsLast' });
  twin.loadStateDict(file.tensors);
  for (const [name, p] of twin.namedParameters())
    if (p.ndim === 4) assert.ok(channelsLast(p), name);
  dispose([...file.tensors.values(), ...original.values()]);
  const python = '/usr/bin/python3';
  if (existsSync(python) && spawnSync(python, ['-c', 'import torch, torchvision']).status === 0) {
    const check = spawnSync(python, ['scripts/fixtures/models.py', 'check', dir], {
      encoding: 'utf8',
    });
    // models.py checks every *.safetensors it finds whose name is an architecture; ours are not.
    assert.equal(check.status, 0, check.stdout + check.stderr);
  }
  for (const m of [model, twin, loaded]) m.dispose();
});

test('forward hooks replace outputs, are removable, and are copied by clone()', () => {
  manualSeed(5);
  const model = resnet20({ inChannels: 1, numClasses: 10 });
  model.eval();
  const x = randn([2, 1, 28, 28]);
  const calls: string[] = [];
  const handle = model.registerForwardHook((m, input, out) => {
    calls.push(`${m === model ? 'model' : 'other'} ${input.shape} -> ${out.shape}`);
    return out.mul(2);
  });
  const plain = tidy(() => noGrad(() => resnet20Forward(model, x)));
  const hooked = noGrad(() => model.forward(x));
  assert.deepEqual(calls, ['model 2,1,28,28 -> 2,10']);
  const copy = model.clone();
  const copied = noGrad(() => copy.forward(x));
  assert.deepEqual(calls, ['model 2,1,28,28 -> 2,10', 'other 2,1,28,28 -> 2,10']);
  tidy(() => {
    assert.deepEqual(hooked.toArray(), plain.mul(2).toArray());
    assert.deepEqual(copied.toArray(), hooked.toArray());
  });
  handle.remove();
  const after = noGrad(() => model.forward(x));
  assert.deepEqual(after.toArray(), plain.toArray());
  assert.equal(calls.length, 2);
  dispose([x, plain, hooked, copied, after]);
  model.dispose();
  copy.dispose();
});

/** The model's forward without its hooks. */
function resnet20Forward(model: ReturnType<typeof resnet20>, x: Tensor): Tensor {
  return Object.getPrototypeOf(model).forward.call(model, x) as Tensor;
}
