// Python 3's round(): halves go to the even neighbour. Shapes derived from scale factors must match nnU-Net's.
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** round(n·s) per axis, the target shape of a resampling by factors s. */
export function scaledShape(shape: number[], scales: number[]): number[] {
  return shape.map((n, i) => roundHalfEven(n * scales[i]));
}
