/**
 * `npm run bench -- engine`: a ResNet-20-sized training step (forward, cross-entropy, backward,
 * SGD with momentum) and an inference pass at batch 128 on 1×28×28 inputs, and the per-call cost
 * of a small op from TypeScript; Lethe and PyTorch side by side, same libtorch, same threads.
 */
import { resnet20 } from '../src/models/index.js';
import { SGD } from '../src/optim/index.js';
import { F, manualSeed, noGrad, ones, randint, randn, tidy } from '../src/tensor/index.js';
import { compare, medianMs, runPytorch } from './common.js';

export default function engine(): object[] {
  const repeats = Number(process.env.REPEATS ?? 10);
  const torch = runPytorch('engine', ['--repeats', String(repeats)]);
  manualSeed(0);
  const model = resnet20({ inChannels: 1, numClasses: 10 });
  const opt = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9, weightDecay: 5e-4 });
  const x = randn([128, 1, 28, 28]);
  const y = randint(0, 10, [128]);
  model.train();
  const train = medianMs(
    () =>
      tidy(() => {
        opt.zeroGrad(true);
        F.crossEntropy(model.forward(x), y).backward();
        opt.step();
      }),
    repeats,
  );
  model.eval();
  const infer = medianMs(() => tidy(() => noGrad(() => model.forward(x))), repeats);
  const a = ones([1]);
  const n = 100000;
  const small =
    medianMs(
      () => {
        for (let i = 0; i < n; i++) a.add(a).dispose();
      },
      3,
      1,
    ) / n;
  return [
    compare('engine-train-step', train, torch?.train_step, {
      batch: 128,
      model: 'resnet20',
      input: '1x28x28',
    }),
    compare('engine-inference', infer, torch?.inference, {
      batch: 128,
      model: 'resnet20',
      input: '1x28x28',
    }),
    {
      ...compare('engine-small-op', small, torch?.small_op),
      lethe_us: Math.round(small * 1e4) / 10,
      target_us: 3,
    },
  ];
}
