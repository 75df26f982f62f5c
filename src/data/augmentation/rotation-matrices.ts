// Small dense rotation matrices (batchgenerators' conventions) for the spatial transform and the initial patch size.
export type Matrix = number[][];

export function matMul(a: Matrix, b: Matrix): Matrix {
  return a.map((row) => b[0].map((_, j) => row.reduce((acc, v, k) => acc + v * b[k][j], 0)));
}

export function rotationX(a: number): Matrix {
  const [c, s] = [Math.cos(a), Math.sin(a)];
  return [[1, 0, 0], [0, c, -s], [0, s, c]];
}
export function rotationY(a: number): Matrix {
  const [c, s] = [Math.cos(a), Math.sin(a)];
  return [[c, 0, s], [0, 1, 0], [-s, 0, c]];
}
export function rotationZ(a: number): Matrix {
  const [c, s] = [Math.cos(a), Math.sin(a)];
  return [[c, -s, 0], [s, c, 0], [0, 0, 1]];
}
export function rotation2d(a: number): Matrix {
  const [c, s] = [Math.cos(a), Math.sin(a)];
  return [[c, -s], [s, c]];
}

/** Row vector times matrix: v·M. */
export function rowTimes(v: number[], m: Matrix): number[] {
  return m[0].map((_, j) => v.reduce((acc, x, k) => acc + x * m[k][j], 0));
}
