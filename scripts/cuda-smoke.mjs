// CUDA smoke test (run after building against a CUDA libtorch: LIBTORCH=... npm run build; node scripts/cuda-smoke.mjs):
// ops, autograd and a U-Net training step on cuda against the same step on cpu, and the error path.
import { torchVersion, cudaIsAvailable, cudaDeviceCount, assertDeviceAvailable, tensor, Generator, randn, optim } from '../dist/torch/index.js';
import { PlainConvUNet } from '../dist/network/plain-conv-unet.js';
import { trainStep } from '../dist/training/train-step.js';
const out = (k, v) => console.log(k.padEnd(34), typeof v === 'string' ? v : JSON.stringify(v));
out('libtorch', torchVersion);
out('cuda available / devices', [cudaIsAvailable(), cudaDeviceCount()]);
assertDeviceAvailable('cuda');
const a = tensor([1, 2, 3, 4], [2, 2]).to('cuda');
out('tensor on', a.device);
out('matmul on cuda', a.matmul(a).to('cpu').toArray());
try { tensor([1, 2]).to('cuda').add(tensor([1, 2, 3]).to('cuda')); } catch (e) { out('shape error message', e.message.split('\n')[0]); }
const arch = { inputChannels: 1, numClasses: 3, featuresPerStage: [8, 16, 32], kernelSizes: [[3,3,3],[3,3,3],[3,3,3]], strides: [[1,1,1],[2,2,2],[2,2,2]], nConvPerStage: [2,2,2], nConvPerStageDecoder: [2,2], convBias: true, normEps: 1e-5, leakySlope: 0.01 };
function run(device) {
  const net = new PlainConvUNet(arch).initialize(new Generator(0));
  if (device !== 'cpu') net.to(device);
  const opt = new optim.SGD(net.parameters(), { lr: 0.01, momentum: 0.99, nesterov: true, weightDecay: 3e-5 });
  const g = new Generator(1);
  const data = randn([2, 1, 16, 32, 32], g).toTypedArray();
  const t0 = randn([2, 1, 16, 32, 32], g).mul(1.2).round().clamp(0, 2).to('int16');
  const t1 = randn([2, 1, 8, 16, 16], g).mul(1.2).round().clamp(0, 2).to('int16');
  const batch = { index: 0, data, dataShape: [2, 1, 16, 32, 32], targets: [t0.toTypedArray(), t1.toTypedArray()], targetShapes: [t0.shape, t1.shape] };
  const losses = [];
  const start = performance.now();
  for (let i = 0; i < 5; i++) losses.push(trainStep(net, opt, batch, 3, { batchDice: false }, device));
  const ms = (performance.now() - start) / 5;
  const w = net.parameters()[0].to('cpu').toArray();
  return { losses, ms, w };
}
const cpu = run('cpu');
const gpu = run('cuda');
out('cpu losses', cpu.losses.map((l) => +l.toFixed(5)));
out('cuda losses', gpu.losses.map((l) => +l.toFixed(5)));
out('max |w_cpu - w_cuda| after 5 steps', Math.max(...cpu.w.map((v, i) => Math.abs(v - gpu.w[i]))));
out('ms/step cpu, cuda', [cpu.ms.toFixed(1), gpu.ms.toFixed(1)]);
