/**
 * GradScaler with torch.cuda.amp.GradScaler's semantics, on the CPU with float32 tensors and
 * hand-computed values: scaling, exact unscaling, skipped steps on inf/NaN gradients, back-off
 * and growth of the scale, state dicts, and exact messages for misuse.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GradScaler, SGD } from '../src/optim/index.js';
import { keep, memory, tensor, tidy, type Tensor } from '../src/tensor/index.js';
import { OptionError } from '../src/util/errors.js';

/** w = [1, 2] trained by SGD(lr 0.5) on loss = sum(w * x). */
function setup(): { w: Tensor; opt: SGD } {
  const w = keep(tensor([1, 2])).requiresGrad_(true);
  return { w, opt: new SGD([w], { lr: 0.5 }) };
}

function iteration(scaler: GradScaler, w: Tensor, opt: SGD, x: number[]): boolean {
  return tidy(() => {
    opt.zeroGrad(true);
    const loss = w.mul(tensor(x)).sum();
    const scaled = scaler.scale(loss);
    assert.equal(scaled.item(), Math.fround(loss.item() * scaler.getScale()));
    scaled.backward();
    const stepped = scaler.step(opt);
    scaler.update();
    return stepped;
  });
}

test('scaled gradients are unscaled exactly: the step equals an unscaled fp32 step', () => {
  const { w, opt } = setup();
  const scaler = new GradScaler();
  assert.equal(scaler.getScale(), 65536);
  assert.equal(iteration(scaler, w, opt, [3, 0.1]), true);
  // w - 0.5 * x, with x's float32 value (0.1 is not exact): same bits as without scaling.
  const plain = setup();
  tidy(() => {
    plain.w
      .mul(tensor([3, 0.1]))
      .sum()
      .backward();
    plain.opt.step();
  });
  assert.deepEqual(w.toArray(), plain.w.toArray());
  assert.deepEqual(w.toArray(), [1 - 1.5, Math.fround(2 - 0.5 * Math.fround(0.1))]);
  for (const t of [w, plain.w]) t.dispose();
  opt.dispose();
  plain.opt.dispose();
});

test('inf and NaN gradients skip the step and halve the scale; growthInterval clean steps double it', () => {
  const { w, opt } = setup();
  const scaler = new GradScaler({ growthInterval: 3 });
  const base = memory().tensors;
  const scales: number[] = [];
  const stepped: boolean[] = [];
  for (const x of [
    [1, 1],
    [1, 1],
    [Infinity, 1],
    [1, 1],
    [NaN, 1],
    [1, 1],
    [1, 1],
    [1, 1],
  ]) {
    stepped.push(iteration(scaler, w, opt, x));
    scales.push(scaler.getScale());
  }
  assert.deepEqual(stepped, [true, true, false, true, false, true, true, true]);
  assert.deepEqual(scales, [65536, 65536, 32768, 32768, 16384, 16384, 16384, 32768]);
  // Six steps of -0.5 * [1, 1]; the skipped ones left w alone.
  assert.deepEqual(w.toArray(), [1 - 3, 2 - 3]);
  assert.deepEqual(scaler.stateDict(), {
    scale: 32768,
    growth_factor: 2,
    backoff_factor: 0.5,
    growth_interval: 3,
    _growth_tracker: 0,
  });
  assert.equal(memory().tensors, base, 'no tensor leaked');
  w.dispose();
  opt.dispose();
});

test('a gradient that overflows only after scaling is caught (the reason to back off)', () => {
  const { w, opt } = setup();
  const scaler = new GradScaler({ initScale: 2 ** 120 });
  // 2^120 * 2^10 overflows float32 (max ~2^128): the scaled gradient is inf.
  assert.equal(iteration(scaler, w, opt, [1024, 1]), false);
  assert.equal(scaler.getScale(), 2 ** 119);
  assert.deepEqual(w.toArray(), [1, 2]);
  assert.equal(iteration(scaler, w, opt, [1, 1]), true);
  w.dispose();
  opt.dispose();
});

test('state dicts round-trip; a disabled scaler passes everything through', () => {
  const a = new GradScaler({ initScale: 1024, growthInterval: 10 });
  a.loadStateDict({
    scale: 256,
    growth_factor: 2,
    backoff_factor: 0.5,
    growth_interval: 10,
    _growth_tracker: 9,
  });
  const { w, opt } = setup();
  iteration(a, w, opt, [1, 1]);
  assert.equal(a.getScale(), 512, 'the restored tracker made this the 10th clean step');

  const off = new GradScaler({ enabled: false });
  const loss = tensor([2]);
  assert.equal(off.scale(loss), loss);
  assert.equal(off.getScale(), 1);
  assert.deepEqual(off.stateDict(), {});
  assert.equal(iteration(off, w, opt, [Infinity, 1]), true, 'no inf check when disabled');
  for (const t of [w, loss]) t.dispose();
  opt.dispose();
});

test('misuse gets exact messages', () => {
  const { w, opt } = setup();
  const scaler = new GradScaler();
  assert.throws(
    () => scaler.update(),
    new OptionError('No inf checks were recorded prior to update()'),
  );
  tidy(() => scaler.scale(w.sum()).backward());
  scaler.unscale_(opt);
  assert.throws(
    () => scaler.unscale_(opt),
    new OptionError('unscale_() has already been called on this optimizer since the last update()'),
  );
  assert.equal(scaler.step(opt), true, 'step after an explicit unscale_ does not unscale again');
  assert.deepEqual(w.toArray(), [0.5, 1.5]);
  assert.throws(
    () => new GradScaler({ growthFactor: 1 }),
    new OptionError('Expected growthFactor > 1 for GradScaler but received 1'),
  );
  assert.throws(
    () => new GradScaler({ backoffFactor: 2 }),
    new OptionError('Expected backoffFactor in (0, 1) for GradScaler but received 2'),
  );
  assert.throws(
    () => new GradScaler({ initScale: -1 }),
    new OptionError('Expected a positive number for initScale but received -1'),
  );
  w.dispose();
  opt.dispose();
});
