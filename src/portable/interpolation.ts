// The 1D B-spline resize of nnU-Net's resampling (skimage resize = scipy.ndimage.zoom with grid_mode, mode 'nearest')
// as a linear map: out = W·in with W = evaluate · prefilter · edge-pad, built in float64. Engine-free, so the
// libtorch resampler (src/preprocessing/resampling.ts) and the typed-array one (resampling.ts here) apply the same W.

/** Poles of the B-spline prefilter per order (Unser 1991; the values scipy.ndimage uses). */
const PREFILTER_POLES: Record<number, number[]> = {
  2: [Math.sqrt(8) - 3],
  3: [Math.sqrt(3) - 2],
  4: [
    Math.sqrt(664 - Math.sqrt(438976)) + Math.sqrt(304) - 19,
    Math.sqrt(664 + Math.sqrt(438976)) - Math.sqrt(304) - 19,
  ],
  5: [
    Math.sqrt(135 / 2 - Math.sqrt(17745 / 4)) + Math.sqrt(105 / 4) - 13 / 2,
    Math.sqrt(135 / 2 + Math.sqrt(17745 / 4)) - Math.sqrt(105 / 4) - 13 / 2,
  ],
};

/** scipy pads by 12 samples (edge mode) before prefiltering so that its boundary handling acts far outside. */
const SPLINE_PAD = 12;

export function checkOrder(order: number): void {
  if (!Number.isInteger(order) || order < 0 || order > 5) throw new RangeError(`spline order must be 0..5, got ${order}`);
}

function binomial(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return r;
}

/** Centred B-spline of degree `order` at x (the interpolation kernel). */
function bspline(x: number, order: number): number {
  if (order === 1) return Math.max(0, 1 - Math.abs(x)); // written as scipy does, for bit-equal linear weights
  let sum = 0;
  for (let j = 0; j <= order + 1; j++) {
    const t = x + (order + 1) / 2 - j;
    if (t > 0) sum += (j % 2 === 0 ? 1 : -1) * binomial(order + 1, j) * t ** order;
  }
  let factorial = 1;
  for (let i = 2; i <= order; i++) factorial *= i;
  return sum / factorial;
}

/** In-place B-spline prefilter (causal + anticausal recursion per pole, mirror boundary). */
function prefilter(c: Float64Array, order: number): void {
  const n = c.length;
  const poles = PREFILTER_POLES[order];
  if (n === 1) return;
  const gain = poles.reduce((g, z) => g * (1 - z) * (1 - 1 / z), 1);
  for (let i = 0; i < n; i++) c[i] *= gain;
  for (const z of poles) {
    let zk = z;
    let s = c[0];
    for (let k = 1; k < n; k++) {
      s += zk * c[k];
      zk *= z;
    }
    c[0] = s;
    for (let k = 1; k < n; k++) c[k] += z * c[k - 1];
    c[n - 1] = (z / (z * z - 1)) * (z * c[n - 2] + c[n - 1]);
    for (let k = n - 2; k >= 0; k--) c[k] = z * (c[k + 1] - c[k]);
  }
}

/** Input coordinate of output sample i (pixel centres aligned, as zoom's grid_mode and nnU-Net's map_coordinates). */
function sourceCoordinate(i: number, nIn: number, nOut: number): number {
  return (nIn / nOut) * (i + 0.5) - 0.5;
}

/**
 * The nOut x nIn matrix (row-major, float64) of a 1D resize with a B-spline of `order`, equal to
 * `scipy.ndimage.zoom(x, nOut/nIn, order, mode='nearest', grid_mode=True)` and to
 * `map_coordinates(x, (nIn/nOut)*(i+0.5)-0.5, order, mode='nearest')`.
 */
export function interpolationMatrix(nIn: number, nOut: number, order: number): Float64Array {
  checkOrder(order);
  const w = new Float64Array(nOut * nIn);
  if (order === 0) {
    for (let i = 0; i < nOut; i++) w[i * nIn + nearestIndex(i, nIn, nOut)] = 1;
    return w;
  }
  const pad = order > 1 ? SPLINE_PAD : 0;
  const len = nIn + 2 * pad;
  const coeffs = new Float64Array(len);
  // Taps and weights of every output sample in the padded coefficient array.
  const taps: { start: number; weights: number[] }[] = [];
  for (let i = 0; i < nOut; i++) {
    // scipy clamps the coordinate into the (padded) input first ('nearest' mode), then takes order+1 taps
    // whose weights sum to exactly 1 (the last weight is 1 minus the others).
    const cc = Math.min(Math.max(sourceCoordinate(i, nIn, nOut) + pad, 0), len - 1);
    const start = (order % 2 === 1 ? Math.floor(cc) : Math.floor(cc + 0.5)) - Math.floor(order / 2);
    const weights = Array.from({ length: order }, (_, t) => bspline(cc - (start + t), order));
    weights.push(1 - weights.reduce((a, b) => a + b, 0));
    taps.push({ start, weights });
  }
  for (let k = 0; k < nIn; k++) {
    // Coefficients of the edge-padded unit vector e_k.
    coeffs.fill(0);
    if (k === 0) coeffs.fill(1, 0, pad + 1);
    if (k === nIn - 1) coeffs.fill(1, pad + nIn - 1, len);
    coeffs[pad + k] = 1;
    if (order > 1) prefilter(coeffs, order);
    for (let i = 0; i < nOut; i++) {
      const { start, weights } = taps[i];
      let v = 0;
      for (let t = 0; t <= order; t++) v += weights[t] * coeffs[Math.min(Math.max(start + t, 0), len - 1)];
      w[i * nIn + k] = v;
    }
  }
  return w;
}

/** Order-0 source index of output sample i: round half up, clamped (scipy's order-0 rule). */
export function nearestIndex(i: number, nIn: number, nOut: number): number {
  return Math.min(Math.max(Math.floor(sourceCoordinate(i, nIn, nOut) + 0.5), 0), nIn - 1);
}
