import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  auc,
  meanCi95,
  t975,
  tprAtFpr,
  uLira,
  type AuditObservation,
} from '../src/eval/stats/ulira.js';
import { auditDesign } from '../src/run/audit.js';
import { Rng } from '../src/util/rng.js';

/** A standard normal draw (Box–Muller) from a seeded generator. */
function gauss(rng: Rng): number {
  const u = Math.max(rng.next(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

/**
 * K models over `examples` examples: each example is forgotten by half the models; a model that
 * forgot example x gives φ ~ N(base_x + shift, 1) on it, a retrained one N(base_x, 1), where
 * base_x differs per example (what makes a per-example attack per-example).
 */
function synthetic(k: number, examples: number, shift: number, seed = 1) {
  const rng = new Rng(seed);
  const base = Array.from({ length: examples }, () => 4 * gauss(rng));
  const models: AuditObservation[][] = [];
  const targets: AuditObservation[][] = [];
  for (let m = 0; m < k; m++) {
    const own: AuditObservation[] = [];
    const target: AuditObservation[] = [];
    for (let x = 0; x < examples; x++) {
      const retrained = { example: x, phi: base[x] + gauss(rng), unlearned: false };
      own.push(retrained);
      if ((x + m) % 2 === 0) {
        const unlearned = { example: x, phi: base[x] + shift + gauss(rng), unlearned: true };
        own.push(unlearned);
        target.push(unlearned, retrained);
      }
    }
    models.push(own);
    targets.push(target);
  }
  return { models, targets };
}

test('U-LiRA scores ≈ 100% where unlearned and retrained models are separable by construction', () => {
  const { models, targets } = synthetic(16, 200, 8);
  const r = uLira(models, targets);
  assert.ok(r.accuracy.mean > 0.99, `accuracy ${r.accuracy.mean}`);
  assert.ok(r.auc > 0.999, `AUC ${r.auc}`);
  assert.ok(r.tprAt1 > 0.97, `TPR@1% ${r.tprAt1}`);
  assert.equal(r.accuracy.perTarget.length, 16);
  // Every example is scored and seen as separated, in the right direction.
  assert.equal(r.examples.length, 200);
  assert.ok(r.examples.every((e) => e.separation > 4));
  const perExample = uLira(models, targets, { variance: 'per-example' });
  assert.ok(perExample.accuracy.mean > 0.99);
});

test('U-LiRA scores ≈ 50% where both groups come from one distribution', () => {
  const { models, targets } = synthetic(16, 400, 0);
  const r = uLira(models, targets);
  assert.ok(Math.abs(r.accuracy.mean - 0.5) < 0.03, `accuracy ${r.accuracy.mean}`);
  assert.ok(r.accuracy.ci95[0] < 0.5 && r.accuracy.ci95[1] > 0.5, `CI ${r.accuracy.ci95}`);
  assert.ok(Math.abs(r.auc - 0.5) < 0.03, `AUC ${r.auc}`);
  assert.ok(r.tprAt1 < 0.04, `TPR@1% ${r.tprAt1}`);
  // A per-example attack beats a population one: with a shift of one standard deviation it is
  // well above chance though every example's own baseline spreads four times as wide.
  const weak = uLira(
    ...(Object.values(synthetic(16, 400, 1)) as [AuditObservation[][], AuditObservation[][]]),
  );
  assert.ok(
    weak.accuracy.mean > 0.62 && weak.accuracy.mean < 0.78,
    `accuracy ${weak.accuracy.mean}`,
  );
});

test('AUC, TPR at a low FPR, the t quantile and the interval on hand-made numbers', () => {
  assert.equal(auc([3, 4], [1, 2]), 1);
  assert.equal(auc([1, 2], [3, 4]), 0);
  assert.equal(auc([1, 3], [2, 2]), 0.5);
  assert.equal(auc([2], [2]), 0.5);
  // Positives 5..14; negatives −98..−1 and two high ones, 10 and 13. At FPR ≤ 1% the threshold may
  // admit one negative (13) but not two, so positives 11..14 count.
  const neg = Array.from({ length: 98 }, (_, i) => i - 98);
  neg.push(10, 13);
  const pos = Array.from({ length: 10 }, (_, i) => i + 5);
  assert.equal(tprAtFpr(pos, neg, 0.01), 0.4);
  assert.equal(tprAtFpr(pos, neg, 0), 0.1);
  assert.equal(tprAtFpr(pos, neg, 0.05), 1);
  assert.equal(t975(1), 12.706);
  assert.equal(t975(15), 2.131);
  assert.ok(Math.abs(t975(60) - 2.0) < 0.002);
  const ci = meanCi95([0.5, 0.6, 0.7]);
  assert.ok(Math.abs(ci.mean - 0.6) < 1e-12);
  assert.ok(Math.abs(ci.ci95[1] - (0.6 + (4.303 * 0.1) / Math.sqrt(3))) < 1e-12);
  assert.throws(() => uLira([[], []]), /at least 3 models/);
  assert.throws(
    () => uLira([[{ example: 0, phi: NaN, unlearned: true }], [], []]),
    /finite φ for example 0/,
  );
});

test("the audit's design: a fixed audit set, every example forgotten by half the shadows", () => {
  const d = auditDesign(5000, 1000, 16, 0);
  assert.equal(d.auditSet.length, 1000);
  assert.deepEqual(auditDesign(5000, 1000, 16, 0), d);
  assert.notDeepEqual(auditDesign(5000, 1000, 16, 1).auditSet, d.auditSet);
  const count = new Map<number, number>();
  for (const f of d.forgets) for (const x of f) count.set(x, (count.get(x) ?? 0) + 1);
  assert.equal(count.size, 1000);
  assert.ok([...count.values()].every((c) => c === 8));
  // Forget sets about |A|/2, each inside A.
  const inA = new Set(d.auditSet);
  for (const f of d.forgets) {
    assert.ok(f.length > 430 && f.length < 570, `forget set of ${f.length}`);
    assert.ok([...f].every((x) => inA.has(x)));
  }
  // Odd K: each example in ⌈K/2⌉ or ⌊K/2⌋ shadows.
  const odd = auditDesign(100, 40, 5, 3);
  const c5 = new Map<number, number>();
  for (const f of odd.forgets) for (const x of f) c5.set(x, (c5.get(x) ?? 0) + 1);
  assert.deepEqual(new Set(c5.values()), new Set([2, 3]));
  assert.throws(() => auditDesign(100, 101, 4, 0), /--audit-size: expected an integer in 2\.\.100/);
});
