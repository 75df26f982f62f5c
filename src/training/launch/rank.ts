// A rank's side of a data-parallel job: join the process group named by the environment and train through it.
import { type Backend, ProcessGroup } from '../../torch/distributed.js';
import type { Device } from '../../torch/index.js';
import { DistributedStrategy } from '../strategy/distributed.js';
import type { RankEnvironment } from './environment.js';
import { exitWithLauncher } from './launcher.js';

export interface JoinOptions {
  device: Device;
  /** Limit of one collective (a peer that stops answering) and of the rendezvous. */
  timeoutMs: number;
}

/** The device a rank trains on: with CUDA, GPU LOCAL_RANK of its node unless the user named one. */
export function rankDevice(device: Device, env: RankEnvironment): Device {
  return device === 'cuda' ? `cuda:${env.localRank}` : device;
}

/** gloo for CPU training, NCCL for CUDA, as torch's default backends. */
export function backendFor(device: Device): Backend {
  return device === 'cpu' ? 'gloo' : 'nccl';
}

export function joinJob(env: RankEnvironment, o: JoinOptions): DistributedStrategy {
  exitWithLauncher();
  const group = ProcessGroup.init({ backend: backendFor(o.device), masterAddr: env.masterAddr, masterPort: env.masterPort, rank: env.rank, worldSize: env.worldSize, timeoutMs: o.timeoutMs });
  return new DistributedStrategy(group, o.device);
}
