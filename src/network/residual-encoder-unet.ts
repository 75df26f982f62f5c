// ResidualEncoderUNet (nnU-Net's ResEnc presets) as dynamic_network_architectures builds it: architectures/unet.py
// ResidualEncoderUNet = building_blocks/residual_encoders.py ResidualEncoder (non-strided conv stem, then one
// StackedResidualBlocks of BasicBlockD per stage) + the shared UNetDecoder. Same module tree, so checkpoint keys such as
// `encoder.stem.convs.0.conv.weight`, `encoder.stages.1.blocks.0.skip.1.norm.weight` and their `decoder.encoder.*`
// duplicates load 1:1.
import { type Generator, type Tensor, nn } from '../torch/index.js';
import type { ResidualEncoderUNetArchitecture, UNetCommonArchitecture } from './architecture.js';
import { ConvDropoutNormReLU, EncoderDecoderUNet, SkipEncoder, StackedBlocks, StackedConvBlocks, runStages } from './unet-blocks.js';

/**
 * ResNet-D basic block (building_blocks/residual.py): conv1 (conv-norm-nonlin, carries the stride), conv2 (conv-norm),
 * plus the skip, then the nonlin. The skip is AvgPool(kernel = stride = the block's stride) where the block strides and a 1×1
 * conv (no bias) + norm where the channels change; with neither it is the identity (DNA's nn.Identity has no keys).
 */
export class BasicBlockD extends nn.Module {
  readonly conv1: ConvDropoutNormReLU;
  readonly conv2: ConvDropoutNormReLU;
  readonly nonlin2: nn.LeakyReLU;
  readonly skip: nn.Sequential | null;
  constructor(inCh: number, outCh: number, kernel: number[], stride: number[], arch: UNetCommonArchitecture) {
    super();
    const ones = kernel.map(() => 1);
    this.conv1 = this.registerModule('conv1', new ConvDropoutNormReLU(inCh, outCh, kernel, stride, arch));
    this.conv2 = this.registerModule('conv2', new ConvDropoutNormReLU(outCh, outCh, kernel, ones, arch, { nonlin: false }));
    this.nonlin2 = this.registerModule('nonlin2', new nn.LeakyReLU(arch.leakySlope, arch.leakyInplace));
    const ops: nn.Module[] = [];
    if (stride.some((s) => s !== 1)) ops.push(new nn.AvgPool(stride, stride));
    if (inCh !== outCh) ops.push(new ConvDropoutNormReLU(inCh, outCh, ones, ones, arch, { bias: false, nonlin: false }));
    this.skip = ops.length ? this.registerModule('skip', new nn.Sequential(ops)) : null;
  }
  forward(x: Tensor): Tensor {
    const residual = this.skip ? this.skip.forward(x) : x;
    const h = this.conv1.forward(x);
    const out = this.conv2.forward(h);
    h.dispose();
    // in place, as DNA's `out += residual`: no extra activation-sized tensor
    out.add_(residual);
    if (residual !== x) residual.dispose();
    const y = this.nonlin2.forward(out);
    if (y !== out) out.dispose();
    return y;
  }
}

/** n BasicBlockD under `blocks.N`. */
export class StackedResidualBlocks extends StackedBlocks {
  constructor(n: number, inCh: number, outCh: number, kernel: number[], firstStride: number[], arch: UNetCommonArchitecture) {
    super('blocks', n, inCh, outCh, firstStride, (i, o, stride) => new BasicBlockD(i, o, kernel, stride, arch));
  }
}

/** The stem (one conv block, stride 1, to features_per_stage[0]) then the residual stages (DNA's pool_type 'conv'). */
export class ResidualEncoder extends SkipEncoder {
  readonly stem: StackedConvBlocks;
  readonly stages: nn.Sequential;
  constructor(arch: ResidualEncoderUNetArchitecture) {
    super();
    const f = arch.featuresPerStage;
    this.stem = this.registerModule('stem', new StackedConvBlocks(1, arch.inputChannels, f[0], arch.kernelSizes[0], arch.kernelSizes[0].map(() => 1), arch));
    const stages = f.map((ch, s) => new StackedResidualBlocks(arch.nBlocksPerStage[s], s === 0 ? f[0] : f[s - 1], ch, arch.kernelSizes[s], arch.strides[s], arch));
    this.stages = this.registerModule('stages', new nn.Sequential(stages));
  }
  /** Every stage's output (the skips), bottleneck last; the stem's output is not a skip. */
  forward(x: Tensor): Tensor[] {
    const stem = this.stem.forward(x);
    const skips = runStages(this.stages, stem);
    stem.dispose();
    return skips;
  }
}

export class ResidualEncoderUNet extends EncoderDecoderUNet<ResidualEncoder, ResidualEncoderUNetArchitecture> {
  constructor(architecture: ResidualEncoderUNetArchitecture) {
    super(architecture, new ResidualEncoder(architecture));
  }

  /** DNA's initialize: InitWeights_He(1e-2), then init_last_bn_before_add_to_0 (conv2's norm weight and bias to 0). */
  override initialize(generator: Generator): this {
    super.initialize(generator);
    for (const [, m] of this.namedModules()) {
      if (!(m instanceof BasicBlockD)) continue;
      nn.zeros_(m.conv2.norm.weight);
      nn.zeros_(m.conv2.norm.bias);
    }
    return this;
  }
}
