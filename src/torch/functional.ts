// Neural-network functions (torch.nn.functional equivalents) over Tensors.
import { native } from './native.js';
import { type InterpolationMode, Tensor, arange, tensor } from './tensor.js';
import { tidy } from './scope.js';

function expandArg(v: number | number[], n: number): number[] {
  return Array.isArray(v) ? v : new Array<number>(n).fill(v);
}

export interface ConvOptions {
  stride?: number | number[];
  padding?: number | number[];
  dilation?: number | number[];
  groups?: number;
}

/** N-d convolution (1D/2D/3D by the weight's rank). */
export function conv(x: Tensor, weight: Tensor, bias: Tensor | null, options: ConvOptions = {}): Tensor {
  const n = weight.ndim - 2;
  return new Tensor(
    native.convolution(x.native, weight.native, bias?.native ?? null, expandArg(options.stride ?? 1, n), expandArg(options.padding ?? 0, n),
      expandArg(options.dilation ?? 1, n), false, new Array<number>(n).fill(0), options.groups ?? 1),
  );
}

/** N-d transposed convolution; weight shape [in, out/groups, ...kernel]. */
export function convTranspose(x: Tensor, weight: Tensor, bias: Tensor | null, options: ConvOptions & { outputPadding?: number | number[] } = {}): Tensor {
  const n = weight.ndim - 2;
  return new Tensor(
    native.convolution(x.native, weight.native, bias?.native ?? null, expandArg(options.stride ?? 1, n), expandArg(options.padding ?? 0, n),
      expandArg(options.dilation ?? 1, n), true, expandArg(options.outputPadding ?? 0, n), options.groups ?? 1),
  );
}

/** Instance normalization with input statistics (nnU-Net's InstanceNorm, track_running_stats=False). */
export function instanceNorm(x: Tensor, weight: Tensor | null, bias: Tensor | null, eps = 1e-5): Tensor {
  return new Tensor(native.instanceNorm(x.native, weight?.native ?? null, bias?.native ?? null, eps));
}

export function leakyRelu(x: Tensor, negativeSlope = 0.01): Tensor {
  return new Tensor(native.leakyRelu(x.native, negativeSlope));
}
/** In place: autograd keeps the output instead of a second activation (nnU-Net's LeakyReLU(inplace=True)). */
export function leakyRelu_(x: Tensor, negativeSlope = 0.01): Tensor {
  native.leakyRelu_(x.native, negativeSlope);
  return x;
}
export interface AvgPoolOptions {
  stride?: number | number[];
  padding?: number | number[];
  ceilMode?: boolean;
  countIncludePad?: boolean;
}
/** N-d average pooling (N = kernelSize.length), as torch.nn.functional.avg_poolNd; stride defaults to the kernel. */
export function avgPool(x: Tensor, kernelSize: number[], options: AvgPoolOptions = {}): Tensor {
  const n = kernelSize.length;
  return new Tensor(native.avgPool(x.native, kernelSize, expandArg(options.stride ?? kernelSize, n), expandArg(options.padding ?? 0, n),
    options.ceilMode ?? false, options.countIncludePad ?? true));
}
export function softmax(x: Tensor, dim: number): Tensor {
  return new Tensor(native.softmax(x.native, dim));
}
export function logSoftmax(x: Tensor, dim: number): Tensor {
  return new Tensor(native.logSoftmax(x.native, dim));
}

export interface CrossEntropyOptions {
  weight?: Tensor;
  reduction?: 'none' | 'mean' | 'sum';
  ignoreIndex?: number;
  labelSmoothing?: number;
}
const REDUCTION = { none: 0, mean: 1, sum: 2 } as const;

/** Cross-entropy over logits [N, C, ...] and int64 class targets [N, ...]. */
export function crossEntropy(logits: Tensor, target: Tensor, options: CrossEntropyOptions = {}): Tensor {
  return new Tensor(
    native.crossEntropy(logits.native, target.native, options.weight?.native ?? null, REDUCTION[options.reduction ?? 'mean'],
      options.ignoreIndex ?? -100, options.labelSmoothing ?? 0),
  );
}

export interface InterpolateOptions {
  size?: number[];
  scaleFactor?: number[];
  mode?: InterpolationMode;
  alignCorners?: boolean;
}
/** Resizes [N, C, ...spatial]; as torch.nn.functional.interpolate. */
export function interpolate(x: Tensor, options: InterpolateOptions): Tensor {
  const mode = options.mode ?? 'nearest';
  // torch's default for the interpolating modes, passed explicitly (libtorch warns on every call otherwise)
  const alignCorners = options.alignCorners ?? (/linear|cubic/.test(mode) ? false : undefined);
  return new Tensor(native.interpolate(x.native, options.size, options.scaleFactor, mode, alignCorners));
}

/** Sampling grid for a batch of affine matrices theta [N, d, d+1]; size = [N, C, ...spatial]. */
export function affineGrid(theta: Tensor, size: number[], alignCorners = false): Tensor {
  return new Tensor(native.affineGrid(theta.native, size, alignCorners));
}

const GRID_MODE = { bilinear: 0, nearest: 1, bicubic: 2 } as const;
const GRID_PADDING = { zeros: 0, border: 1, reflection: 2 } as const;
export interface GridSampleOptions {
  mode?: keyof typeof GRID_MODE;
  paddingMode?: keyof typeof GRID_PADDING;
  alignCorners?: boolean;
}
export function gridSample(x: Tensor, grid: Tensor, options: GridSampleOptions = {}): Tensor {
  return new Tensor(native.gridSample(x.native, grid.native, GRID_MODE[options.mode ?? 'bilinear'], GRID_PADDING[options.paddingMode ?? 'zeros'],
    options.alignCorners ?? false));
}

/** Normalized 1D Gaussian kernel, truncated at `truncate`·σ like scipy.ndimage.gaussian_filter. */
export function gaussianKernel1d(sigma: number, truncate = 4): Tensor {
  const radius = Math.max(1, Math.round(truncate * sigma));
  const values: number[] = [];
  for (let i = -radius; i <= radius; i++) values.push(Math.exp(-0.5 * (i / sigma) ** 2));
  const total = values.reduce((a, b) => a + b, 0);
  return tensor(values.map((v) => v / total), undefined, 'float64');
}

/** Separable Gaussian smoothing of [N, C, ...spatial], one σ per spatial axis (0 = skip), edges replicated. */
export function gaussianSmooth(x: Tensor, sigmas: number[]): Tensor {
  return tidy(() => {
    const spatial = x.ndim - 2;
    const channels = x.size(1);
    let out = x;
    sigmas.forEach((sigma, axis) => {
      if (sigma <= 0) return;
      const k = gaussianKernel1d(sigma).to(x.dtype);
      const r = (k.size(0) - 1) / 2;
      const kernelShape = [channels, 1, ...new Array<number>(spatial).fill(1)];
      kernelShape[2 + axis] = k.size(0);
      const weight = k.reshape([1, 1, -1]).expand([channels, 1, k.size(0)]).reshape(kernelShape).contiguous();
      // replicate padding along this axis by index clamping, then a depthwise valid convolution
      const n = out.size(2 + axis);
      const idx = arange(-r, n + r).clamp(0, n - 1);
      out = conv(out.indexSelect(2 + axis, idx), weight, null, { groups: channels });
    });
    return out === x ? x.clone() : out;
  });
}
