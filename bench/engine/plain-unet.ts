/**
 * A plain U-Net of nnU-Net's shape (stages of (conv 3×3[×3], instance norm, leaky ReLU)×2, strided-conv down,
 * transposed-conv up, skip concatenation, 1×1 segmentation head on the top output), built from the engine's modules.
 * Used by the engine benchmark and the engine's memory test; bench/engine/train_step_ref.py builds the same network.
 */
import { type Generator, type Tensor, cat, nn } from '../../src/torch/index.js';

export interface PlainUNetConfig {
  spatialDims: 2 | 3;
  inChannels: number;
  numClasses: number;
  features: number[];
  generator?: Generator;
}

class ConvBlock extends nn.Sequential {
  constructor(dims: number, inC: number, outC: number, firstStride: number, generator?: Generator) {
    const layer = (i: number, o: number, stride: number) => [
      new nn.Conv({ inChannels: i, outChannels: o, kernelSize: Array(dims).fill(3), stride: Array(dims).fill(stride), padding: Array(dims).fill(1), generator }),
      new nn.InstanceNorm(o),
      new nn.LeakyReLU(0.01),
    ];
    super([...layer(inC, outC, firstStride), ...layer(outC, outC, 1)]);
  }
}

export class PlainUNet extends nn.Module {
  private readonly encoder: nn.ModuleList<ConvBlock>;
  private readonly up: nn.ModuleList<nn.Conv>;
  private readonly decoder: nn.ModuleList<ConvBlock>;
  private readonly head: nn.Conv;

  constructor(c: PlainUNetConfig) {
    super();
    const { spatialDims: d, features: f, generator } = c;
    this.encoder = this.registerModule('encoder', new nn.ModuleList(f.map((o, i) => new ConvBlock(d, i === 0 ? c.inChannels : f[i - 1], o, i === 0 ? 1 : 2, generator))));
    const decoderStages = f.slice(0, -1).map((_, s) => f.length - 2 - s); // deepest first
    this.up = this.registerModule('up', new nn.ModuleList(decoderStages.map((s) =>
      new nn.Conv({ inChannels: f[s + 1], outChannels: f[s], kernelSize: Array(d).fill(2), stride: Array(d).fill(2), transposed: true, generator }))));
    this.decoder = this.registerModule('decoder', new nn.ModuleList(decoderStages.map((s) => new ConvBlock(d, 2 * f[s], f[s], 1, generator))));
    this.head = this.registerModule('head', new nn.Conv({ inChannels: f[0], outChannels: c.numClasses, kernelSize: Array(d).fill(1), generator }));
    // nnU-Net's initialization: kaiming normal (a = 0.01) conv weights, zero biases (instance norm's already are)
    for (const [name, p] of this.namedParameters()) {
      if (p.ndim > 2) nn.kaimingNormal_(p, 0.01, generator);
      else if (name.endsWith('bias')) nn.zeros_(p);
    }
  }

  forward(x: Tensor): Tensor {
    const skips: Tensor[] = [];
    let h = x;
    for (const stage of this.encoder.items) {
      h = stage.forward(h);
      skips.push(h);
    }
    h = skips.pop() as Tensor;
    for (let i = 0; i < this.up.length; i++) {
      h = this.decoder.at(i).forward(cat([this.up.at(i).forward(h), skips.pop() as Tensor], 1));
    }
    return this.head.forward(h);
  }
}
