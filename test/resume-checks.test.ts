/**
 * A damaged `checkpoint.safetensors` is refused with the field named, never resumed into a run
 * that differs from an uninterrupted one: each example of issue 14 (overlapping offsets, the
 * optimizer state removed, `seconds` "NaN", `rng` "[]", `identity` null, a negative `step`).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { decodeSafetensors, encodeSafetensors } from '../src/nn/safetensors.js';
import type { RunIdentity } from '../src/records/run.js';
import { disposeCheckpoint, loadRunCheckpoint, saveRunCheckpoint } from '../src/run/checkpoint.js';
import { memory, tensor, type Tensor } from '../src/tensor/index.js';
import { runLoop } from '../src/unlearn/loop.js';
import { randomLabel } from '../src/unlearn/methods/random-label.js';
import type { LoopOptions, UnlearnMethod } from '../src/unlearn/types.js';
import { FileFormatError, OptionError } from '../src/util/errors.js';
import { paramBits, runOnProblem } from './methods-helpers.js';

const identity: RunIdentity = {
  method: 'random-label',
  data: 'synthetic',
  model: 'tiny',
  modelOptions: {},
  forget: 'class:1',
  forgetDigest: 'sha256:0',
  seed: 5,
  options: {},
  precision: 'fp32',
  memoryFormat: 'channelsLast',
  device: 'cpu',
  original: '0123456789abcdef',
  lethe: '0.1.0',
  source: 'sha256:0',
  libtorch: '2.1.0',
};

class Interrupted extends Error {}

const options = { ...randomLabel.defaults, epochs: 3, batchSize: 32 } as LoopOptions;

function run(extra: Partial<Parameters<typeof runLoop>[0]>) {
  return runOnProblem(randomLabel as UnlearnMethod<LoopOptions>, options, extra);
}

/** A real run directory whose checkpoint holds the state after epoch 1 (SGD with momentum). */
const dir = mkdtempSync(join(tmpdir(), 'lethe-resume-'));
const path = join(dir, 'checkpoint.safetensors');
assert.throws(
  () =>
    run({
      onCheckpoint: (state) => {
        saveRunCheckpoint(dir, identity, state);
        throw new Interrupted();
      },
    }),
  Interrupted,
);
const good = readFileSync(path);

/** Rewrites the checkpoint with its tensors and metadata passed through `edit`. */
function damage(
  edit: (tensors: Map<string, Tensor>, metadata: Record<string, string>) => void,
): void {
  const file = decodeSafetensors(good, path);
  edit(file.tensors, file.metadata);
  writeFileSync(path, encodeSafetensors(file.tensors, file.metadata));
  for (const t of file.tensors.values()) t.dispose();
}

function refused(message: string): void {
  const before = memory().tensors;
  assert.throws(
    () => loadRunCheckpoint(dir),
    (e: Error) => {
      assert.ok(e instanceof FileFormatError, `${e.name}: ${e.message}`);
      assert.equal(e.message, `${path}: ${message}`);
      return true;
    },
  );
  assert.equal(memory().tensors, before, 'a refused checkpoint frees its tensors');
}

const damaged = (field: string, got: string, expected: string): string =>
  `has ${field} ${got}; expected ${expected} (a damaged checkpoint: remove it to start over)`;

test('an intact checkpoint resumes to the uninterrupted run, bit for bit', () => {
  writeFileSync(path, good);
  const checkpoint = loadRunCheckpoint(dir)!;
  assert.equal(checkpoint.state.epoch, 1);
  assert.deepEqual(checkpoint.identity, identity);
  const resumed = run({ resume: checkpoint.state });
  const whole = run({});
  assert.deepEqual(paramBits(resumed.model), paramBits(whole.model));
  disposeCheckpoint(checkpoint);
  resumed.model.dispose();
  whole.model.dispose();
});

