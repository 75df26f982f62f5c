# nnU-Net v2's sliding-window rules (inference/sliding_window_prediction.py, predict_from_raw_data.py), restated in
# plain numpy/scipy/torch as the cross-check for src/inference. Tests append a call and fill `out`.
import itertools
import numpy as np
import torch
from scipy.ndimage import gaussian_filter


def ref_gaussian(tile, sigma_scale=1. / 8, peak=10.):
    delta = np.zeros(tile)
    delta[tuple(i // 2 for i in tile)] = 1
    g = torch.from_numpy(gaussian_filter(delta, [i * sigma_scale for i in tile], 0, mode='constant', cval=0))
    g = (g / g.max() * peak).float()
    g[g == 0] = g[g != 0].min()
    return g


def ref_steps(size, tile, step):
    out = []
    for s, t in zip(size, tile):
        n = int(np.ceil((s - t) / (t * step))) + 1
        stride = (s - t) / (n - 1) if n > 1 else 0
        out.append([int(np.round(stride * i)) for i in range(n)])
    return out


def ref_sliding_window(net, x, patch, step, mirror):
    """x: [C, *spatial]; a patch with one axis fewer than x's spatial axes runs slice by slice."""
    spatial = list(x.shape[1:])
    extra = len(spatial) - len(patch)
    target = spatial[:extra] + [max(s, p) for s, p in zip(spatial[extra:], patch)]
    before = [(t - s) // 2 for s, t in zip(spatial, target)]
    inner = tuple(slice(b, b + s) for b, s in zip(before, spatial))
    padded = torch.zeros([x.shape[0]] + target)
    padded[(slice(None),) + inner] = x
    g = ref_gaussian(patch)
    combos = [c for i in range(len(mirror)) for c in itertools.combinations([m + 2 for m in mirror], i + 1)]
    logits, weights = None, torch.zeros(target)
    for lead in itertools.product(*[range(n) for n in target[:extra]]):
        for origin in itertools.product(*ref_steps(target[extra:], patch, step)):
            sl = tuple(lead) + tuple(slice(o, o + p) for o, p in zip(origin, patch))
            tile = padded[(slice(None),) + sl][None]
            with torch.no_grad():
                pred = net(tile)
                for c in combos:
                    pred = pred + torch.flip(net(torch.flip(tile, c)), c)
            pred = pred[0] / (len(combos) + 1) * g
            if logits is None:
                logits = torch.zeros([pred.shape[0]] + target)
            logits[(slice(None),) + sl] += pred
            weights[sl] += g
    return (logits / weights)[(slice(None),) + inner]
