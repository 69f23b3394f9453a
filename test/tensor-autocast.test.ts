/**
 * Mixed precision and memory formats against PyTorch 1.13.1 (fixtures/autocast/autocast.json,
 * written once by scripts/fixtures/autocast.py): under bf16 autocast every operator Lethe calls
 * returns PyTorch's dtype and values, gradients land in float32, channels-last layouts survive
 * the layers; scopes nest and restore; an autocast training loop does not leak.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  autocast,
  F,
  isAutocastEnabled,
  keep,
  manualSeed,
  memory,
  noGrad,
  ones,
  randint,
  randn,
  tensor,
  TensorArgumentError,
  tidy,
  zeros,
  type DType,
  type Tensor,
} from '../src/tensor/index.js';

interface Arr {
  dtype: DType;
  shape: number[];
  data: number[];
}
const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/autocast/autocast.json', import.meta.url), 'utf8'),
) as {
  inputs: Record<string, Arr>;
  cases: { name: string; output: Arr }[];
  grads: Record<string, Arr>;
  layouts: Record<
    'float32' | 'bfloat16',
    { conv2d: boolean; conv2dValues: Arr; batchNorm: boolean; relu: boolean; maxPool2d: boolean }
  >;
};

const load = (a: Arr): Tensor => keep(tensor(a.data, a.shape, { dtype: a.dtype }));
const inp = Object.fromEntries(
  Object.entries(fixture.inputs).map(([k, v]) => [k, load(v)]),
) as Record<string, Tensor>;
const { x4, w4, b4, x2, w2, b2, logits, target, labels } = inp;
const bn = (x: Tensor): Tensor =>
  F.batchNorm(x, zeros([x.shape[1]]), ones([x.shape[1]]), { training: true });

const OPS: Record<string, () => Tensor> = {
  conv2d: () => F.conv2d(x4, w4, b4, { padding: 1 }),
  linear: () => F.linear(x2, w2, b2),
  matmul: () => x2.matmul(w2.t()),
  mm: () => x2.mm(w2.t()),
  batchNorm: () => bn(x4),
  relu: () => F.relu(x2),
  maxPool2d: () => F.maxPool2d(x4, 2),
  adaptiveAvgPool2d: () => F.adaptiveAvgPool2d(x4, 1),
  softmax: () => F.softmax(logits, 1),
  logSoftmax: () => F.logSoftmax(logits, 1),
  crossEntropy: () => F.crossEntropy(logits, labels),
  nllLoss: () => F.nllLoss(F.logSoftmax(logits, 1), labels),
  klDiv: () => F.klDiv(F.logSoftmax(logits, 1), target, { reduction: 'sum' }),
  mseLoss: () => F.mseLoss(logits, target),
  cosineSimilarity: () => F.cosineSimilarity(logits, target, 1),
  convThenBatchNorm: () => bn(F.conv2d(x4, w4, b4, { padding: 1 })),
  linearThenSoftmax: () => F.softmax(F.linear(x2, w2, b2), 1),
  linearThenLogSoftmax: () => F.logSoftmax(F.linear(x2, w2, b2), 1),
  linearThenCrossEntropy: () => F.crossEntropy(F.linear(x2, w2, b2), labels.clamp(null, 3)),
  linearThenKlDiv: () =>
    F.klDiv(F.logSoftmax(F.linear(x2, w2, b2), 1), target, { reduction: 'sum' }),
  linearThenCosine: () => F.cosineSimilarity(F.linear(x2, w2, b2), target, 1),
  linearPlusFloat: () => F.linear(x2, w2, b2).add(target),
};

/** Values within bf16's resolution (8 significant bits) of PyTorch's. */
function assertClose(actual: Tensor, expected: Arr, what: string): void {
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  const got = tidy(() => actual.float().toArray());
  got.forEach((v, i) => {
    const e = expected.data[i];
    assert.ok(Math.abs(v - e) <= 1e-5 + 8e-3 * Math.abs(e), `${what}[${i}]: ${v} vs PyTorch ${e}`);
  });
}

