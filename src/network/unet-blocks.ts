// The pieces dynamic_network_architectures' U-Nets share (building_blocks/simple_conv_blocks.py ConvDropoutNormReLU
// and StackedConvBlocks, building_blocks/unet_decoder.py UNetDecoder) and the encoder-decoder shell around them, with
// DNA's module names, so state-dict keys and shapes map 1:1 to nnU-Net checkpoints.
import { type Generator, type Tensor, cat, nn } from '../torch/index.js';
import type { UNetCommonArchitecture } from './architecture.js';

/** conv → norm → LeakyReLU (the nonlin left out where DNA passes nonlin=None), also reachable as `all_modules.N`. */
export class ConvDropoutNormReLU extends nn.Module {
  readonly conv: nn.Conv;
  readonly norm: nn.InstanceNorm;
  readonly nonlin: nn.LeakyReLU | null;
  readonly allModules: nn.Sequential;
  constructor(inCh: number, outCh: number, kernel: number[], stride: number[], arch: UNetCommonArchitecture, variant: { bias?: boolean; nonlin?: boolean } = {}) {
    super();
    const bias = variant.bias ?? arch.convBias;
    this.conv = this.registerModule('conv', new nn.Conv({ inChannels: inCh, outChannels: outCh, kernelSize: kernel, stride, padding: kernel.map((k) => (k - 1) >> 1), bias }));
    this.norm = this.registerModule('norm', new nn.InstanceNorm(outCh, arch.normEps));
    this.nonlin = (variant.nonlin ?? true) ? this.registerModule('nonlin', new nn.LeakyReLU(arch.leakySlope, arch.leakyInplace)) : null;
    this.allModules = this.registerModule('all_modules', new nn.Sequential(this.nonlin ? [this.conv, this.norm, this.nonlin] : [this.conv, this.norm]));
  }
  forward(x: Tensor): Tensor {
    return this.allModules.forward(x);
  }
}

/** DNA's Stacked*Blocks: n blocks in a Sequential under `name`; only the first strides and changes the channels. */
export abstract class StackedBlocks extends nn.Module {
  protected readonly stack: nn.Sequential;
  protected constructor(name: string, n: number, inCh: number, outCh: number, firstStride: number[], make: (inCh: number, outCh: number, stride: number[]) => nn.Module) {
    super();
    const ones = firstStride.map(() => 1);
    this.stack = this.registerModule(name, new nn.Sequential(Array.from({ length: n }, (_, i) => make(i === 0 ? inCh : outCh, outCh, i === 0 ? firstStride : ones))));
  }
  forward(x: Tensor): Tensor {
    return this.stack.forward(x);
  }
}

export class StackedConvBlocks extends StackedBlocks {
  constructor(n: number, inCh: number, outCh: number, kernel: number[], firstStride: number[], arch: UNetCommonArchitecture) {
    super('convs', n, inCh, outCh, firstStride, (i, o, stride) => new ConvDropoutNormReLU(i, o, kernel, stride, arch));
  }
}

/** Runs the encoder stages in turn and returns every stage's output (the skips), bottleneck last. */
export function runStages(stages: nn.Sequential, x: Tensor): Tensor[] {
  const skips: Tensor[] = [];
  let out = x;
  for (const stage of stages.layers) {
    out = stage.forward(out) as Tensor;
    skips.push(out);
  }
  return skips;
}

export class UNetDecoder extends nn.Module {
  readonly stages: nn.ModuleList<StackedConvBlocks>;
  readonly transpconvs: nn.ModuleList<nn.Conv>;
  readonly segLayers: nn.ModuleList<nn.Conv>;
  deepSupervision = true;
  /** DNA's decoder holds the encoder as a submodule, so checkpoints carry `decoder.encoder.*` copies of its keys. */
  constructor(encoder: nn.Module, arch: UNetCommonArchitecture) {
    super();
    this.registerModule('encoder', encoder);
    const f = arch.featuresPerStage;
    const n = f.length;
    const stages: StackedConvBlocks[] = [];
    const transp: nn.Conv[] = [];
    const seg: nn.Conv[] = [];
    for (let s = 1; s < n; s++) {
      const below = f[n - s];
      const skip = f[n - s - 1];
      const stride = arch.strides[n - s];
      transp.push(new nn.Conv({ inChannels: below, outChannels: skip, kernelSize: stride, stride, bias: arch.convBias, transposed: true }));
      stages.push(new StackedConvBlocks(arch.nConvPerStageDecoder[s - 1], 2 * skip, skip, arch.kernelSizes[n - s - 1], stride.map(() => 1), arch));
      seg.push(new nn.Conv({ inChannels: skip, outChannels: arch.numClasses, kernelSize: stride.map(() => 1), bias: true }));
    }
    this.stages = this.registerModule('stages', new nn.ModuleList(stages));
    this.transpconvs = this.registerModule('transpconvs', new nn.ModuleList(transp));
    this.segLayers = this.registerModule('seg_layers', new nn.ModuleList(seg));
  }
  /** Segmentation outputs, highest resolution first (all of them with deep supervision, else only the top one). */
  forward(...skips: Tensor[]): Tensor[] {
    let x = skips[skips.length - 1];
    const outputs: Tensor[] = [];
    const n = this.stages.length;
    for (let s = 0; s < n; s++) {
      const up = this.transpconvs.at(s).forward(x);
      const merged = cat([up, skips[skips.length - s - 2]], 1);
      up.dispose();
      // intermediates are freed as soon as they are consumed (autograd holds its own references)
      if (s > 0) x.dispose();
      x = this.stages.at(s).forward(merged);
      merged.dispose();
      if (this.deepSupervision || s === n - 1) outputs.push(this.segLayers.at(s).forward(x));
    }
    if (n > 0) x.dispose();
    return outputs.reverse();
  }
}

/** An encoder whose forward returns every stage's output, bottleneck last. */
export abstract class SkipEncoder extends nn.Module {
  abstract override forward(x: Tensor): Tensor[];
}

/** DNA's U-Net shell: `encoder` and a UNetDecoder over it, forward = decoder(encoder(x)), InitWeights_He(1e-2). */
export abstract class EncoderDecoderUNet<E extends SkipEncoder, A extends UNetCommonArchitecture> extends nn.Module {
  readonly encoder: E;
  readonly decoder: UNetDecoder;
  protected constructor(
    readonly architecture: A,
    encoder: E,
  ) {
    super();
    this.encoder = this.registerModule('encoder', encoder);
    this.decoder = this.registerModule('decoder', new UNetDecoder(encoder, architecture));
  }

  get deepSupervision(): boolean {
    return this.decoder.deepSupervision;
  }
  set deepSupervision(on: boolean) {
    this.decoder.deepSupervision = on;
  }

  /** Logits: with deep supervision a list (full resolution first), else a one-element list. */
  forward(x: Tensor): Tensor[] {
    const skips = this.encoder.forward(x);
    const outputs = this.decoder.forward(...skips);
    for (const s of skips) s.dispose();
    return outputs;
  }

  /** nnU-Net's InitWeights_He(1e-2): kaiming_normal_(a=0.01) on every conv and transposed conv weight, zero biases. */
  initialize(generator: Generator): this {
    const seen = new Set<nn.Module>();
    for (const [, m] of this.namedModules()) {
      if (!(m instanceof nn.Conv) || seen.has(m)) continue;
      seen.add(m);
      nn.kaimingNormal_(m.weight, 1e-2, generator);
      if (m.bias) nn.zeros_(m.bias);
    }
    return this;
  }
}
