"""Reference for nnU-Net's resample_data_or_seg (default_resampling.py), written from its documented behaviour:
skimage resize(order, mode='edge', anti_aliasing=False) per channel (per slice for separate z), segmentations
one label mask at a time (>= 0.5, higher labels win), the low-resolution axis through map_coordinates(order_z,
mode='nearest'). Without skimage, resize is scipy.ndimage.zoom(grid_mode=True, mode='nearest') + clipping,
which is what skimage >= 0.19 calls (see 'equivalence' below).

stdin: JSON list of requests; stdout: one JSON line with the results."""
import json
import sys

import numpy as np
from scipy import ndimage as ndi

try:
    from skimage.transform import resize as sk_resize
except ImportError:
    sk_resize = None


def zoom_resize(x, shape, order):
    out = ndi.zoom(x, [n / s for n, s in zip(shape, x.shape)], order=order, mode='nearest', grid_mode=True)
    return np.clip(out, x.min(), x.max())


def resize(x, shape, order):
    if sk_resize is not None:
        return sk_resize(x, shape, order, mode='edge', anti_aliasing=False)
    return zoom_resize(x, shape, order)


def resize_seg(x, shape, order):
    out = np.zeros(shape, dtype=x.dtype)
    for label in np.unique(x):
        out[resize((x == label).astype(float), shape, order) >= 0.5] = label
    return out


def lowres_axis(current, new, force):
    aniso = lambda s: max(s) / min(s) > 3
    lowres = lambda s: np.where(max(s) / np.array(s) == 1)[0]
    if force is not None:
        axes = lowres(current) if force else None
    elif aniso(current):
        axes = lowres(current)
    elif aniso(new):
        axes = lowres(new)
    else:
        axes = None
    return int(axes[0]) if axes is not None and len(axes) == 1 else None


def resample(req):
    data = np.array(req['data'], dtype=float).reshape(req['shape'])
    new_shape = req['new_shape']
    is_seg, order, order_z = req['is_seg'], req['order'], req['order_z']
    if list(data.shape[1:]) == list(new_shape):
        return data
    axis = lowres_axis(req['current_spacing'], req['new_spacing'], req['force_separate_z'])
    fn = resize_seg if is_seg else resize
    out = []
    for channel in data:
        if axis is None:
            out.append(fn(channel, new_shape, order))
            continue
        plane = [s for i, s in enumerate(new_shape) if i != axis]
        slices = [fn(np.take(channel, k, axis=axis), plane, order) for k in range(channel.shape[axis])]
        stacked = np.stack(slices, axis)
        if stacked.shape[axis] == new_shape[axis]:
            out.append(stacked)
            continue
        grid = np.meshgrid(*[np.arange(n, dtype=float) for n in new_shape], indexing='ij')
        grid[axis] = (stacked.shape[axis] / new_shape[axis]) * (grid[axis] + 0.5) - 0.5
        coords = np.array(grid)
        if not is_seg or order_z == 0:
            out.append(ndi.map_coordinates(stacked, coords, order=order_z, mode='nearest'))
        else:
            result = np.zeros(new_shape)
            for label in np.unique(stacked):
                m = np.round(ndi.map_coordinates((stacked == label).astype(float), coords, order=order_z, mode='nearest'))
                result[m > 0.5] = label
            out.append(result)
    return np.stack(out)


def main():
    requests = json.load(sys.stdin)
    results = []
    for req in requests:
        if req.get('kind') == 'zoom1d':
            x = np.array(req['data'], dtype=float)
            results.append(ndi.zoom(x, req['n_out'] / len(x), order=req['order'], mode='nearest', grid_mode=True).tolist())
        elif req.get('kind') == 'equivalence':
            # skimage's resize against the zoom + clip it is documented here to be
            rng = np.random.default_rng(req['seed'])
            x = rng.normal(size=req['shape'])
            results.append(float(np.abs(sk_resize(x, req['new_shape'], req['order'], mode='edge', anti_aliasing=False)
                                        - zoom_resize(x, req['new_shape'], req['order'])).max()))
        else:
            results.append(resample(req).ravel().tolist())
    print(json.dumps({'backend': 'skimage' if sk_resize is not None else 'scipy', 'results': results}))


main()
