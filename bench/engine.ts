/**
 * `npm run bench -- engine`: a ResNet-20-sized training step (forward, cross-entropy, backward,
 * SGD with momentum) and an inference pass at batch 128 on 1×28×28 inputs, and the per-call cost
 * of a small op from TypeScript; Lethe and PyTorch side by side, same libtorch, same threads.
 *
 * Every (precision × memory format) the device supports gets a row for the step and for the
 * pass, compared with PyTorch's same variant (`ratio`) and with PyTorch's default, fp32
 * contiguous (`vs_pytorch_default`). `--precision`, `--memory-format` and `--device` narrow it:
 * `npm run bench -- engine --precision bf16-mixed --memory-format channels-last`. Medians of
 * `REPEATS` (10) after `WARMUP` (20) untimed runs, for both engines.
 */
import { resnet20 } from '../src/models/index.js';
import { prepareModel, toMemoryFormat, withPrecision } from '../src/models/precision.js';
import { resolveCompute } from '../src/records/compute.js';
import { GradScaler, SGD } from '../src/optim/index.js';
import { F, keep, manualSeed, noGrad, ones, randint, randn, tidy } from '../src/tensor/index.js';
import {
  benchArgs,
  compare,
  medianMs,
  PYTORCH_DEFAULT,
  pytorchVariantArgs,
  round,
  runPytorch,
  syncDevice,
  variantName,
  variants,
  type Variant,
} from './common.js';

/** Lethe's step and pass in one variant, as the training loop and predict() run them. */
function measure(
  device: string,
  v: Variant,
  repeats: number,
  warmup: number,
): { train: number; infer: number } {
  const compute = resolveCompute({ device, ...v });
  manualSeed(0);
  const model = resnet20({ inChannels: 1, numClasses: 10 });
  prepareModel(model, compute);
  const opt = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9, weightDecay: 5e-4 });
  const scaler = v.precision === 'fp16-mixed' ? new GradScaler() : null;
  const x = keep(tidy(() => toMemoryFormat(randn([128, 1, 28, 28]).to(device), compute)));
  const y = keep(tidy(() => randint(0, 10, [128]).to(device)));
  model.train();
  const train = medianMs(
    () =>
      tidy(() => {
        opt.zeroGrad(true);
        const loss = withPrecision(compute, () => F.crossEntropy(model.forward(x), y));
        if (scaler) {
          scaler.scale(loss).backward();
          scaler.step(opt);
          scaler.update();
        } else {
          loss.backward();
          opt.step();
        }
        syncDevice(device);
      }),
    repeats,
    warmup,
  );
  model.eval();
  const infer = medianMs(
    () =>
      tidy(() => {
        noGrad(() => withPrecision(compute, () => model.forward(x)));
        syncDevice(device);
      }),
    repeats,
    warmup,
  );
  model.dispose();
  opt.dispose();
  x.dispose();
  y.dispose();
  return { train, infer };
}

export default function engine(): object[] {
  const repeats = Number(process.env.REPEATS ?? 10);
  // Both engines are timed in their steady state, as in a training run of hundreds of steps:
  // Lethe's glibc heap keeps growing (fresh pages, page faults) for its first ~20 steps while
  // small N-API allocations settle between the tensor buffers; PyTorch's settles in ~3.
  const warmup = Number(process.env.WARMUP ?? 20);
  const args = benchArgs();
  const list = variants(args);
  const withDefault = list.some((v) => variantName(v) === variantName(PYTORCH_DEFAULT))
    ? list
    : [PYTORCH_DEFAULT, ...list];
  const torch = runPytorch('engine', [
    '--repeats',
    String(repeats),
    '--warmup',
    String(warmup),
    ...pytorchVariantArgs(args.device, withDefault),
  ]);
  const rows: object[] = [];
  const shape = { batch: 128, model: 'resnet20', input: '1x28x28', device: args.device };
  for (const v of list) {
    const name = variantName(v);
    const { train, infer } = measure(args.device, v, repeats, warmup);
    const isDefault = name === variantName(PYTORCH_DEFAULT);
    for (const [what, ms] of [
      ['train-step', train],
      ['inference', infer],
    ] as const) {
      const key = what === 'train-step' ? 'train_step' : 'inference';
      const baseline = torch?.[`${key}:${variantName(PYTORCH_DEFAULT)}`];
      rows.push(
        compare(
          isDefault ? `engine-${what}` : `engine-${what}/${name}`,
          ms,
          torch?.[`${key}:${name}`],
          {
            ...shape,
            precision: v.precision,
            memory_format: v.memoryFormat,
            pytorch_default_ms: baseline === undefined ? null : round(baseline),
            vs_pytorch_default: baseline === undefined ? null : round(ms / baseline, 3),
          },
        ),
      );
    }
  }
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
  rows.push({
    ...compare('engine-small-op', small, torch?.small_op),
    lethe_us: Math.round(small * 1e4) / 10,
    target_us: 3,
  });
  return rows;
}
