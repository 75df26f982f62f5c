// The NCCL path of data-parallel training on one GPU (1 rank): c10d's ProcessGroupNCCL through the addon, the
// strategy's collectives on CUDA tensors, then a 1-rank `nnunet train --device cuda` as a torchrun-started rank
// (RANK=0 WORLD_SIZE=1) on a tiny generated dataset. For a machine with a GPU and a CUDA libtorch with NCCL; exits
// non-zero with the reason otherwise.
// usage: node --import tsx bench/distributed/nccl-check.ts
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ProcessGroup, backendAvailable } from '../../src/torch/distributed.js';
import { Tensor, cudaIsAvailable, full, tidy, torchVersion } from '../../src/torch/index.js';
import { DistributedStrategy } from '../../src/training/strategy/distributed.js';
import { tinyDataset } from '../../test/training/integration/fixture.js';
import { freePort } from '../../test/training/distributed/ports.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
if (!cudaIsAvailable() || !backendAvailable('nccl')) {
  console.error(`libtorch ${torchVersion}: CUDA ${cudaIsAvailable()}, NCCL in the addon ${backendAvailable('nccl')}: build with LIBTORCH=<a CUDA PyTorch's torch/ folder> (and nccl.h, e.g. pip's nvidia-nccl) first`);
  process.exit(1);
}
const group = ProcessGroup.init({ backend: 'nccl', masterAddr: '127.0.0.1', masterPort: await freePort(), rank: 0, worldSize: 1, timeoutMs: 60_000 });
const strategy = new DistributedStrategy(group, 'cuda:0');
tidy(() => {
  const t = full([4], 3).to('cuda:0');
  group.allReduceSum_([t]);
  group.broadcast_([t], 0);
  assert.deepEqual(t.to('cpu').toArray(), [3, 3, 3, 3]);
  assert.deepEqual(strategy.allReduceSum([1, 2.5]), [1, 2.5]);
  assert.deepEqual(strategy.broadcast({ stop: 'SIGINT', epoch: 3 }), { stop: 'SIGINT', epoch: 3 });
  const p = full([3], 1).to('cuda:0').requiresGrad_(true);
  p.mul(2).sum().backward();
  strategy.reduceGradients([p]);
  assert.deepEqual((p.grad as Tensor).to('cpu').toArray(), [2, 2, 2]);
});
strategy.barrier();
await strategy.close();
console.log('NCCL collectives on cuda:0: ok');

const data = await tinyDataset({ numTraining: 4 });
const train = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'train', data.datasetName, '3d_fullres', '0', '--preprocessed', data.preprocessed, '--results', data.results,
  '--device', 'cuda', '--num-epochs', '1', '--iterations-per-epoch', '2', '--val-iterations', '1', '--no-progress'], {
  cwd: repo,
  encoding: 'utf8',
  env: { ...process.env, RANK: '0', WORLD_SIZE: '1', LOCAL_RANK: '0', MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(await freePort()) },
});
process.stdout.write(train.stdout + train.stderr);
assert.equal(train.status, 0, 'the 1-rank NCCL training run');
console.log('1-rank NCCL training (RANK=0 WORLD_SIZE=1, --device cuda): ok');
