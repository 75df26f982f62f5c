// ResidualEncoderUNet's ONNX graph: the stem, then per stage BasicBlockD residual blocks (conv1 → conv2 + skip →
// LeakyReLU; the skip average-pools where the block strides and projects where the channels change), then the decoder.
import type { UNetCommonArchitecture } from '../../network/architecture.js';
import { ResidualEncoderUNet } from '../../network/residual-encoder-unet.js';
import type { GraphBuilder } from '../onnx-graph.js';
import { registerOnnxNetwork } from '../onnx-network-registry.js';
import { convBlock, decoder, stackedConvs } from './unet.js';

function basicBlock(g: GraphBuilder, prefix: string, x: string, inCh: number, outCh: number, kernel: readonly number[], stride: readonly number[], arch: UNetCommonArchitecture): string {
  const ones = kernel.map(() => 1);
  let residual = x;
  let skipIndex = 0;
  if (stride.some((s) => s !== 1)) residual = g.averagePool(`${prefix}.skip.${skipIndex++}`, residual, stride);
  if (inCh !== outCh) residual = convBlock(g, `${prefix}.skip.${skipIndex}`, residual, ones, ones, arch, false);
  const h = convBlock(g, `${prefix}.conv1`, x, kernel, stride, arch);
  const out = convBlock(g, `${prefix}.conv2`, h, kernel, ones, arch, false);
  return g.leakyRelu(`${prefix}.nonlin2`, g.add(`${prefix}.add`, out, residual), arch.leakySlope);
}

registerOnnxNetwork({
  className: 'ResidualEncoderUNet',
  emit(g, network, input) {
    if (!(network instanceof ResidualEncoderUNet)) throw new Error('ResidualEncoderUNet export got another network');
    const arch = network.architecture;
    const f = arch.featuresPerStage;
    let x = stackedConvs(g, 'encoder.stem', input, 1, arch.kernelSizes[0], arch.kernelSizes[0].map(() => 1), arch);
    const skips: string[] = [];
    f.forEach((ch, s) => {
      for (let b = 0; b < arch.nBlocksPerStage[s]; b++) {
        const inCh = b > 0 ? ch : s === 0 ? f[0] : f[s - 1];
        const stride = b === 0 ? arch.strides[s] : arch.strides[s].map(() => 1);
        x = basicBlock(g, `encoder.stages.${s}.blocks.${b}`, x, inCh, ch, arch.kernelSizes[s], stride, arch);
      }
      skips.push(x);
    });
    return decoder(g, arch, skips);
  },
});
