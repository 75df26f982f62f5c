// The pieces both U-Nets share, as ONNX nodes named by their state-dict prefixes (src/network/unet-blocks.ts):
// conv → instance norm → LeakyReLU blocks, stacks of them, and the UNetDecoder without deep supervision.
import type { UNetCommonArchitecture } from '../../network/architecture.js';
import type { GraphBuilder } from '../onnx-graph.js';

/** ConvDropoutNormReLU at `prefix` (conv, norm, nonlin unless `nonlin` is false). */
export function convBlock(g: GraphBuilder, prefix: string, x: string, kernel: readonly number[], stride: readonly number[], arch: UNetCommonArchitecture, nonlin = true): string {
  const conv = g.conv(`${prefix}.conv`, x, kernel, stride);
  const norm = g.instanceNorm(`${prefix}.norm`, conv, arch.normEps);
  return nonlin ? g.leakyRelu(`${prefix}.nonlin`, norm, arch.leakySlope) : norm;
}

/** StackedConvBlocks at `prefix`: n blocks under `convs.i`, only the first strided. */
export function stackedConvs(g: GraphBuilder, prefix: string, x: string, n: number, kernel: readonly number[], firstStride: readonly number[], arch: UNetCommonArchitecture): string {
  let out = x;
  for (let i = 0; i < n; i++) out = convBlock(g, `${prefix}.convs.${i}`, out, kernel, i === 0 ? firstStride : kernel.map(() => 1), arch);
  return out;
}

/** UNetDecoder over the encoder's skips (bottleneck last): the full-resolution logits only. */
export function decoder(g: GraphBuilder, arch: UNetCommonArchitecture, skips: readonly string[]): string {
  const n = arch.featuresPerStage.length;
  if (n < 2) throw new Error('a U-Net needs at least 2 stages to export');
  let x = skips[n - 1];
  for (let s = 0; s < n - 1; s++) {
    const up = g.convTranspose(`decoder.transpconvs.${s}`, x, arch.strides[n - 1 - s]);
    const merged = g.concatChannels(`decoder.concat.${s}`, up, skips[n - s - 2]);
    const kernel = arch.kernelSizes[n - s - 2];
    x = stackedConvs(g, `decoder.stages.${s}`, merged, arch.nConvPerStageDecoder[s], kernel, kernel.map(() => 1), arch);
  }
  const ones = arch.kernelSizes[0].map(() => 1);
  return g.conv(`decoder.seg_layers.${n - 2}`, x, ones, ones);
}
