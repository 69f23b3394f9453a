/**
 * Layers with `torch.nn`'s parameter names and default initialisation. Forward passes free their
 * intermediates as soon as they are consumed (autograd keeps what it needs): holding them until
 * backward measured 15-40% slower.
 */
import {
  F,
  empty,
  isAutocastEnabled,
  isGradEnabled,
  noGrad,
  ones,
  tidy,
  Tensor,
  TensorArgumentError,
  zeros,
} from '../tensor/index.js';
import { Module } from './module.js';

type Pair = number | [number, number];

function pair(v: Pair): [number, number] {
  return typeof v === 'number' ? [v, v] : v;
}

/** U(-bound, bound), PyTorch's default for conv and linear layers (kaiming_uniform with a=√5). */
function uniformInit(shape: number[], fanIn: number): Tensor {
  const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
  return noGrad(() => empty(shape).uniform_(-bound, bound));
}

/** A layer with a `weight` and an optional `bias`, initialised as PyTorch's conv and linear layers. */
abstract class WeightedLayer extends Module {
  /** Registers `weight` of `shape` and, unless `bias` is false, a `bias` of `shape[0]` entries. */
  protected registerWeightAndBias(shape: number[], fanIn: number, bias: boolean): void {
    this.registerParameter('weight', uniformInit(shape, fanIn));
    this.registerParameter('bias', bias ? uniformInit([shape[0]], fanIn) : null);
  }

  get weight(): Tensor {
    return this.param('weight') as Tensor;
  }

  get bias(): Tensor | null {
    return this.param('bias');
  }
}

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
}

export class Conv2d extends WeightedLayer {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;

  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: Pair,
    options: Conv2dOptions = {},
  ) {
    super();
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = pair(kernelSize);
    this.stride = pair(options.stride ?? 1);
    this.padding = pair(options.padding ?? 0);
    this.dilation = pair(options.dilation ?? 1);
    this.groups = options.groups ?? 1;
    if (inChannels % this.groups !== 0 || outChannels % this.groups !== 0) {
      throw new TensorArgumentError(
        `Conv2d: channels (${inChannels}, ${outChannels}) must be divisible by groups ${this.groups}`,
      );
    }
    const fanIn = (inChannels / this.groups) * this.kernelSize[0] * this.kernelSize[1];
    this.registerWeightAndBias(
      [outChannels, inChannels / this.groups, ...this.kernelSize],
      fanIn,
      options.bias !== false,
    );
  }

  forward(x: Tensor): Tensor {
    return this.convolve(x, this.weight, this.bias);
  }

  /** This layer's convolution (stride, padding, ...) with another weight and bias. */
  convolve(x: Tensor, weight: Tensor, bias: Tensor | null): Tensor {
    return F.conv2d(x, weight, bias, {
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
      groups: this.groups,
    });
  }
}

export class Linear extends WeightedLayer {
  readonly inFeatures: number;
  readonly outFeatures: number;

  constructor(inFeatures: number, outFeatures: number, options: { bias?: boolean } = {}) {
    super();
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.registerWeightAndBias([outFeatures, inFeatures], inFeatures, options.bias !== false);
  }

  forward(x: Tensor): Tensor {
    return F.linear(x, this.weight, this.bias);
  }
}

export interface BatchNormOptions {
  eps?: number;
  /** Running-statistics momentum; null means a cumulative average (PyTorch's momentum=None). */
  momentum?: number | null;
  affine?: boolean;
  trackRunningStats?: boolean;
}

export class BatchNorm2d extends Module {
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number | null;
  readonly trackRunningStats: boolean;

  constructor(numFeatures: number, options: BatchNormOptions = {}) {
    super();
    this.numFeatures = numFeatures;
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum === undefined ? 0.1 : options.momentum;
    this.trackRunningStats = options.trackRunningStats ?? true;
    const affine = options.affine ?? true;
    this.registerParameter('weight', affine ? ones([numFeatures]) : null);
    this.registerParameter('bias', affine ? zeros([numFeatures]) : null);
    if (this.trackRunningStats) {
      this.registerBuffer('running_mean', zeros([numFeatures]));
      this.registerBuffer('running_var', ones([numFeatures]));
      this.registerBuffer('num_batches_tracked', zeros([], { dtype: 'int64' }));
    }
  }

  forward(x: Tensor): Tensor {
    if (x.ndim !== 4)
      throw new TensorArgumentError(
        `BatchNorm2d: expected input [N, C, H, W] but received [${x.shape}]`,
      );
    let momentum = this.momentum ?? 0;
    if (this.training && this.trackRunningStats) {
      const tracked = this.buffer('num_batches_tracked') as Tensor;
      noGrad(() => tracked.add_(1));
      if (this.momentum === null) momentum = 1 / tracked.item();
    }
    return F.batchNorm(x, this.buffer('running_mean'), this.buffer('running_var'), {
      weight: this.param('weight'),
      bias: this.param('bias'),
      training: this.usesBatchStats,
      momentum,
      eps: this.eps,
    });
  }

  /** Whether `forward` normalizes by the batch's own statistics (training mode, or none kept). */
  get usesBatchStats(): boolean {
    return this.training || !this.trackRunningStats;
  }

