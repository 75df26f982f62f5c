#!/usr/bin/env python3
"""torch_ref_step.py's network, loss, optimizer and batch, stepped on CUDA as nnU-Net trains there: autocast float16
and GradScaler (unscale before clipping at 12), cudnn.benchmark on. --no-amp: float32.
usage: torch_amp_step.py TORCH_REF_STEP.py PLANS.json CONFIG NUM_CLASSES IN_CHANNELS ITERS [--no-amp]
prints: JSON {amp, s_per_iter, all, max_memory_allocated_mb}"""
import json, statistics, sys, time
import torch

ref = sys.argv[1]
amp = '--no-amp' not in sys.argv
sys.argv = [ref] + [a for a in sys.argv[2:] if a != '--no-amp']
g = {'__name__': 'torch_ref_step'}
# the reference's definitions (network, loss, optimizer, batch), without its CPU timing loop
exec(open(ref).read().split('\ndef step():')[0], g)
torch.backends.cudnn.benchmark = True
net, opt, w, dice_ce = g['net'].cuda(), g['opt'], g['w'], g['dice_ce']
x, targets = g['x'].cuda(), [t.cuda() for t in g['targets']]
scaler = torch.cuda.amp.GradScaler(enabled=amp)

def step():
    opt.zero_grad(set_to_none=True)
    with torch.autocast('cuda', enabled=amp):
        outs = net(x)
        loss = sum(wi * dice_ce(o, tg) for wi, o, tg in zip(w, outs, targets) if wi > 0)
    scaler.scale(loss).backward()
    scaler.unscale_(opt)
    torch.nn.utils.clip_grad_norm_(net.parameters(), 12)
    scaler.step(opt)
    scaler.update()
    return loss.item()

for _ in range(3):
    step()
torch.cuda.reset_peak_memory_stats()
times = []
for _ in range(int(sys.argv[5])):
    t0 = time.perf_counter(); step(); torch.cuda.synchronize(); times.append(time.perf_counter() - t0)
print(json.dumps({'amp': amp, 's_per_iter': statistics.median(times), 'all': [round(v, 4) for v in times],
                  'max_memory_allocated_mb': torch.cuda.max_memory_allocated() / 2 ** 20}))
