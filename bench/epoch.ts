/**
 * `npm run bench -- epoch`: one training epoch of ResNet-20 on 60,000 Fashion-MNIST images
 * (1×28×28, batch 128, shuffled, SGD with momentum) through Lethe's real training path (loader,
 * loop, optimizer), against the same epoch in PyTorch with its DataLoader (fp32 contiguous, its
 * default; `pytorch_same_variant_ms` is PyTorch in Lethe's variant). `IMAGES=n` shortens it;
 * `--precision`, `--memory-format` and `--device` choose Lethe's variant (default: Lethe's
 * defaults for the device).
 */
import { createDataset, loadDataset, type ImageDataset } from '../src/data/index.js';
import { manualSeed } from '../src/tensor/index.js';
import { train } from '../src/unlearn/api.js';
import {
  benchArgs,
  compare,
  pytorchVariantArgs,
  runPytorch,
  singleVariant,
  variantFields,
} from './common.js';

export async function benchData(n: number): Promise<{ train: ImageDataset; test: ImageDataset }> {
  const full = await loadDataset('fashion-mnist');
  const take = (ds: ImageDataset, k: number): ImageDataset =>
    createDataset({
      ...ds,
      name: ds.name,
      images: ds.images.subarray(0, k * 784),
      labels: ds.labels.subarray(0, k),
      classNames: [...ds.classNames],
      mean: [...ds.mean],
      std: [...ds.std],
      shape: ds.shape,
    });
  return { train: take(full.train, n), test: take(full.test, 256) };
}

export default async function epoch(): Promise<object> {
  const images = Number(process.env.IMAGES ?? 60000);
  const args = benchArgs();
  const { variant, pytorch } = singleVariant(args);
  const torch = runPytorch('epoch', [
    '--images',
    String(images),
    ...pytorchVariantArgs(args.device, pytorch),
  ]);
  const data = await benchData(images);
  manualSeed(0);
  const result = train({
    architecture: { name: 'resnet20', options: { inChannels: 1, numClasses: 10 } },
    data,
    options: { epochs: 1, lr: 0.05, augment: false, schedule: 'constant' },
    device: args.device,
    ...variant,
  });
  result.model.dispose();
  return compare('epoch-resnet20-fmnist', result.seconds * 1000, torch?.epoch, {
    images,
    batch: 128,
    target_ratio: 1.15,
    ...variantFields(variant, torch, 'epoch'),
  });
}