  /**
   * The eval-mode norm as `x·scale + shift` per channel (`scale = γ/√(σ² + ε)`, `shift = β −
   * μ·scale`), differentiable in γ and β. Needs running statistics.
   */
  affine(): { scale: Tensor; shift: Tensor } {
    const mean = this.buffer('running_mean');
    const variance = this.buffer('running_var');
    if (!mean || !variance)
      throw new TensorArgumentError('BatchNorm2d.affine: the norm tracks no running statistics');
    return tidy(() => {
      const gamma = this.param('weight');
      const beta = this.param('bias');
      const inv = variance.add(this.eps).rsqrt();
      const scale = gamma ? inv.mul(gamma) : inv;
      const shifted = mean.mul(scale).neg();
      return { scale, shift: beta ? shifted.add(beta) : shifted };
    });
  }
}

/**
 * `bn(conv(x))`, where it is faster with the norm folded into the convolution: an eval-mode norm
 * (running statistics) under autograd and autocast. There the norm's own passes over the
 * activations cost 12% of an sRFL step (bf16 channels-last on the CPU; its student trains in eval
 * mode; README, Benchmarks), and `foldedConvBatchNorm` saves them. Everywhere else the two layers
 * run as written, as in PyTorch: in training mode there is nothing to fold; in float32 the fold
 * measured no faster (182.8 against 182.6 ms for the same step), nor without autograd
 * (prediction: 20.1 against 20.2 ms at batch 128, bf16), so those results stay bit for bit what
 * they were; and a layer with a forward hook must produce its own output.
 */
export function convBatchNorm(conv: Conv2d, bn: BatchNorm2d, x: Tensor): Tensor {
  const fold =
    !bn.usesBatchStats &&
    isGradEnabled() &&
    isAutocastEnabled(x.device) &&
    !conv.hasForwardHooks() &&
    !bn.hasForwardHooks();
  if (fold) return foldedConvBatchNorm(conv, bn, x);
  const y = conv.forward(x);
  const out = bn.forward(y);
  y.dispose();
  return out;
}

/**
 * An eval-mode `bn(conv(x))` as one convolution: weight `W·s` and bias `β + (c − μ)·s`, where
 * `s = γ/√(σ² + ε)` and `c` is the convolution's bias (0 without), computed from the parameters on
 * every call so that their gradients flow (PyTorch Inductor's `efficient_conv_bn_eval`, after
 * "Tune-Mode ConvBN Blocks", arXiv 2305.11624). Equal to the two layers up to float rounding.
 */
export function foldedConvBatchNorm(conv: Conv2d, bn: BatchNorm2d, x: Tensor): Tensor {
  if (bn.numFeatures !== conv.outChannels) {
    throw new TensorArgumentError(
      `foldedConvBatchNorm: the batch norm has ${bn.numFeatures} features but the convolution ${conv.outChannels} output channels`,
    );
  }
  return tidy(() => {
    const { scale, shift } = bn.affine();
    const weight = conv.weight.mul(scale.reshape([-1, 1, 1, 1]));
    const bias = conv.bias ? conv.bias.mul(scale).add(shift) : shift;
    return conv.convolve(x, weight, bias);
  });
}

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return x.relu();
  }
}

export class Identity extends Module {
  /** Returns a new handle to the same tensor, so callers may dispose input and output alike. */
  forward(x: Tensor): Tensor {
    return x.view(x.shape);
  }
}

export class Flatten extends Module {
  constructor(
    readonly startDim = 1,
    readonly endDim = -1,
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    return x.flatten(this.startDim, this.endDim);
  }
}

export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
  }

  forward(x: Tensor): Tensor {
    return F.dropout(x, this.p, this.training);
  }
}

export class MaxPool2d extends Module {
  constructor(
    readonly kernelSize: Pair,
    readonly options: F.MaxPool2dOptions = {},
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    return F.maxPool2d(x, this.kernelSize, this.options);
  }
}

export class AvgPool2d extends Module {
  constructor(
    readonly kernelSize: Pair,
    readonly options: F.AvgPool2dOptions = {},
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    return F.avgPool2d(x, this.kernelSize, this.options);
  }
}

export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: Pair) {
    super();
  }

  forward(x: Tensor): Tensor {
    return F.adaptiveAvgPool2d(x, this.outputSize);
  }
}

/** Children named '0', '1', ...; forward chains them, freeing each intermediate. */
export class Sequential extends Module {
  private readonly layers: Module[];

  constructor(...layers: Module[]) {
    super();
    this.layers = layers;
    layers.forEach((layer, i) => this.registerModule(String(i), layer));
  }

  get length(): number {
    return this.layers.length;
  }

  at(i: number): Module {
    return this.layers[i];
  }

  /** Chains the layers; a convolution followed by a batch norm runs as `convBatchNorm`. */
  forward(x: Tensor): Tensor {
    let out = x;
    for (let i = 0; i < this.layers.length; i++) {
      const layer = this.layers[i];
      const norm = this.layers[i + 1];
      let next: Tensor;
      if (layer instanceof Conv2d && norm instanceof BatchNorm2d) {
        next = convBatchNorm(layer, norm, out);
        i++;
      } else {
        next = layer.forward(out);
      }
      if (out !== x) out.dispose();
      out = next;
    }
    return out === x ? x.view(x.shape) : out;
  }
}
