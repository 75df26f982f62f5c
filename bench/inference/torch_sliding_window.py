# The PyTorch side of sliding-window.bench.ts: nnU-Net's sliding window (same rules as src/inference, restated in
# test/inference/nnunet_reference.py) batched the same way, on a PlainConvUNet evaluated functionally from the same
# checkpoint. Usage: torch_sliding_window.py <work dir> <tta 0|1> <threads>; prints one JSON line.
import itertools, json, os, resource, sys, time
import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'inference'))
from nnunet_reference import ref_gaussian, ref_steps  # noqa: E402

work, tta, threads = sys.argv[1], sys.argv[2] == '1', int(sys.argv[3])
torch.set_num_threads(threads)
cfg = json.load(open(os.path.join(work, 'bench.json')))
ckpt = torch.load(os.path.join(work, 'model', 'fold_0', 'checkpoint_final.pth'), map_location='cpu')
W = ckpt['network_weights']
n_stages = len(cfg['strides'])


def block(x, prefix, stride):
    x = F.conv3d(x, W[prefix + '.conv.weight'], W[prefix + '.conv.bias'], stride=stride, padding=1)
    x = F.instance_norm(x, weight=W[prefix + '.norm.weight'], bias=W[prefix + '.norm.bias'], eps=1e-5)
    return F.leaky_relu(x, 0.01)


def unet(x):
    skips = []
    for s in range(n_stages):
        for m in range(cfg['n_conv'][s]):
            x = block(x, f'encoder.stages.{s}.0.convs.{m}', cfg['strides'][s] if m == 0 else 1)
        skips.append(x)
    for s in range(n_stages - 1):
        x = F.conv_transpose3d(x, W[f'decoder.transpconvs.{s}.weight'], W[f'decoder.transpconvs.{s}.bias'], stride=cfg['strides'][n_stages - 1 - s])
        x = torch.cat([x, skips[-(s + 2)]], 1)
        for m in range(cfg['n_conv_decoder'][s]):
            x = block(x, f'decoder.stages.{s}.convs.{m}', 1)
    return F.conv3d(x, W[f'decoder.seg_layers.{n_stages - 2}.weight'], W[f'decoder.seg_layers.{n_stages - 2}.bias'])


def sliding_window(x, patch, batch, mirror):
    spatial = list(x.shape[1:])
    target = [max(s, p) for s, p in zip(spatial, patch)]
    before = [(t - s) // 2 for s, t in zip(spatial, target)]
    inner = tuple(slice(b, b + s) for b, s in zip(before, spatial))
    padded = torch.zeros([x.shape[0]] + target)
    padded[(slice(None),) + inner] = x
    g = ref_gaussian(patch)
    combos = [c for i in range(len(mirror)) for c in itertools.combinations([m + 2 for m in mirror], i + 1)]
    origins = list(itertools.product(*ref_steps(target, patch, 0.5)))
    logits, weights = torch.zeros([cfg['num_classes']] + target), torch.zeros(target)
    for start in range(0, len(origins), batch):
        sls = [tuple(slice(o, o + p) for o, p in zip(origin, patch)) for origin in origins[start:start + batch]]
        tiles = torch.stack([padded[(slice(None),) + sl] for sl in sls])
        pred = unet(tiles)
        for c in combos:
            pred += torch.flip(unet(torch.flip(tiles, c)), c)
        pred = pred / (len(combos) + 1) * g
        for b, sl in enumerate(sls):
            logits[(slice(None),) + sl] += pred[b]
            weights[sl] += g
    return (logits / weights)[(slice(None),) + inner]


times = []
with torch.no_grad():
    # warm-up (oneDNN primitive creation, allocator), untimed, as on the TypeScript side
    sliding_window(torch.from_numpy(np.load(os.path.join(work, f"{cfg['cases'][0]}.npy"))), cfg['patch_size'], cfg['tile_batch_size'], [])
    for case in cfg['cases']:
        x = torch.from_numpy(np.load(os.path.join(work, f'{case}.npy')))
        t0 = time.perf_counter()
        out = sliding_window(x, cfg['patch_size'], cfg['tile_batch_size'], [0, 1, 2] if tta else [])
        times.append(time.perf_counter() - t0)
        np.save(os.path.join(work, f'{case}_logits_torch_{int(tta)}.npy'), out.numpy())
print(json.dumps({'seconds': times, 'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
