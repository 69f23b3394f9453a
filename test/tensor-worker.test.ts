/**
 * The addon is context-aware: it loads in a worker_threads Worker (its own error classes and
 * state) and computes there while the main thread computes too. This file is also the worker's
 * script: in a worker it computes and posts results instead of declaring tests.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { arange, memory, tensor, tidy, TorchError, type Tensor } from '../src/tensor/index.js';

const N = 48;

/** A deterministic N×N matrix and its product with itself, computed in plain JavaScript. */
function matrix(seed: number): Float64Array {
  return Float64Array.from({ length: N * N }, (_, k) => ((k * 7 + seed * 13) % 17) / 8 - 1);
}
function reference(a: Float64Array): number[] {
  const out = new Array<number>(N * N).fill(0);
  for (let i = 0; i < N; i++)
    for (let k = 0; k < N; k++)
      for (let j = 0; j < N; j++) out[i * N + j] += a[i * N + k] * a[k * N + j];
  return out;
}
function product(a: Float64Array, repeats: number): number[] {
  let result: number[] = [];
  for (let r = 0; r < repeats; r++) {
    result = tidy(() => {
      const m: Tensor = tensor(a, [N, N]);
      return m.matmul(m).toArray();
    });
  }
  return result;
}

function assertClose(actual: number[], expected: number[]): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((v, k) =>
    assert.ok(Math.abs(v - expected[k]) < 1e-9, `[${k}] ${v} vs ${expected[k]}`),
  );
}

if (!isMainThread) {
  const { seed, repeats } = workerData as { seed: number; repeats: number };
  parentPort!.postMessage('started');
  const result = product(matrix(seed), repeats);
  let error = '';
  try {
    tidy(() => arange(6).reshape(4, 2));
  } catch (e) {
    error = `${(e as Error).name} ${e instanceof TorchError} ${(e as Error).message}`;
  }
  parentPort!.postMessage({ result, error, sum: tidy(() => arange(10).sum().item()) });
} else {
  test('the addon loads and computes in workers while the main thread computes concurrently', async () => {
    const before = memory().tensors;
    let started = 0;
    const spawn = (seed: number): Promise<{ result: number[]; error: string; sum: number }> =>
      new Promise((resolve, reject) => {
        // The entry registers tsx's hooks and then imports this file: a .ts entry, or
        // execArgv ['--import', 'tsx'], fails on Node 20 with 'Unknown file extension ".ts"'.
        const entry = `import('tsx/esm/api')
          .then(({ register }) => { register(); return import(${JSON.stringify(import.meta.url)}); })`;
        const worker = new Worker(entry, { eval: true, workerData: { seed, repeats: 400 } });
        worker.on('message', (m) => {
          if (m === 'started') return void started++;
          resolve(m);
          void worker.terminate();
        });
        worker.once('error', reject);
      });
    let finished = false;
    const workers = Promise.all([spawn(1), spawn(2)]).finally(() => (finished = true));
    // Meanwhile the main thread keeps computing with the same addon, yielding between rounds
    // so the workers' messages arrive; count the rounds run while both workers were computing.
    let overlapping = 0;
    const expected = reference(matrix(3));
    while (!finished) {
      const busy = started === 2;
      assertClose(product(matrix(3), 10), expected);
      if (busy && !finished) overlapping++;
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.ok(overlapping > 0, 'the main thread computed while both workers did');
    const [w1, w2] = await workers;
    assertClose(w1.result, reference(matrix(1)));
    assertClose(w2.result, reference(matrix(2)));
    // Each thread's own error classes: a libtorch failure in the worker is that worker's TorchError.
    assert.equal(
      w1.error,
      "TorchError true aten::reshape: shape '[4, 2]' is invalid for input of size 6",
    );
    assert.equal(w1.sum, 45);
    assert.equal(memory().tensors, before);
  });
}
