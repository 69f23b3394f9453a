/**
 * ResNets with torchvision's structure and attribute names (the names *are* the checkpoint
 * format): `resnet18/34/50` (ImageNet stem, or the `cifar` stem for 32×32 inputs) and He et al.'s
 * CIFAR ResNets `resnet20/32/44/56` (three stages of widths 16/32/64, named layer1..layer3 so that
 * "the first two stages" means the same in every model).
 */
import {
  BatchNorm2d,
  Conv2d,
  convBatchNorm,
  Identity,
  Linear,
  MaxPool2d,
  Sequential,
} from '../nn/layers.js';
import { Module } from '../nn/module.js';
import { noGrad, Tensor } from '../tensor/index.js';

export interface ResNetOptions {
  /** Input channels (1 for MNIST-like data, 3 for CIFAR). Default 3. */
  inChannels?: number;
  /** Output classes. Default 10. */
  numClasses?: number;
  /** For ResNet-18/34/50: a 3×3 stride-1 stem without max-pool, for 32×32 inputs. Default false. */
  cifar?: boolean;
}

function conv3x3(inPlanes: number, outPlanes: number, stride = 1): Conv2d {
  return new Conv2d(inPlanes, outPlanes, 3, { stride, padding: 1, bias: false });
}

function conv1x1(inPlanes: number, outPlanes: number, stride = 1): Conv2d {
  return new Conv2d(inPlanes, outPlanes, 1, { stride, bias: false });
}

/** Frees `a` and returns `b`: keeps forward passes to one live intermediate at a time. */
function then(a: Tensor, b: Tensor): Tensor {
  a.dispose();
  return b;
}

/** `out += shortcut(x)` in place: the identity, or the downsampling projection. */
function addShortcut(out: Tensor, x: Tensor, downsample: Sequential | null): Tensor {
  if (!downsample) return out.add_(x);
  const identity = downsample.forward(x);
  out.add_(identity);
  identity.dispose();
  return out;
}

interface Block extends Module {
  readonly downsample: Sequential | null;
}

export class BasicBlock extends Module implements Block {
  static readonly expansion = 1;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly downsample: Sequential | null;

  constructor(inPlanes: number, planes: number, stride = 1, downsample: Sequential | null = null) {
    super();
    this.conv1 = this.registerModule('conv1', conv3x3(inPlanes, planes, stride));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(planes));
    this.conv2 = this.registerModule('conv2', conv3x3(planes, planes));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d(planes));
    this.downsample = downsample ? this.registerModule('downsample', downsample) : null;
  }

  forward(x: Tensor): Tensor {
    let out = convBatchNorm(this.conv1, this.bn1, x).relu_();
    out = then(out, convBatchNorm(this.conv2, this.bn2, out));
    return addShortcut(out, x, this.downsample).relu_();
  }
}

export class Bottleneck extends Module implements Block {
  static readonly expansion = 4;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly conv3: Conv2d;
  readonly bn3: BatchNorm2d;
  readonly downsample: Sequential | null;

  constructor(inPlanes: number, planes: number, stride = 1, downsample: Sequential | null = null) {
    super();
    this.conv1 = this.registerModule('conv1', conv1x1(inPlanes, planes));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(planes));
    this.conv2 = this.registerModule('conv2', conv3x3(planes, planes, stride));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d(planes));
    this.conv3 = this.registerModule('conv3', conv1x1(planes, planes * Bottleneck.expansion));
    this.bn3 = this.registerModule('bn3', new BatchNorm2d(planes * Bottleneck.expansion));
    this.downsample = downsample ? this.registerModule('downsample', downsample) : null;
  }

  forward(x: Tensor): Tensor {
    let out = convBatchNorm(this.conv1, this.bn1, x).relu_();
    out = then(out, convBatchNorm(this.conv2, this.bn2, out)).relu_();
    out = then(out, convBatchNorm(this.conv3, this.bn3, out));
    return addShortcut(out, x, this.downsample).relu_();
  }
}

type BlockClass = (typeof BasicBlock | typeof Bottleneck) & {
  new (inPlanes: number, planes: number, stride?: number, downsample?: Sequential | null): Block;
};

/**
 * One ResNet class for both families. `widths` are the stage widths; `stem` picks the ImageNet
 * stem (7×7 stride 2 + max-pool), the 3×3 CIFAR stem, or He et al.'s 16-channel 3×3 stem.
 */
