/**
 * Affine math for NIfTI geometry: qform quaternion <-> rotation matrix, and the
 * nibabel fallback affine. All matrices are plain row-major number[][].
 */

export type Mat4 = number[][];

/** Rotation matrix of the (possibly non-unit) quaternion (a, b, c, d); same algorithm family as nibabel's quat2mat. */
function quaternionToMatrix(a: number, b: number, c: number, d: number): number[][] {
  const n = a * a + b * b + c * c + d * d;
  if (n < Number.EPSILON) {
    return [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ];
  }
  const s = 2 / n;
  const [x, y, z] = [b * s, c * s, d * s];
  return [
    [1 - (c * y + d * z), b * y - a * z, b * z + a * y],
    [b * y + a * z, 1 - (b * x + d * z), c * z - a * x],
    [b * z - a * y, c * z + a * x, 1 - (b * x + c * y)],
  ];
}

/**
 * The qform affine as nibabel computes it: a = sqrt(1 - b^2 - c^2 - d^2) (0 when slightly negative),
 * the third column scaled by qfac (pixdim[0]; nibabel repairs 0 to 1 on load).
 */
export function qformAffine(quatern: readonly number[], qoffset: readonly number[], pixdim: readonly number[]): Mat4 {
  const [b, c, d] = quatern;
  const w2 = 1 - (b * b + c * c + d * d);
  const a = w2 > 0 ? Math.sqrt(w2) : 0;
  const r = quaternionToMatrix(a, b, c, d);
  const qfac = pixdim[0] === -1 ? -1 : 1;
  const zooms = [pixdim[1], pixdim[2], pixdim[3] * qfac];
  return [
    [r[0][0] * zooms[0], r[0][1] * zooms[1], r[0][2] * zooms[2], qoffset[0]],
    [r[1][0] * zooms[0], r[1][1] * zooms[1], r[1][2] * zooms[2], qoffset[1]],
    [r[2][0] * zooms[0], r[2][1] * zooms[1], r[2][2] * zooms[2], qoffset[2]],
    [0, 0, 0, 1],
  ];
}

/** nibabel's affine for files with neither qform nor sform: pixdim scaling, x flipped, centred on the volume. */
export function fallbackAffine(dims: readonly number[], pixdim: readonly number[]): Mat4 {
  const shape = [0, 1, 2].map((i) => dims[i] ?? 1);
  const zooms = [0, 1, 2].map((i) => (i < dims.length ? pixdim[i + 1] : 1));
  zooms[0] *= -1;
  const out: Mat4 = [
    [zooms[0], 0, 0, 0],
    [0, zooms[1], 0, 0],
    [0, 0, zooms[2], 0],
    [0, 0, 0, 1],
  ];
  for (let i = 0; i < 3; i++) out[i][3] = (-(shape[i] - 1) / 2) * zooms[i];
  return out;
}

function det3(m: number[][]): number {
  return (
    m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
    m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
    m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
  );
}

/** Inverse transpose of a 3x3 matrix (the cofactor matrix over the determinant). */
function invTranspose3(m: number[][]): number[][] {
  const det = det3(m);
  const cof = (r: number, c: number): number => {
    const rows = [0, 1, 2].filter((i) => i !== r);
    const cols = [0, 1, 2].filter((i) => i !== c);
    const minor = m[rows[0]][cols[0]] * m[rows[1]][cols[1]] - m[rows[0]][cols[1]] * m[rows[1]][cols[0]];
    return ((r + c) % 2 === 0 ? minor : -minor) / det;
  };
  return [0, 1, 2].map((r) => [0, 1, 2].map((c) => cof(r, c)));
}

/** Closest orthogonal matrix (polar decomposition by Newton iteration), since a qform cannot hold shears. */
function orthogonalize(m: number[][]): number[][] {
  let x = m.map((row) => [...row]);
  for (let iter = 0; iter < 100; iter++) {
    const it = invTranspose3(x);
    const next = x.map((row, r) => row.map((v, c) => 0.5 * (v + it[r][c])));
    const change = Math.max(...next.flatMap((row, r) => row.map((v, c) => Math.abs(v - x[r][c]))));
    x = next;
    if (change < 1e-15) break;
  }
  return x;
}

export interface Qform {
  quatern: [number, number, number];
  qoffset: [number, number, number];
  qfac: 1 | -1;
  zooms: [number, number, number];
}

/** qform parameters (quaternion b, c, d, offset, qfac, voxel sizes) that best represent `affine`, as nibabel's set_qform. */
export function affineToQform(affine: Mat4): Qform {
  const zooms = [0, 1, 2].map((c) => Math.hypot(affine[0][c], affine[1][c], affine[2][c])) as [number, number, number];
  const r = [0, 1, 2].map((row) => [0, 1, 2].map((c) => affine[row][c] / zooms[c]));
  let qfac: 1 | -1 = 1;
  if (det3(r) < 0) {
    qfac = -1;
    for (let row = 0; row < 3; row++) r[row][2] *= -1;
  }
  const q = orthogonalize(r);
  // Rotation matrix -> unit quaternion with a >= 0 (trace method, branch on the largest diagonal term for stability).
  let a: number, b: number, c: number, d: number;
  const trace = q[0][0] + q[1][1] + q[2][2] + 1;
  if (trace > 0.5) {
    a = 0.5 * Math.sqrt(trace);
    b = (0.25 * (q[2][1] - q[1][2])) / a;
    c = (0.25 * (q[0][2] - q[2][0])) / a;
    d = (0.25 * (q[1][0] - q[0][1])) / a;
  } else {
    const xd = 1 + q[0][0] - (q[1][1] + q[2][2]);
    const yd = 1 + q[1][1] - (q[0][0] + q[2][2]);
    const zd = 1 + q[2][2] - (q[0][0] + q[1][1]);
    if (xd > 1) {
      b = 0.5 * Math.sqrt(xd);
      c = (0.25 * (q[0][1] + q[1][0])) / b;
      d = (0.25 * (q[0][2] + q[2][0])) / b;
      a = (0.25 * (q[2][1] - q[1][2])) / b;
    } else if (yd > 1) {
      c = 0.5 * Math.sqrt(yd);
      b = (0.25 * (q[0][1] + q[1][0])) / c;
      d = (0.25 * (q[1][2] + q[2][1])) / c;
      a = (0.25 * (q[0][2] - q[2][0])) / c;
    } else {
      d = 0.5 * Math.sqrt(zd);
      b = (0.25 * (q[0][2] + q[2][0])) / d;
      c = (0.25 * (q[1][2] + q[2][1])) / d;
      a = (0.25 * (q[1][0] - q[0][1])) / d;
    }
    if (a < 0) {
      [b, c, d] = [-b, -c, -d];
    }
  }
  return { quatern: [b, c, d], qoffset: [affine[0][3], affine[1][3], affine[2][3]], qfac, zooms };
}
