/**
 * `npm run bench -- srfl`: one sRFL epoch (Fashion-MNIST, ResNet-20, forgetting class 3, batch
 * 128) in Lethe against the same algorithm written in PyTorch. Lethe's time covers everything up to
 * the final evaluation, including the one pass that computes the frozen teacher's logits; PyTorch
 * runs the teacher on every batch, as the seed's pseudo-code does (fp32 contiguous, its default;
 * `pytorch_same_variant_ms` is PyTorch in Lethe's variant). `IMAGES=n` shortens it;
 * `--precision`, `--memory-format` and `--device` choose Lethe's variant (default: Lethe's
 * defaults for the device).
 */
import { makeSplit } from '../src/data/index.js';
import { createModel } from '../src/models/index.js';
import { manualSeed } from '../src/tensor/index.js';
import { unlearn } from '../src/unlearn/api.js';
import {
  benchArgs,
  compare,
  pytorchVariantArgs,
  runPytorch,
  singleVariant,
  variantFields,
} from './common.js';
import { benchData } from './epoch.js';

export default async function srfl(): Promise<object> {
  const images = Number(process.env.IMAGES ?? 60000);
  const args = benchArgs();
  const { variant, pytorch } = singleVariant(args);
  const torch = runPytorch('srfl', [
    '--images',
    String(images),
    ...pytorchVariantArgs(args.device, pytorch),
  ]);
  const data = await benchData(images);
  manualSeed(0);
  const model = createModel('resnet20', { inChannels: 1, numClasses: 10 });
  model.to(args.device);
  const split = makeSplit({
    train: data.train,
    testSize: data.test.labels.length,
    forgetSpec: 'class:3',
    seed: 0,
  });
  const t0 = performance.now();
  let untilFinalEval = NaN;
  const result = unlearn({
    model,
    data,
    split,
    method: 'srfl',
    options: { epochs: 1 },
    evalEveryEpoch: false,
    device: args.device,
    ...variant,
    onEvent: (e) => {
      if (e.type === 'evaluate' && e.epoch === 1) untilFinalEval = performance.now() - t0;
    },
  });
  result.model.dispose();
  model.dispose();
  return compare('srfl-epoch-resnet20-fmnist', untilFinalEval, torch?.epoch, {
    images,
    retain: split.retain.length,
    forget: split.forget.length,
    batch: 128,
    lethe_training_only_ms: Math.round(result.seconds * 1000),
    target_ratio: 1.15,
    ...variantFields(variant, torch, 'epoch'),
  });
}
