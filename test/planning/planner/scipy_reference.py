"""Reference values for the planner tests, computed with numpy/scipy/nibabel the way nnU-Net v2 does.

Usage: scipy_reference.py <command>, JSON request on stdin, JSON answer on stdout.
  crop        {"shape", "channels": [[...]], "seg": [...]} -> filled mask, bbox, cropped seg
              (nnU-Net's crop_to_nonzero: union of nonzero channels, binary_fill_holes, bbox, seg 0 outside -> -1)
  stats       {"values": [...float32...]} -> numpy percentiles / mean / std as the fingerprint extractor computes them
  percentile  {"values": [...], "q": [...]} -> np.percentile(values, q) (float64)
  median      {"values": [...]} -> np.median
  geometry    {"dataset": dir} -> per case spacing (SimpleITK order z,y,x), shape after crop, relative size
"""
import glob
import json
import os
import sys

import numpy as np
from scipy.ndimage import binary_fill_holes


def bbox_of(mask):
    if not mask.any():
        return [[0, s] for s in mask.shape]
    where = np.array(np.where(mask))
    return [[int(a), int(b) + 1] for a, b in zip(where.min(1), where.max(1))]


def crop(req):
    shape = tuple(req["shape"])
    channels = [np.array(c, dtype=np.float32).reshape(shape) for c in req["channels"]]
    nonzero = np.zeros(shape, dtype=bool)
    for c in channels:
        nonzero |= c != 0
    filled = binary_fill_holes(nonzero)
    bbox = bbox_of(filled)
    slicer = tuple(slice(a, b) for a, b in bbox)
    seg = np.array(req["seg"], dtype=np.int16).reshape(shape)[slicer].copy()
    seg[(seg == 0) & (~filled[slicer])] = -1
    return {"filled": filled.astype(np.uint8).ravel().tolist(), "bbox": bbox, "seg": seg.ravel().tolist()}


def stats(req):
    v = np.array(req["values"], dtype=np.float32)
    p005, med, p995 = np.percentile(v, (0.5, 50.0, 99.5))
    v64 = v.astype(np.float64)
    return {
        "percentile_00_5": float(p005), "median": float(med), "percentile_99_5": float(p995),
        "min": float(np.min(v)), "max": float(np.max(v)),
        # nnU-Net sums the float32 samples in float32; the float64 values are the exact reference
        "mean_float32": float(np.mean(v)), "std_float32": float(np.std(v)),
        "mean": float(np.mean(v64)), "std": float(np.std(v64)),
    }


def geometry(req):
    import nibabel as nib
    root = req["dataset"]
    out = []
    for label in sorted(glob.glob(os.path.join(root, "labelsTr", "*.nii.gz"))):
        case = os.path.basename(label)[: -len(".nii.gz")]
        images = sorted(glob.glob(os.path.join(root, "imagesTr", case + "_[0-9][0-9][0-9][0-9].nii.gz")))
        nonzero = None
        spacing = None
        for f in images:
            img = nib.load(f)
            # nibabel gives (x, y, z); SimpleITK's array order is (z, y, x)
            data = np.asanyarray(img.dataobj).astype(np.float32).transpose(2, 1, 0)
            nonzero = (data != 0) if nonzero is None else (nonzero | (data != 0))
            spacing = [float(s) for s in img.header.get_zooms()[:3][::-1]]
        filled = binary_fill_holes(nonzero)
        shape_after = [b - a for a, b in bbox_of(filled)]
        out.append({
            "case": case, "spacing": spacing, "shape_after_crop": shape_after,
            "relative_size": float(np.prod(shape_after) / np.prod(nonzero.shape)),
        })
    return out


def main():
    command = sys.argv[1]
    req = json.load(sys.stdin)
    if command == "crop":
        ans = crop(req)
    elif command == "stats":
        ans = stats(req)
    elif command == "percentile":
        ans = [float(x) for x in np.percentile(np.array(req["values"], dtype=np.float64), req["q"])]
    elif command == "median":
        ans = float(np.median(np.array(req["values"], dtype=np.float64)))
    elif command == "geometry":
        ans = geometry(req)
    else:
        raise SystemExit("unknown command " + command)
    json.dump(ans, sys.stdout)


if __name__ == "__main__":
    main()
