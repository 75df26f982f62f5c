import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Debian's python with torch 1.13 and numpy: the reference implementation for these tests. */
export const PYTHON = '/usr/bin/python3';

let reason: string | null | undefined;

/** Why the reference python cannot be used (to pass to `t.skip`), or null when it can. */
export function pythonSkipReason(): string | null {
  if (reason !== undefined) return reason;
  if (!existsSync(PYTHON)) reason = `${PYTHON} is absent`;
  else {
    const r = spawnSync(PYTHON, ['-c', 'import torch, numpy'], { encoding: 'utf8' });
    reason = r.status === 0 ? null : `${PYTHON} cannot import torch/numpy: ${r.stderr.trim().split('\n').pop()}`;
  }
  if (reason) console.log(`skipping python cross-checks: ${reason}`);
  return reason;
}

/** Runs a python script with `args` in sys.argv[1:]; returns stdout, throws with stderr on failure. */
export function runPython(script: string, ...args: string[]): string {
  const r = spawnSync(PYTHON, ['-c', script, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`python failed (${r.status}):\n${r.stderr}`);
  return r.stdout;
}

/** Python statements building `ckpt`: an nnU-Net-like checkpoint covering the types torch.save emits (needs torch imported). */
export const PY_CHECKPOINT = String.raw`
import numpy as np
torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Conv3d(1, 2, 3), torch.nn.BatchNorm3d(2), torch.nn.InstanceNorm3d(2, affine=True), torch.nn.LeakyReLU())
opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.99, nesterov=True)
net(torch.randn(1, 1, 4, 4, 4)).sum().backward()
opt.step()
x = torch.arange(24, dtype=torch.float32).reshape(2, 3, 4)
ckpt = {
    'network_weights': net.state_dict(),
    'optimizer_state': opt.state_dict(),
    'half': torch.tensor([1.5, -2.25, 65504], dtype=torch.float16),
    'bf16': torch.tensor([1.5, -2.25], dtype=torch.bfloat16),
    'i64': torch.tensor([[1, -2], [3, 2 ** 40]]),
    'mask': torch.tensor([True, False, True]),
    'u8': torch.arange(5, dtype=torch.uint8),
    'view': x.transpose(0, 2)[1:],
    'row': x[1, 2],
    'param': torch.nn.Parameter(torch.ones(2)),
    'np_f64': np.float64(0.8125), 'np_f32': np.float32(2.5), 'np_f16': np.float16(-0.5), 'np_i64': np.int64(-3),
    'np_u8': np.uint8(200), 'np_bool': np.bool_(True),
    'inference_allowed_mirroring_axes': (0, 1, 2),
    'size': torch.Size([2, 3]),
    'init_args': {'plans': {'patch_size': [40, 56, 40], 'spacing': [1.5, 0.75], 'norm': None}, 'fold': 0,
                  'device': torch.device('cuda', 0)},
    'current_epoch': 1000, 'lrs': [0.01, 0.00999], '_best_ema': None, 'trainer_name': 'nnUNetTrainer',
    'big': 2 ** 70, 'bytes': b'\x00\xffab',
    '__proto__': {'polluted': 'yes'},
}
`;