bf16Cases();
function bf16Cases(): void {
  for (const c of fixture.cases) {
    test(`bf16 autocast: ${c.name} returns PyTorch's dtype (${c.output.dtype}) and values`, () => {
      const op = OPS[c.name];
      assert.ok(op, `no Lethe call for fixture case ${c.name}`);
      tidy(() => {
        const out = autocast({ device: 'cpu', dtype: 'bfloat16' }, op);
        assert.equal(out.dtype, c.output.dtype);
        assertClose(out, c.output, c.name);
      });
    });
  }
}

test('gradients through a bf16 autocast forward are float32, as in PyTorch', () => {
  tidy(() => {
    const wc = w4.clone().requiresGrad_(true);
    const wl = load(fixture.grads.linearWeightInput).requiresGrad_(true);
    const loss = autocast({ device: 'cpu' }, () => {
      const h = F.relu(F.conv2d(x4, wc, null, { padding: 1 })).flatten(1);
      return F.crossEntropy(F.linear(h, wl), labels.narrow(0, 0, 2));
    });
    loss.backward();
    assert.equal(loss.dtype, 'float32');
    assertClose(loss, fixture.grads.loss, 'loss');
    assert.equal(wc.grad!.dtype, 'float32');
    assert.equal(wl.grad!.dtype, 'float32');
    assertClose(wc.grad!, fixture.grads.convWeight, 'conv weight grad');
    assertClose(wl.grad!, fixture.grads.linearWeight, 'linear weight grad');
  });
});

for (const precision of ['float32', 'bfloat16'] as const) {
  test(`channels-last input and weight stay channels-last through conv, batch norm, relu and pooling (${precision})`, () => {
    const expected = fixture.layouts[precision];
    tidy(() => {
      const xc = x4.contiguous({ memoryFormat: 'channelsLast' });
      const wc = w4.contiguous({ memoryFormat: 'channelsLast' });
      assert.equal(xc.isContiguous(), false);
      assert.equal(xc.isContiguous({ memoryFormat: 'channelsLast' }), true);
      assert.deepEqual(xc.shape, x4.shape);
      autocast({ device: 'cpu', enabled: precision === 'bfloat16' }, () => {
        const y = F.conv2d(xc, wc, b4, { padding: 1 });
        const cl = (t: Tensor): boolean => t.isContiguous({ memoryFormat: 'channelsLast' });
        assert.equal(cl(y), expected.conv2d);
        assert.equal(cl(bn(y)), expected.batchNorm);
        assert.equal(cl(F.relu(y)), expected.relu);
        assert.equal(cl(F.maxPool2d(y, 2)), expected.maxPool2d);
        assert.equal(y.dtype, expected.conv2dValues.dtype);
        assertClose(y, expected.conv2dValues, 'conv2d');
      });
    });
  });
}

test('memory formats: contiguous, to and clone convert layouts without changing values', () => {
  tidy(() => {
    const cl = x4.to({ memoryFormat: 'channelsLast' });
    assert.ok(cl.isContiguous({ memoryFormat: 'channelsLast' }));
    assert.deepEqual(cl.toArray(), x4.toArray(), 'toArray reads logical (NCHW) order');
    assert.ok(cl.clone().isContiguous({ memoryFormat: 'channelsLast' }), 'clone preserves');
    assert.ok(cl.clone({ memoryFormat: 'contiguous' }).isContiguous());
    assert.ok(cl.contiguous().isContiguous());
    assert.ok(cl.to('float64').isContiguous({ memoryFormat: 'channelsLast' }));
    assert.throws(
      () => x2.contiguous({ memoryFormat: 'channelsLast' }),
      /required rank 4 tensor to use channels_last format/,
    );
    assert.throws(
      () => x4.contiguous({ memoryFormat: 'nhwc' as never }),
      new TensorArgumentError(
        'Expected a memoryFormat (contiguous, preserve, channelsLast) but received nhwc',
      ),
    );
  });
});

