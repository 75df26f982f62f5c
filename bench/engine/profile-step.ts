// A fixed number of bench/engine/train-step.ts's steps without timing, as a target for `perf record`.
// usage: node --import tsx bench/engine/profile-step.ts [2|3] [steps]
import { F, Generator, keep, optim, randint, randn, tidy } from '../../src/torch/index.js';
import { PlainUNet } from './plain-unet.js';

const dims = Number(process.argv[2] ?? 2) as 2 | 3;
const steps = Number(process.argv[3] ?? 4);
const [size, batch] = dims === 2 ? [128, 12] : [64, 2];
const g = new Generator(0);
const net = new PlainUNet({ spatialDims: dims, inChannels: 1, numClasses: 3, features: [16, 32, 64, 128], generator: g });
const opt = new optim.SGD(net.parameters(), { lr: 1e-2, momentum: 0.99, nesterov: true, weightDecay: 3e-5 });
const x = keep(randn([batch, 1, ...new Array<number>(dims).fill(size)], g));
const y = keep(randint(0, 3, [batch, ...new Array<number>(dims).fill(size)], g));
for (let i = 0; i < steps; i++) {
  opt.zeroGrad();
  tidy(() => {
    const l = F.crossEntropy(net.forward(x), y);
    l.backward();
    return l.item();
  });
  opt.step();
}