export class ResNet extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly maxpool: MaxPool2d | Identity;
  readonly stages: Sequential[];
  readonly fc: Linear;
  readonly numClasses: number;

  constructor(
    block: BlockClass,
    layers: number[],
    widths: number[],
    stem: 'imagenet' | 'cifar',
    options: ResNetOptions = {},
  ) {
    super();
    const inChannels = options.inChannels ?? 3;
    this.numClasses = options.numClasses ?? 10;
    let inPlanes = widths[0];
    this.conv1 = this.registerModule(
      'conv1',
      stem === 'imagenet'
        ? new Conv2d(inChannels, inPlanes, 7, { stride: 2, padding: 3, bias: false })
        : conv3x3(inChannels, inPlanes),
    );
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(inPlanes));
    this.maxpool =
      stem === 'imagenet' ? new MaxPool2d(3, { stride: 2, padding: 1 }) : new Identity();
    this.stages = layers.map((count, i) => {
      const planes = widths[i];
      const stride = i === 0 ? 1 : 2;
      let downsample: Sequential | null = null;
      if (stride !== 1 || inPlanes !== planes * block.expansion) {
        downsample = new Sequential(
          conv1x1(inPlanes, planes * block.expansion, stride),
          new BatchNorm2d(planes * block.expansion),
        );
      }
      const blocks: Module[] = [new block(inPlanes, planes, stride, downsample)];
      inPlanes = planes * block.expansion;
      for (let b = 1; b < count; b++) blocks.push(new block(inPlanes, planes));
      return this.registerModule(`layer${i + 1}`, new Sequential(...blocks));
    });
    this.fc = this.registerModule('fc', new Linear(inPlanes, this.numClasses));
    this.initWeights();
  }

  /** torchvision's initialisation: kaiming-normal (fan-out, ReLU) convolutions, BN weight 1 / bias 0. */
  private initWeights(): void {
    noGrad(() => {
      for (const [, m] of this.namedModules()) {
        if (m instanceof Conv2d) {
          const fanOut = m.outChannels * m.kernelSize[0] * m.kernelSize[1];
          m.weight.normal_(0, Math.sqrt(2 / fanOut));
        } else if (m instanceof BatchNorm2d) {
          for (const [name, p] of m.namedParameters()) p.fill_(name === 'weight' ? 1 : 0);
        }
      }
    });
  }

  /** Features before the classifier: the pooled output of the last stage. */
  features(x: Tensor): Tensor {
    let out = convBatchNorm(this.conv1, this.bn1, x).relu_();
    out = then(out, this.maxpool.forward(out));
    for (const stage of this.stages) out = then(out, stage.forward(out));
    out = then(out, out.mean([2, 3]));
    return out;
  }

  forward(x: Tensor): Tensor {
    const f = this.features(x);
    return then(f, this.fc.forward(f));
  }
}

/** torchvision's ResNet-18/34/50 family: stage widths 64..512, ImageNet or CIFAR stem. */
function torchvisionResNet(block: BlockClass, layers: number[], options: ResNetOptions): ResNet {
  return new ResNet(
    block,
    layers,
    [64, 128, 256, 512],
    options.cifar ? 'cifar' : 'imagenet',
    options,
  );
}

export const resnet18 = (options: ResNetOptions = {}): ResNet =>
  torchvisionResNet(BasicBlock, [2, 2, 2, 2], options);
export const resnet34 = (options: ResNetOptions = {}): ResNet =>
  torchvisionResNet(BasicBlock, [3, 4, 6, 3], options);
export const resnet50 = (options: ResNetOptions = {}): ResNet =>
  torchvisionResNet(Bottleneck, [3, 4, 6, 3], options);

/**
 * He et al. (2016)'s CIFAR ResNet of depth 6n+2: three stages of n basic blocks, widths 16/32/64.
 * Shortcuts that change shape use a 1×1 convolution + batch norm (option B), so the model keeps
 * torchvision's `downsample` keys.
 */
function cifarResNet(depth: number, options: ResNetOptions): ResNet {
  const n = (depth - 2) / 6;
  return new ResNet(BasicBlock, [n, n, n], [16, 32, 64], 'cifar', options);
}

export const resnet20 = (options: ResNetOptions = {}): ResNet => cifarResNet(20, options);
export const resnet32 = (options: ResNetOptions = {}): ResNet => cifarResNet(32, options);
export const resnet44 = (options: ResNetOptions = {}): ResNet => cifarResNet(44, options);
export const resnet56 = (options: ResNetOptions = {}): ResNet => cifarResNet(56, options);