test('autocast scopes nest, switch off inside, and restore the outer state on throw', () => {
  assert.equal(isAutocastEnabled('cpu'), false);
  const dtypeOf = (): DType => tidy(() => F.linear(x2, w2).dtype);
  assert.equal(dtypeOf(), 'float32');
  autocast({ device: 'cpu' }, () => {
    assert.equal(isAutocastEnabled('cpu'), true);
    assert.equal(dtypeOf(), 'bfloat16');
    autocast({ device: 'cpu', enabled: false }, () => {
      assert.equal(isAutocastEnabled('cpu'), false);
      assert.equal(dtypeOf(), 'float32');
    });
    assert.equal(dtypeOf(), 'bfloat16');
    assert.throws(
      () =>
        autocast({ device: 'cpu', enabled: false }, () => {
          throw new Error('inner failure');
        }),
      /inner failure/,
    );
    assert.equal(isAutocastEnabled('cpu'), true, 'the outer scope is back after a throw');
    assert.equal(dtypeOf(), 'bfloat16');
  });
  assert.throws(
    () =>
      autocast({ device: 'cpu' }, () => {
        throw new Error('outer failure');
      }),
    /outer failure/,
  );
  assert.equal(isAutocastEnabled('cpu'), false);
  assert.equal(isAutocastEnabled('cuda'), false, 'CPU scopes leave CUDA autocast alone');
  assert.equal(dtypeOf(), 'float32');
});

test('autocast refuses what PyTorch would not cast: CPU float16, unknown devices, async functions', () => {
  assert.throws(
    () => autocast({ device: 'cpu', dtype: 'float16' }, () => 0),
    new TensorArgumentError(
      "autocast: CPU autocast supports dtype 'bfloat16' only but received 'float16'",
    ),
  );
  assert.throws(
    () => autocast({ device: 'tpu' }, () => 0),
    new TensorArgumentError(
      "autocast: expected device 'cpu', 'cuda' or 'cuda:<n>' but received \"tpu\"",
    ),
  );
  assert.throws(
    () => autocast({ device: 'cpu', dtype: 'float64' as never }, () => 0),
    new TensorArgumentError(
      "autocast: expected dtype 'bfloat16' or 'float16' but received \"float64\"",
    ),
  );
  assert.throws(() => autocast({ device: 'cpu' }, async () => 0), /synchronous function/);
  assert.equal(isAutocastEnabled('cpu'), false);
});

test('500 bf16 autocast SGD steps on a channels-last conv model keep tensors and bytes flat', () => {
  manualSeed(0);
  const param = (shape: number[], scale: number): Tensor =>
    tidy(() => keep(randn(shape).mul(scale)).requiresGrad_(true));
  const convW = tidy(() =>
    keep(param([8, 1, 3, 3], 0.3).contiguous({ memoryFormat: 'channelsLast' })),
  );
  convW.requiresGrad_(true);
  const linW = param([10, 8 * 16], 0.1);
  const params = [convW, linW];
  const x = keep(randn([16, 1, 8, 8]).contiguous({ memoryFormat: 'channelsLast' }));
  const y = keep(randint(0, 10, [16]));
  const step = (): number =>
    tidy(() => {
      const loss = autocast({ device: 'cpu' }, () => {
        const h = F.maxPool2d(F.conv2d(x, convW, null, { padding: 1 }).relu(), 2).flatten(1);
        return F.crossEntropy(F.linear(h, linW).float(), y);
      });
      loss.backward();
      noGrad(() => {
        for (const p of params) {
          const g = p.grad!;
          p.sub_(g, 0.05);
          p.grad = null;
        }
      });
      return loss.item();
    });
  const first = step();
  const base = memory();
  let last = first;
  for (let i = 0; i < 500; i++) last = step();
  assert.deepEqual(memory(), base);
  assert.ok(last < first, `the loss fell (${first} -> ${last})`);
  assert.ok(convW.isContiguous({ memoryFormat: 'channelsLast' }), 'in-place updates keep layout');
  for (const t of [convW, linW, x, y]) t.dispose();
});
