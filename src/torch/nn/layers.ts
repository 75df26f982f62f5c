// The layers nnU-Net's networks are built from. Parameter names and shapes equal torch.nn's.
import * as F from '../functional.js';
import { uniform_, type Generator } from '../random.js';
import { noGrad } from '../autograd.js';
import { empty, ones, zeros, type Tensor } from '../tensor.js';
import { fanIn } from './init.js';
import { Module } from './module.js';

export interface ConvConfig {
  inChannels: number;
  outChannels: number;
  kernelSize: number[];
  stride?: number[];
  padding?: number[];
  bias?: boolean;
  transposed?: boolean;
  generator?: Generator;
}

/** ConvNd / ConvTransposeNd (N = kernelSize.length) with torch's default init (kaiming_uniform a=√5, bias U(±1/√fan_in)). */
export class Conv extends Module {
  readonly config: Required<Omit<ConvConfig, 'generator'>>;
  constructor(config: ConvConfig) {
    super();
    const n = config.kernelSize.length;
    this.config = {
      inChannels: config.inChannels,
      outChannels: config.outChannels,
      kernelSize: config.kernelSize,
      stride: config.stride ?? new Array<number>(n).fill(1),
      padding: config.padding ?? new Array<number>(n).fill(0),
      bias: config.bias ?? true,
      transposed: config.transposed ?? false,
    };
    const [a, b] = this.config.transposed ? [config.inChannels, config.outChannels] : [config.outChannels, config.inChannels];
    const weight = empty([a, b, ...config.kernelSize]);
    const bound = 1 / Math.sqrt(fanIn(weight));
    noGrad(() => uniform_(weight, -bound, bound, config.generator));
    this.registerParameter('weight', weight);
    const bias = this.config.bias ? noGrad(() => uniform_(empty([config.outChannels]), -bound, bound, config.generator)) : null;
    this.registerParameter('bias', bias);
  }
  get weight(): Tensor {
    return this.param('weight') as Tensor;
  }
  get bias(): Tensor | null {
    return this.param('bias');
  }
  forward(x: Tensor): Tensor {
    const { stride, padding, transposed } = this.config;
    return transposed ? F.convTranspose(x, this.weight, this.bias, { stride, padding }) : F.conv(x, this.weight, this.bias, { stride, padding });
  }
}

/** InstanceNormNd(affine=True, track_running_stats=False): weight 1, bias 0, no buffers. */
export class InstanceNorm extends Module {
  constructor(readonly numFeatures: number, readonly eps = 1e-5) {
    super();
    this.registerParameter('weight', ones([numFeatures]));
    this.registerParameter('bias', zeros([numFeatures]));
  }
  get weight(): Tensor {
    return this.param('weight') as Tensor;
  }
  get bias(): Tensor {
    return this.param('bias') as Tensor;
  }
  forward(x: Tensor): Tensor {
    return F.instanceNorm(x, this.param('weight'), this.param('bias'), this.eps);
  }
}

/** AvgPoolNd(kernelSize, stride = kernelSize): torch's defaults otherwise (no padding, floor, padding counted). No parameters. */
export class AvgPool extends Module {
  constructor(
    readonly kernelSize: number[],
    readonly stride: number[] = kernelSize,
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return F.avgPool(x, this.kernelSize, { stride: this.stride });
  }
}

export class LeakyReLU extends Module {
  constructor(
    readonly negativeSlope = 0.01,
    readonly inplace = false,
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return this.inplace ? F.leakyRelu_(x, this.negativeSlope) : F.leakyRelu(x, this.negativeSlope);
  }
}

/** Children named "0", "1", ... like torch.nn.Sequential. */
export class Sequential extends Module {
  readonly layers: Module[];
  constructor(layers: Module[]) {
    super();
    this.layers = layers;
    layers.forEach((m, i) => this.registerModule(String(i), m));
  }
  /** Frees each intermediate as soon as the next layer has consumed it (autograd keeps what backward needs). */
  forward(x: Tensor): Tensor {
    let out = x;
    for (const m of this.layers) {
      const next = m.forward(out) as Tensor;
      if (out !== x && next !== out) out.dispose();
      out = next;
    }
    return out;
  }
}

/** Children named "0", "1", ... like torch.nn.ModuleList; not callable itself. */
export class ModuleList<M extends Module = Module> extends Module {
  readonly items: M[];
  constructor(items: M[]) {
    super();
    this.items = items;
    items.forEach((m, i) => this.registerModule(String(i), m));
  }
  get length(): number {
    return this.items.length;
  }
  at(i: number): M {
    return this.items[i];
  }
  forward(): Tensor {
    throw new Error('ModuleList is a container: call its items');
  }
}
