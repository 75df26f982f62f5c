// PlainConvUNet as dynamic_network_architectures builds it, with the same module tree, so state-dict keys and shapes
// map 1:1 to nnU-Net checkpoints (including DNA's duplicate names: `all_modules.N` and `decoder.encoder.*`).
import { type Generator, type Tensor, cat, nn } from '../torch/index.js';
import type { UNetArchitecture } from './architecture.js';

class ConvDropoutNormReLU extends nn.Module {
  readonly conv: nn.Conv;
  readonly norm: nn.InstanceNorm;
  readonly nonlin: nn.LeakyReLU;
  readonly allModules: nn.Sequential;
  constructor(inCh: number, outCh: number, kernel: number[], stride: number[], arch: UNetArchitecture) {
    super();
    this.conv = this.registerModule('conv', new nn.Conv({ inChannels: inCh, outChannels: outCh, kernelSize: kernel, stride, padding: kernel.map((k) => (k - 1) >> 1), bias: arch.convBias }));
    this.norm = this.registerModule('norm', new nn.InstanceNorm(outCh, arch.normEps));
    this.nonlin = this.registerModule('nonlin', new nn.LeakyReLU(arch.leakySlope, arch.leakyInplace));
    this.allModules = this.registerModule('all_modules', new nn.Sequential([this.conv, this.norm, this.nonlin]));
  }
  forward(x: Tensor): Tensor {
    return this.allModules.forward(x);
  }
}

class StackedConvBlocks extends nn.Module {
  readonly convs: nn.Sequential;
  constructor(n: number, inCh: number, outCh: number, kernel: number[], firstStride: number[], arch: UNetArchitecture) {
    super();
    const ones = kernel.map(() => 1);
    const blocks = Array.from({ length: n }, (_, i) => new ConvDropoutNormReLU(i === 0 ? inCh : outCh, outCh, kernel, i === 0 ? firstStride : ones, arch));
    this.convs = this.registerModule('convs', new nn.Sequential(blocks));
  }
  forward(x: Tensor): Tensor {
    return this.convs.forward(x);
  }
}

class PlainConvEncoder extends nn.Module {
  readonly stages: nn.Sequential;
  constructor(arch: UNetArchitecture) {
    super();
    const stages = arch.featuresPerStage.map(
      (f, s) => new nn.Sequential([new StackedConvBlocks(arch.nConvPerStage[s], s === 0 ? arch.inputChannels : arch.featuresPerStage[s - 1], f, arch.kernelSizes[s], arch.strides[s], arch)]),
    );
    this.stages = this.registerModule('stages', new nn.Sequential(stages));
  }
  /** Every stage's output (the skips), bottleneck last. */
  forward(x: Tensor): Tensor[] {
    const skips: Tensor[] = [];
    let out = x;
    for (const stage of this.stages.layers) {
      out = stage.forward(out) as Tensor;
      skips.push(out);
    }
    return skips;
  }
}

class UNetDecoder extends nn.Module {
  readonly stages: nn.ModuleList<StackedConvBlocks>;
  readonly transpconvs: nn.ModuleList<nn.Conv>;
  readonly segLayers: nn.ModuleList<nn.Conv>;
  deepSupervision = true;
  constructor(encoder: PlainConvEncoder, arch: UNetArchitecture) {
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

export class PlainConvUNet extends nn.Module {
  readonly encoder: PlainConvEncoder;
  readonly decoder: UNetDecoder;
  constructor(readonly architecture: UNetArchitecture) {
    super();
    this.encoder = this.registerModule('encoder', new PlainConvEncoder(architecture));
    this.decoder = this.registerModule('decoder', new UNetDecoder(this.encoder, architecture));
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
