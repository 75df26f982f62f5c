// Connected-component labeling of binary masks on typed arrays, as upstream's postprocessing needs it
// (acvl_utils.morphology.morphology_helper: skimage.measure.label with connectivity=None, i.e. full connectivity:
// 26 neighbours in 3D, 8 in 2D). Two-pass union-find: the first raster scan links each voxel to its already visited
// neighbours, the second numbers the components in the order of their first voxel, as scipy.ndimage.label does.

/** Anything indexable whose nonzero entries are the mask. */
export type MaskLike = ArrayLike<number>;

export interface ComponentLabeling {
  /** 0 for background, 1..count for the components, numbered by their first voxel in C order. */
  labels: Int32Array;
  count: number;
  /** sizes[k] is the voxel count of component k (sizes[0] is 0). */
  sizes: Float64Array;
}

/** The 13 (3D) neighbours visited before a voxel in a C-order scan: every offset whose first nonzero entry is -1. */
const BACKWARD_OFFSETS: readonly (readonly [number, number, number])[] = (() => {
  const out: [number, number, number][] = [];
  for (let dz = -1; dz <= 1; dz++)
    for (let dy = -1; dy <= 1; dy++)
      for (let dx = -1; dx <= 1; dx++) {
        const first = dz !== 0 ? dz : dy !== 0 ? dy : dx;
        if (first === -1) out.push([dz, dy, dx]);
      }
  return out;
})();

function checkShape(mask: MaskLike, shape: readonly number[]): [number, number, number] {
  if (shape.length < 1 || shape.length > 3) throw new RangeError(`connected components need a 1D, 2D or 3D array, got shape [${shape}]`);
  if (shape.some((s) => !Number.isSafeInteger(s) || s < 0)) throw new RangeError(`invalid shape [${shape}]`);
  const n = shape.reduce((a, b) => a * b, 1);
  if (mask.length !== n) throw new RangeError(`mask has ${mask.length} entries but shape [${shape}] has ${n}`);
  // A 2D (or 1D) array is a 3D one with leading unit axes: full connectivity there is 8 (2) neighbours.
  const padded = [1, 1, ...shape].slice(-3);
  return [padded[0], padded[1], padded[2]];
}

/** Labels the components of `mask` (C order, `shape` of rank 1–3) with full connectivity. */
export function labelComponents(mask: MaskLike, shape: readonly number[]): ComponentLabeling {
  const [nz, ny, nx] = checkShape(mask, shape);
  const n = nz * ny * nx;
  const labels = new Int32Array(n);
  // parent[k] of provisional label k (1-based); roots are the smallest label of their set, so the root order is the
  // order of first appearance and the final numbering follows from one more scan
  let parent = new Int32Array(1024);
  let next = 1;
  const find = (k: number): number => {
    while (parent[k] !== k) {
      parent[k] = parent[parent[k]]; // path halving
      k = parent[k];
    }
    return k;
  };
  const union = (a: number, b: number): number => {
    const ra = find(a);
    const rb = find(b);
    if (ra === rb) return ra;
    const [lo, hi] = ra < rb ? [ra, rb] : [rb, ra];
    parent[hi] = lo;
    return lo;
  };
  const sy = nx;
  const sz = ny * nx;
  for (let z = 0, i = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++, i++) {
        if (!mask[i]) continue;
        let current = 0;
        for (const [dz, dy, dx] of BACKWARD_OFFSETS) {
          const zz = z + dz;
          const yy = y + dy;
          const xx = x + dx;
          if (zz < 0 || yy < 0 || xx < 0 || yy >= ny || xx >= nx) continue;
          const l = labels[i + dz * sz + dy * sy + dx];
          if (l === 0) continue;
          current = current === 0 ? find(l) : union(current, l);
        }
        if (current === 0) {
          if (next >= parent.length) {
            const grown = new Int32Array(parent.length * 2);
            grown.set(parent);
            parent = grown;
          }
          parent[next] = next;
          current = next++;
        }
        labels[i] = current;
      }
    }
  }
  const final = new Int32Array(next);
  let count = 0;
  const sizes: number[] = [0];
  for (let i = 0; i < n; i++) {
    const l = labels[i];
    if (l === 0) continue;
    const root = find(l);
    if (final[root] === 0) {
      final[root] = ++count;
      sizes.push(0);
    }
    const f = final[root];
    labels[i] = f;
    sizes[f]++;
  }
  return { labels, count, sizes: Float64Array.from(sizes) };
}

/**
 * acvl_utils' remove_all_but_largest_component: a mask (1/0) of the largest component(s). Components tied for the
 * largest size are all kept, as upstream's filter keeps every component whose size equals the maximum. An empty mask
 * stays empty.
 */
export function largestComponentMask(mask: MaskLike, shape: readonly number[]): Uint8Array {
  const { labels, count, sizes } = labelComponents(mask, shape);
  const out = new Uint8Array(labels.length);
  if (count === 0) return out;
  let max = 0;
  for (let k = 1; k <= count; k++) max = Math.max(max, sizes[k]);
  const keep = new Uint8Array(count + 1);
  for (let k = 1; k <= count; k++) keep[k] = sizes[k] === max ? 1 : 0;
  for (let i = 0; i < labels.length; i++) out[i] = keep[labels[i]];
  return out;
}
