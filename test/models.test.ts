import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { test } from 'node:test';
import {
  createModel,
  loadCheckpoint,
  readCheckpointMeta,
  resnet18,
  resnet20,
  saveCheckpoint,
} from '../src/models/index.js';
import { decodeSafetensors, saveSafetensors, StateDictError } from '../src/nn/index.js';
import { dispose, memory, noGrad, randn, tensor, tidy, Tensor, F } from '../src/tensor/index.js';
import { FileFormatError } from '../src/util/errors.js';

const FIXTURES = new URL('../fixtures/models/', import.meta.url).pathname;

function readGz(name: string): Map<string, Tensor> {
  return decodeSafetensors(gunzipSync(readFileSync(join(FIXTURES, name))), name).tensors;
}

function maxAbsDiff(a: Tensor, b: Tensor): number {
  return tidy(() => a.sub(b).abs().max().item());
}

const names = JSON.parse(readFileSync(join(FIXTURES, 'names.json'), 'utf8')) as Record<
  string,
  { parameters: string[]; state_dict: string[] }
>;

for (const [arch, build] of [
  ['resnet18', () => resnet18({ numClasses: 10 })],
  ['resnet20', () => resnet20({ inChannels: 1, numClasses: 10 })],
] as const) {
  test(`${arch}: parameter and state-dict names equal PyTorch's`, () => {
    const model = build();
    assert.deepEqual(
      model.namedParameters().map(([n]) => n),
      names[arch].parameters,
    );
    const sd = model.stateDict();
    assert.deepEqual([...sd.keys()], names[arch].state_dict);
    dispose([...sd.values()]);
    model.dispose();
  });

  test(`${arch}: forward on a PyTorch-saved state dict equals PyTorch's output within 1e-4`, () => {
    const model = build();
    const weights = readGz(`${arch}.safetensors.gz`);
    const io = readGz(`${arch}-io.safetensors.gz`);
    model.loadStateDict(weights);
    model.eval();
    const out = noGrad(() => model.forward(io.get('input')!));
    assert.deepEqual(out.shape, io.get('output')!.shape);
    assert.ok(
      maxAbsDiff(out, io.get('output')!) < 1e-4,
      `max diff ${maxAbsDiff(out, io.get('output')!)}`,
    );
    dispose([out, ...weights.values(), ...io.values()]);
    model.dispose();
  });
}

test('a Lethe checkpoint round-trips, and PyTorch opens it (when python3-torch is installed)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lethe-ckpt-'));
  for (const [arch, options, shape] of [
    ['resnet20', { inChannels: 1, numClasses: 10 }, [3, 1, 28, 28]],
    ['resnet18', { numClasses: 10 }, [2, 3, 32, 32]],
  ] as const) {
    const model = createModel(arch, options);
    // Make running statistics non-trivial so eval-mode outputs depend on the buffers.
    tidy(() => model.forward(randn([...shape])));
    model.eval();
    const input = randn([...shape]);
    const output = noGrad(() => model.forward(input));
    saveCheckpoint(join(dir, `${arch}.safetensors`), model, {
      architecture: arch,
      modelOptions: options,
      dataset: 'fixture',
      seed: 7,
    });
    saveSafetensors(
      join(dir, `${arch}-io.safetensors`),
      new Map([
        ['input', input],
        ['output', output],
      ]),
    );
    const { model: loaded, meta } = loadCheckpoint(join(dir, `${arch}.safetensors`));
    assert.equal(meta.architecture, arch);
    assert.equal(meta.seed, 7);
    assert.deepEqual(meta.modelOptions, options);
    loaded.eval();
    const again = noGrad(() => loaded.forward(input));
    assert.equal(maxAbsDiff(again, output), 0);
    dispose([input, output, again]);
    model.dispose();
    loaded.dispose();
  }
  const python = '/usr/bin/python3';
  const probe = existsSync(python)
    ? spawnSync(python, ['-c', 'import torch, torchvision'], { encoding: 'utf8' })
    : null;
  if (probe?.status === 0) {
    const check = spawnSync(python, ['scripts/fixtures/models.py', 'check', dir], {
      encoding: 'utf8',
    });
    assert.equal(check.status, 0, check.stdout + check.stderr);
    assert.match(check.stdout, /resnet20: loaded 128 tensors/);
  }
});

test('loadStateDict lists missing, unexpected and wrongly shaped keys', () => {
  const model = resnet20({ inChannels: 1 });
  const sd = model.stateDict();
  const fcWeight = sd.get('fc.weight')!;
  sd.delete('fc.bias');
  sd.set('fc.weight', tensor(new Float32Array(3 * 64), [3, 64]));
  sd.set('extra.weight', tensor([1]));
  assert.throws(
    () => model.loadStateDict(sd),
    (e: unknown) =>
      e instanceof StateDictError &&
      e.missing.join() === 'fc.bias' &&
      e.unexpected.join() === 'extra.weight' &&
      /fc\.weight: expected \[10,64\] but the state dict has \[3,64\]/.test(e.message),
  );
  dispose([fcWeight, ...sd.values()]);
  model.dispose();
});

