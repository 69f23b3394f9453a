/** Shared by the optim tests: a small seeded problem whose loss touches every parameter. */
import { F, manualSeed, randn, tidy, type Tensor } from '../src/tensor/index.js';

export interface Problem {
  params: Tensor[];
  /** Zeroes nothing: runs forward and backward, accumulating into `.grad`. */
  backward(): void;
  dispose(): void;
}

export function problem(seed = 1): Problem {
  manualSeed(seed);
  const weight = randn([3, 4]).requiresGrad_(true);
  const bias = randn([3]).requiresGrad_(true);
  const conv = randn([2, 1, 3, 3]).requiresGrad_(true);
  const x = randn([6, 4]);
  const img = randn([2, 1, 5, 5]);
  const target = randn([6, 3]);
  return {
    params: [weight, bias, conv],
    backward: () =>
      tidy(() => {
        const a = F.mseLoss(F.linear(x, weight, bias), target);
        a.add(F.conv2d(img, conv).square().mean()).backward();
      }),
    dispose: () => [weight, bias, conv, x, img, target].forEach((t) => t.dispose()),
  };
}

/** Bit patterns, so that -0 and 0 (or two NaNs) are told apart. */
export function bits(t: Tensor): number[] {
  const f = t.data() as Float32Array;
  return Array.from(new Uint32Array(f.buffer, f.byteOffset, f.length));
}

/** `times` training steps on each (problem, optimizer) pair: zero the gradients, backward, step. */
export function stepEach(
  pairs: readonly (readonly [Problem, { zeroGrad(): void; step(): void }])[],
  times = 1,
): void {
  for (let i = 0; i < times; i++) {
    for (const [p, opt] of pairs) {
      opt.zeroGrad();
      p.backward();
      opt.step();
    }
  }
}