test('scalar fields: seconds, rng, step, epoch and identity are checked', () => {
  damage((_, m) => (m.seconds = 'NaN'));
  refused(damaged("'seconds' metadata", '"NaN"', 'a finite number ≥ 0'));
  damage((_, m) => (m.rng = '[]'));
  refused(
    damaged("'rng' metadata", '[]', 'a generator state of four 32-bit integers, not all zero'),
  );
  damage((_, m) => (m.rng = '[1,2,3,4.5]'));
  refused(
    damaged(
      "'rng' metadata",
      '[1,2,3,4.5]',
      'a generator state of four 32-bit integers, not all zero',
    ),
  );
  damage((_, m) => (m.step = '-1'));
  refused(damaged("'step' metadata", '"-1"', 'an integer ≥ 0'));
  damage((_, m) => (m.epoch = '0'));
  refused(damaged("'epoch' metadata", '"0"', 'an integer ≥ 1'));
  damage((_, m) => (m.identity = 'null'));
  refused(damaged('identity', 'null', 'an object'));
  damage((_, m) => (m.identity = JSON.stringify({ ...identity, seed: '5' })));
  refused(damaged('identity.seed', '"5"', 'an integer'));
  damage((_, m) => delete m.scheduler);
  refused(damaged("'scheduler' metadata", 'missing', 'JSON'));
  damage((_, m) => (m.scheduler = '{"lastEpoch":1,"stepCount":1,"baseLrs":3,"lastLr":[0.1]}'));
  refused(damaged('scheduler.baseLrs', '3', 'a list of finite learning rates ≥ 0'));
});

test('a step count that disagrees with the history is refused', () => {
  const step = Number(decodeSafetensors(good, path).metadata.step);
  damage((_, m) => (m.step = String(step + 1)));
  refused(damaged("tensor 'history.steps'", String(step), `${step + 1} rows, one per step`));
});

test('the optimizer state of every parameter must be there', () => {
  damage((t) => {
    for (const name of [...t.keys()])
      if (name.startsWith('optimizer.')) {
        t.get(name)!.dispose();
        t.delete(name);
      }
  });
  const steps = Number(decodeSafetensors(good, path).metadata.step);
  refused(
    `has no optimizer state 'momentum_buffer' for parameter 0, but missing; expected it after ${steps} steps (a damaged checkpoint: remove it to start over)`,
  );
  damage((t) => {
    t.get('optimizer.state.2.momentum_buffer')!.dispose();
    t.delete('optimizer.state.2.momentum_buffer');
  });
  refused(
    `has no optimizer state 'momentum_buffer' for parameter 2, but missing; expected it after ${steps} steps (a damaged checkpoint: remove it to start over)`,
  );
  damage((_, m) => {
    const o = JSON.parse(m.optimizer);
    o.paramGroups[0].lr = null;
    m.optimizer = JSON.stringify(o);
  });
  refused(damaged('optimizer.paramGroups[0].lr', 'null', 'a finite number ≥ 0'));
});

test('overlapping tensors in a checkpoint are refused before anything is read', () => {
  // Point the last optimizer tensor at the bytes of the first model tensor: the sizes still add up.
  const headerLength = Number(good.readBigUInt64LE(0));
  const header = JSON.parse(good.subarray(8, 8 + headerLength).toString('utf8'));
  const span = (k: string): number => header[k].data_offsets[1] - header[k].data_offsets[0];
  const names = Object.keys(header)
    .filter((k) => k !== '__metadata__')
    .sort((a, b) => header[a].data_offsets[0] - header[b].data_offsets[0]);
  const first = names.find((a) => names.some((b) => b !== a && span(b) === span(a)))!;
  const second = names.find((b) => b !== first && span(b) === span(first))!;
  header[second].data_offsets = [...header[first].data_offsets];
  let json = JSON.stringify(header);
  json += ' '.repeat(Math.max(0, headerLength - json.length));
  const bytes = Buffer.concat([
    good.subarray(0, 8),
    Buffer.from(json),
    good.subarray(8 + headerLength),
  ]);
  bytes.writeBigUInt64LE(BigInt(json.length), 0);
  writeFileSync(path, bytes);
  assert.throws(
    () => loadRunCheckpoint(dir),
    (e: Error) => {
      assert.ok(e instanceof FileFormatError);
      const [b, e2] = header[second].data_offsets;
      assert.match(
        e.message,
        new RegExp(
          `not a valid safetensors file: tensor '.*' at \\[${b}, ${e2}\\] overlaps another tensor's bytes \\(up to ${e2}\\)$`,
        ),
      );
      return true;
    },
  );
});

test('optimizer state of the wrong shape is refused by the run before it starts', () => {
  damage((t) => {
    t.get('optimizer.state.0.momentum_buffer')!.dispose();
    t.set('optimizer.state.0.momentum_buffer', tensor(new Float32Array([0]), [1]));
  });
  const checkpoint = loadRunCheckpoint(dir)!;
  assert.throws(
    () => run({ resume: checkpoint.state }),
    (e: Error) =>
      e instanceof OptionError &&
      /^The saved optimizer state 'state\.0\.momentum_buffer' has shape \[1\] but parameter 0 has shape \[\d+(, \d+)*\]$/.test(
        e.message,
      ),
  );
  disposeCheckpoint(checkpoint);
});
