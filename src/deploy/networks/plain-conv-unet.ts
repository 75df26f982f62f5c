// PlainConvUNet's ONNX graph: one StackedConvBlocks per encoder stage (the first conv strides), then the decoder.
import { PlainConvUNet } from '../../network/plain-conv-unet.js';
import { registerOnnxNetwork } from '../onnx-network-registry.js';
import { decoder, stackedConvs } from './unet.js';

registerOnnxNetwork({
  className: 'PlainConvUNet',
  emit(g, network, input) {
    if (!(network instanceof PlainConvUNet)) throw new Error('PlainConvUNet export got another network');
    const arch = network.architecture;
    const skips: string[] = [];
    let x = input;
    arch.featuresPerStage.forEach((_, s) => {
      x = stackedConvs(g, `encoder.stages.${s}.0`, x, arch.nConvPerStage[s], arch.kernelSizes[s], arch.strides[s], arch);
      skips.push(x);
    });
    return decoder(g, arch, skips);
  },
});