test('checkpoints: truncated, corrupt, plain and wrong-architecture files get clear errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lethe-bad-'));
  const model = resnet20({ inChannels: 1 });
  const good = join(dir, 'good.safetensors');
  saveCheckpoint(good, model, { architecture: 'resnet20', modelOptions: { inChannels: 1 } });
  const bytes = readFileSync(good);
  writeFileSync(join(dir, 'truncated.safetensors'), bytes.subarray(0, bytes.length - 100));
  assert.throws(
    () => loadCheckpoint(join(dir, 'truncated.safetensors')),
    (e: unknown) =>
      e instanceof FileFormatError &&
      /truncated\.safetensors: not a valid safetensors file: .*(outside|cover)/.test(e.message),
  );
  writeFileSync(join(dir, 'garbage.safetensors'), Buffer.from('this is not a checkpoint at all'));
  assert.throws(
    () => loadCheckpoint(join(dir, 'garbage.safetensors')),
    /garbage\.safetensors: not a valid safetensors file: header length/,
  );
  writeFileSync(join(dir, 'tiny.safetensors'), Buffer.from([1, 2]));
  assert.throws(
    () => loadCheckpoint(join(dir, 'tiny.safetensors')),
    /shorter than the 8-byte header length/,
  );
  saveSafetensors(join(dir, 'plain.safetensors'), model.stateDict());
  assert.throws(
    () => loadCheckpoint(join(dir, 'plain.safetensors')),
    /has no Lethe checkpoint metadata/,
  );
  assert.throws(
    () => loadCheckpoint(good, { expectArchitecture: 'resnet18' }),
    /good\.safetensors: is a resnet20 checkpoint but resnet18 was expected/,
  );
  assert.throws(
    () => loadCheckpoint(join(dir, 'missing.safetensors')),
    /missing\.safetensors: cannot read: ENOENT/,
  );
  assert.equal(readCheckpointMeta(good).architecture, 'resnet20');
  model.dispose();
});

test('clone is deep; setTrainable freezes all but the chosen stages', () => {
  const model = resnet20({ inChannels: 1 });
  const teacher = model.clone();
  const trainable = model.setTrainable(['layer1.', 'layer2.']);
  assert.ok(
    trainable.length > 0 &&
      trainable.every((n) => n.startsWith('layer1.') || n.startsWith('layer2.')),
  );
  for (const [name, p] of model.namedParameters()) {
    assert.equal(p.requiresGrad, name.startsWith('layer1.') || name.startsWith('layer2.'), name);
  }
  assert.throws(() => model.setTrainable(['layer9.']), /No parameter name starts with layer9\./);
  model.setTrainable(['layer1.', 'layer2.']);
  // Changing the model leaves the teacher's weights untouched.
  const before = teacher.namedParameters()[3][1].data<'float32'>().slice();
  noGrad(() => model.namedParameters()[3][1].add_(1));
  assert.deepEqual(teacher.namedParameters()[3][1].data<'float32'>(), before);
  assert.notEqual(
    (teacher as unknown as { conv1: unknown }).conv1,
    (model as unknown as { conv1: unknown }).conv1,
  );
  teacher.eval();
  assert.equal(teacher.training, false);
  assert.equal(model.training, true);
  model.dispose();
  teacher.dispose();
});

test('batch norm: training updates running stats and num_batches_tracked, eval does not', () => {
  const model = resnet20({ inChannels: 1 });
  const bn = model.bn1;
  const x = randn([8, 1, 28, 28]);
  tidy(() => model.forward(x));
  tidy(() => model.forward(x));
  const tracked = bn.stateDict().get('num_batches_tracked')!;
  assert.equal(tracked.item(), 2);
  model.eval();
  const mean = bn.stateDict().get('running_mean')!.data<'float32'>().slice();
  tidy(() => model.forward(x));
  assert.deepEqual(bn.stateDict().get('running_mean')!.data<'float32'>(), mean);
  model.dispose();
  x.dispose();
});

test('a training step of ResNet-20 leaks no tensors', () => {
  const model = resnet20({ inChannels: 1 });
  const x = randn([16, 1, 28, 28]);
  const y = tensor(new Int32Array(16).map((_, i) => i % 10));
  const step = (): void =>
    tidy(() => {
      const loss = F.crossEntropy(model.forward(x), y);
      loss.backward();
      model.zeroGrad();
    });
  step();
  const before = memory().tensors;
  for (let i = 0; i < 5; i++) step();
  assert.equal(memory().tensors, before);
  model.dispose();
  dispose([x, y]);
});
