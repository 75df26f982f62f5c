// Where the sliding window puts its tiles (nnU-Net's compute_steps_for_sliding_window and pad_nd_image rules).

/** numpy's np.round: halves go to the even neighbour (2.5 -> 2, 3.5 -> 4). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Tile start positions per axis: n = ceil((size − tile) / (tile · step)) + 1 starts spread evenly over
 * [0, size − tile], rounded as numpy does. Every axis must already be at least the tile size (see padToTile).
 */
export function slidingWindowSteps(imageSize: readonly number[], tileSize: readonly number[], stepSize: number): number[][] {
  if (!(stepSize > 0 && stepSize <= 1)) throw new RangeError(`step size must be in (0, 1], got ${stepSize}`);
  if (imageSize.length !== tileSize.length) {
    throw new RangeError(`image size [${imageSize.join(', ')}] and tile size [${tileSize.join(', ')}] differ in rank`);
  }
  return imageSize.map((size, axis) => {
    const tile = tileSize[axis];
    if (size < tile) throw new RangeError(`image size ${size} on axis ${axis} is smaller than the tile (${tile}); pad first`);
    const n = Math.ceil((size - tile) / (tile * stepSize)) + 1;
    const stride = n > 1 ? (size - tile) / (n - 1) : 0;
    return Array.from({ length: n }, (_, i) => roundHalfEven(stride * i));
  });
}

/** Constant padding that grows each axis to at least the tile: half before, the odd voxel after (pad_nd_image). */
export interface Padding {
  before: number[];
  after: number[];
  /** The padded spatial shape. */
  shape: number[];
}

export function padToTile(imageSize: readonly number[], tileSize: readonly number[]): Padding {
  const before: number[] = [];
  const after: number[] = [];
  imageSize.forEach((size, axis) => {
    const missing = Math.max(0, tileSize[axis] - size);
    before.push(missing >> 1);
    after.push(missing - (missing >> 1));
  });
  return { before, after, shape: imageSize.map((s, a) => s + before[a] + after[a]) };
}

/** Every combination of per-axis starts, last axis fastest (the order nnU-Net visits tiles in). */
export function tileOrigins(steps: readonly number[][]): number[][] {
  return steps.reduce<number[][]>((acc, axisSteps) => acc.flatMap((prefix) => axisSteps.map((s) => [...prefix, s])), [[]]);
}
