#!/usr/bin/env python3
"""Reference: one nnU-Net-default training iteration for a ResEnc plans.json configuration (network_class_name
...ResidualEncoderUNet, arch_kwargs with n_blocks_per_stage), in plain PyTorch. The CLI and output are those of
../shared/reference/torch_ref_step.py, so the same bench harness can call either; only the network differs.
Network: test/network/resenc_reference.py (a restatement of dynamic_network_architectures' ResidualEncoderUNet),
initialized as nnU-Net does (network.apply(network.initialize): InitWeights_He(1e-2) + init_last_bn_before_add_to_0).
Loss and optimizer as torch_ref_step.py: Dice+CE with deep-supervision weights, SGD(1e-2, 0.99 Nesterov, wd 3e-5),
grad-norm clip 12, on a fixed random batch (no data loading).
usage: resenc_ref_step.py PLANS.json CONFIG NUM_CLASSES IN_CHANNELS ITERS [THREADS]
prints: JSON {config, batch_size, patch_size, threads, s_per_iter, all}"""
import json, os, sys, time, statistics
import torch, torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'test', 'network'))
from resenc_reference import build  # noqa: E402

plans, cfg, ncls, cin, iters = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
torch.set_num_threads(int(sys.argv[6]) if len(sys.argv) > 6 else 2)
c = json.load(open(plans))['configurations'][cfg]
ak = c['architecture']['arch_kwargs']
if 'n_blocks_per_stage' not in ak:
    sys.exit(f'{plans} {cfg}: arch_kwargs has no n_blocks_per_stage (not a ResidualEncoderUNet plan; use torch_ref_step.py)')
strides = ak['strides']


def dice_ce(logits, target):
    ce = F.cross_entropy(logits, target)
    p = logits.softmax(1)
    oh = F.one_hot(target, ncls).movedim(-1, 1).float()
    axes = tuple(range(2, p.ndim))
    tp = (p * oh).sum(axes); fp = (p * (1 - oh)).sum(axes); fn = ((1 - p) * oh).sum(axes)
    dc = (2 * tp + 1e-5) / (2 * tp + fp + fn + 1e-5).clamp_min(1e-8)
    return ce - dc[:, 1:].mean()


torch.manual_seed(0)
net = build(ak, cin, ncls, deep_supervision=True)
net.apply(net.initialize)
opt = torch.optim.SGD(net.parameters(), 1e-2, momentum=0.99, nesterov=True, weight_decay=3e-5)
bs, ps = c['batch_size'], c['patch_size']
x = torch.randn(bs, cin, *ps)
y = torch.randint(0, ncls, (bs, *ps))
nout = len(ak['features_per_stage']) - 1
w = [1 / 2 ** i for i in range(nout)]; w[-1] = 0; w = [v / sum(w) for v in w]
targets, t = [], y
for i in range(nout):
    targets.append(t)
    t = F.interpolate(t[:, None].float(), scale_factor=[1 / s for s in strides[i + 1]], mode='nearest')[:, 0].long() if i + 1 < len(strides) else t


def step():
    opt.zero_grad(set_to_none=True)
    outs = net(x)
    loss = sum(wi * dice_ce(o, tg) for wi, o, tg in zip(w, outs, targets) if wi > 0)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(net.parameters(), 12)
    opt.step()
    return loss.item()


step()  # warm-up
times = []
for _ in range(iters):
    t0 = time.perf_counter(); step(); times.append(time.perf_counter() - t0)
print(json.dumps({'config': cfg, 'batch_size': bs, 'patch_size': ps, 'threads': torch.get_num_threads(),
                  's_per_iter': statistics.median(times), 'all': [round(v, 3) for v in times]}))
