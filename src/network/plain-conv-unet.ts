// PlainConvUNet as dynamic_network_architectures builds it, with the same module tree, so state-dict keys and shapes
// map 1:1 to nnU-Net checkpoints (including DNA's duplicate names: `all_modules.N` and `decoder.encoder.*`).
import { type Tensor, nn } from '../torch/index.js';
import type { UNetArchitecture } from './architecture.js';
import { EncoderDecoderUNet, SkipEncoder, StackedConvBlocks, runStages } from './unet-blocks.js';

class PlainConvEncoder extends SkipEncoder {
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
    return runStages(this.stages, x);
  }
}

export class PlainConvUNet extends EncoderDecoderUNet<PlainConvEncoder, UNetArchitecture> {
  constructor(architecture: UNetArchitecture) {
    super(architecture, new PlainConvEncoder(architecture));
  }
}
