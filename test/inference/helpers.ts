/** Shared pieces of the inference tests: tiny networks and the Python restatement of nnU-Net's sliding window. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { architectureFromPlans } from '../../src/network/architecture.js';
import { PlainConvUNet } from '../../src/network/plain-conv-unet.js';
import { Generator, type Tensor, nn } from '../../src/torch/index.js';
import { type Exchange, runTorch } from '../torch/torch-reference.js';

export const NNUNET_REFERENCE = readFileSync(fileURLToPath(new URL('./nnunet_reference.py', import.meta.url)), 'utf8');

/** Runs `script` after the reference functions (see nnunet_reference.py). */
export function runReference(script: string, inputs: Record<string, Exchange> = {}): Record<string, Exchange> {
  return runTorch(`${NNUNET_REFERENCE}\n${script}`, inputs);
}

/** Small plans-style arch kwargs: 3 stages of 4-16 features (3D) or 2D with the same layout. */
export function tinyArchKwargs(dims: 2 | 3) {
  const k = new Array<number>(dims).fill(3);
  const s1 = new Array<number>(dims).fill(1);
  const s2 = new Array<number>(dims).fill(2);
  return {
    n_stages: 3,
    features_per_stage: [4, 8, 16],
    kernel_sizes: [k, k, k],
    strides: [s1, s2, s2],
    n_conv_per_stage: [1, 1, 1],
    n_conv_per_stage_decoder: [1, 1],
    conv_bias: true,
  };
}

/** A randomly initialised (He init, seeded) PlainConvUNet without deep supervision, in eval mode. */
export function tinyUNet(dims: 2 | 3, inputChannels: number, numClasses: number, seed = 0): PlainConvUNet {
  const net = new PlainConvUNet(architectureFromPlans(tinyArchKwargs(dims), inputChannels, numClasses)).initialize(new Generator(seed));
  net.deepSupervision = false;
  return net.eval();
}

/** One "same"-padded convolution: a network whose every tile sees zero padding at its border. */
export class ConvNet extends nn.Module {
  readonly conv: nn.Conv;
  constructor(inChannels: number, outChannels: number, kernel: number[], seed = 0) {
    super();
    this.conv = this.registerModule('conv', new nn.Conv({ inChannels, outChannels, kernelSize: kernel, padding: kernel.map((k) => k >> 1), generator: new Generator(seed) }));
  }
  forward(x: Tensor): Tensor[] {
    return [this.conv.forward(x)];
  }
}

/** The Python lines that rebuild a ConvNet with the same weights (inputs `w`, `b`). */
export const PY_CONV_NET = `
_w, _b = inp['w'], inp['b']
_pad = [k // 2 for k in _w.shape[2:]]
_conv = torch.nn.functional.conv3d if _w.ndim == 5 else torch.nn.functional.conv2d
net = lambda t: _conv(t, _w, _b, padding=_pad)
`;
