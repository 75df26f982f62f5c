/**
 * Finite-difference gradient check (as torch.autograd.gradcheck, through a random projection): the autograd gradient
 * of sum(w ⊙ fn(inputs)) must equal central differences for every element of every checked float64 input.
 */
import assert from 'node:assert/strict';
import { Generator, Tensor, noGrad, randn, tidy } from '../../src/torch/index.js';

export interface GradcheckOptions {
  /** indices of the inputs to differentiate (default: every float64 input) */
  wrt?: number[];
  eps?: number;
  atol?: number;
  rtol?: number;
  seed?: number;
}

export function gradcheck(fn: (...inputs: Tensor[]) => Tensor, inputs: Tensor[], options: GradcheckOptions = {}): void {
  const { eps = 1e-6, atol = 1e-6, rtol = 1e-4, seed = 0 } = options;
  const wrt = options.wrt ?? inputs.flatMap((x, i) => (x.dtype === 'float64' ? [i] : []));
  for (const i of wrt) assert.equal(inputs[i].dtype, 'float64', `gradcheck input ${i} must be float64`);
  tidy(() => {
    const weights = noGrad(() => randn(fn(...inputs).shape, new Generator(seed), 'float64'));
    const objective = (xs: Tensor[]) => fn(...xs).mul(weights).sum();

    const leaves = inputs.map((x, i) => (wrt.includes(i) ? x.detach().clone().requiresGrad_(true) : x));
    objective(leaves).backward();
    for (const i of wrt) {
      const grad = leaves[i].grad;
      assert.ok(grad, `input ${i} received no gradient`);
      const analytic = grad.toArray();
      const numeric = numericGradient(objective, inputs, i, eps);
      for (let k = 0; k < numeric.length; k++) {
        const diff = Math.abs(analytic[k] - numeric[k]);
        if (!(diff <= atol + rtol * Math.abs(numeric[k]))) {
          assert.fail(`input ${i}, element ${k}: autograd ${analytic[k]}, finite difference ${numeric[k]} (|diff| ${diff})`);
        }
      }
    }
  });
}

function numericGradient(objective: (xs: Tensor[]) => Tensor, inputs: Tensor[], which: number, eps: number): number[] {
  return noGrad(() => {
    const x = inputs[which];
    const values = Float64Array.from(x.toTypedArray() as Float64Array);
    const at = (k: number, delta: number) =>
      tidy(() => {
        const shifted = values.slice();
        shifted[k] += delta;
        const xs = inputs.slice();
        xs[which] = Tensor.fromBuffer(shifted, x.shape, 'float64');
        return objective(xs).item();
      });
    return Array.from(values, (_, k) => (at(k, eps) - at(k, -eps)) / (2 * eps));
  });
}
