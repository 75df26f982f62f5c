// The tiny 3-stage PlainConvUNet (4→16 features) that training-step tests run one step of, in train mode with deep
// supervision, initialised from `g`.
import { architectureFromPlans } from '../../src/network/architecture.js';
import { PlainConvUNet } from '../../src/network/plain-conv-unet.js';
import type { Generator } from '../../src/torch/index.js';

export function tinyTrainingUNet(dims: 2 | 3, numClasses: number, g: Generator): PlainConvUNet {
  const k = Array<number>(dims).fill(3);
  const down = Array<number>(dims).fill(2);
  const arch = {
    n_stages: 3,
    features_per_stage: [4, 8, 16],
    kernel_sizes: [k, k, k],
    strides: [Array<number>(dims).fill(1), down, down],
    n_conv_per_stage: [2, 2, 2],
    n_conv_per_stage_decoder: [2, 2],
    conv_bias: true,
    nonlin_kwargs: { inplace: true },
  };
  const net = new PlainConvUNet(architectureFromPlans(arch, 1, numClasses)).initialize(g);
  net.train();
  net.deepSupervision = true;
  return net;
}
