// Binary morphology with a ball of radius r (every integer offset d with |d|² ≤ r²) on typed arrays, through an exact
// squared Euclidean distance transform (Felzenszwalb & Huttenlocher), so the cost does not grow with the radius.
// BG2's ApplyRandomBinaryOperatorTransform convolves with skimage's ball(r) (an FFT convolution) to the same effect;
// voxels outside the array count neither as foreground (dilation) nor as background (erosion), as its zero padding.

export type BinaryOperator = 'dilation' | 'erosion' | 'opening' | 'closing';
export const BINARY_OPERATORS: readonly BinaryOperator[] = ['dilation', 'erosion', 'closing', 'opening'];

/** Squared distance of every voxel to the nearest nonzero voxel of `mask` (Infinity without any), C order. */
export function squaredDistanceToMask(mask: ArrayLike<number>, shape: readonly number[]): Float64Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) d[i] = mask[i] ? 0 : Infinity;
  const longest = Math.max(...shape);
  const line = new Float64Array(longest);
  const out = new Float64Array(longest);
  const v = new Int32Array(longest);
  const z = new Float64Array(longest + 1);
  shape.forEach((len, axis) => {
    const stride = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
    const outer = n / (len * stride);
    for (let o = 0; o < outer; o++) {
      for (let s = 0; s < stride; s++) {
        const base = o * len * stride + s;
        for (let q = 0; q < len; q++) line[q] = d[base + q * stride];
        lowerEnvelope(line, len, out, v, z);
        for (let q = 0; q < len; q++) d[base + q * stride] = out[q];
      }
    }
  });
  return d;
}

/** 1D squared distance transform of the sampled function f (Infinity: no site) into out. */
function lowerEnvelope(f: Float64Array, n: number, out: Float64Array, v: Int32Array, z: Float64Array): void {
  let k = -1;
  for (let q = 0; q < n; q++) {
    if (f[q] === Infinity) continue;
    if (k < 0) {
      k = 0;
      v[0] = q;
      z[0] = -Infinity;
      z[1] = Infinity;
      continue;
    }
    let s = (f[q] + q * q - (f[v[k]] + v[k] * v[k])) / (2 * (q - v[k]));
    while (s <= z[k]) {
      k--;
      s = (f[q] + q * q - (f[v[k]] + v[k] * v[k])) / (2 * (q - v[k]));
    }
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = Infinity;
  }
  if (k < 0) {
    out.fill(Infinity, 0, n);
    return;
  }
  k = 0;
  for (let q = 0; q < n; q++) {
    while (z[k + 1] < q) k++;
    out[q] = (q - v[k]) * (q - v[k]) + f[v[k]];
  }
}

/**
 * Dilation by the ball of `radius`: voxels within that distance of a nonzero voxel. Only the mask's bounding box grown
 * by the radius can change, so the distance transform runs on that box alone.
 */
function dilate(mask: Uint8Array, shape: readonly number[], radius: number): Uint8Array {
  const out = new Uint8Array(mask.length);
  const box = boundingBox(mask, shape, Math.ceil(radius));
  if (box === null) return out;
  const size = box.map(([a, b]) => b - a);
  const crop = new Uint8Array(size.reduce((a, b) => a * b, 1));
  copyBox(mask, shape, box, crop, true);
  const d = squaredDistanceToMask(crop, size);
  const r2 = radius * radius;
  for (let i = 0; i < d.length; i++) crop[i] = d[i] <= r2 ? 1 : 0;
  copyBox(out, shape, box, crop, false);
  return out;
}

/** Per axis [start, end) of the nonzero voxels grown by `margin` and clipped to the array; null for an empty mask. */
function boundingBox(mask: Uint8Array, shape: readonly number[], margin: number): [number, number][] | null {
  const lo = shape.map(() => Infinity);
  const hi = shape.map(() => -Infinity);
  const strides = shape.map((_, a) => shape.slice(a + 1).reduce((x, y) => x * y, 1));
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    for (let a = 0; a < shape.length; a++) {
      const c = Math.floor(i / strides[a]) % shape[a];
      if (c < lo[a]) lo[a] = c;
      if (c > hi[a]) hi[a] = c;
    }
  }
  if (lo[0] === Infinity) return null;
  return shape.map((n, a) => [Math.max(0, lo[a] - margin), Math.min(n, hi[a] + margin + 1)]);
}

/** Copies the box of `full` (C order, `shape`) into `crop` (read) or `crop` back into the box (write). */
function copyBox(full: Uint8Array, shape: readonly number[], box: [number, number][], crop: Uint8Array, read: boolean): void {
  const size = box.map(([a, b]) => b - a);
  const rowLength = size[size.length - 1];
  const rows = crop.length / rowLength;
  const strides = shape.map((_, a) => shape.slice(a + 1).reduce((x, y) => x * y, 1));
  for (let r = 0; r < rows; r++) {
    // the row's position in the box, last axis excluded
    let rest = r;
    let offset = box[shape.length - 1][0];
    for (let a = shape.length - 2; a >= 0; a--) {
      offset += (box[a][0] + (rest % size[a])) * strides[a];
      rest = Math.floor(rest / size[a]);
    }
    if (read) crop.set(full.subarray(offset, offset + rowLength), r * rowLength);
    else full.set(crop.subarray(r * rowLength, (r + 1) * rowLength), offset);
  }
}

function invert(mask: Uint8Array): Uint8Array {
  const out = new Uint8Array(mask.length);
  for (let i = 0; i < mask.length; i++) out[i] = mask[i] ? 0 : 1;
  return out;
}

/** Erosion: the voxels no background voxel of the array is within `radius` of (outside the array is not background). */
function erode(mask: Uint8Array, shape: readonly number[], radius: number): Uint8Array {
  return invert(dilate(invert(mask), shape, radius));
}

/** One of BG2's four operators with the ball of `radius` (voxels); returns a new 0/1 mask. */
export function binaryOperation(op: BinaryOperator, mask: Uint8Array, shape: readonly number[], radius: number): Uint8Array {
  switch (op) {
    case 'dilation':
      return dilate(mask, shape, radius);
    case 'erosion':
      return erode(mask, shape, radius);
    case 'opening':
      return dilate(erode(mask, shape, radius), shape, radius);
    case 'closing':
      return erode(dilate(mask, shape, radius), shape, radius);
  }
}
