/**
 * Geometry agreement between the files of a training case: every channel against channel 0, and the label against
 * the channels. nnU-Net compares SimpleITK's spacing, origin and direction with np.allclose and only prints a warning
 * for origin or direction (verify_dataset_integrity.py, check_cases; SimpleITKIO.read_images between channels), then
 * uses the voxel arrays as they are. Here a difference is measured by how far it moves a voxel centre: beyond half a
 * voxel the label (or channel) cannot be trusted to line up with the image, and that is refused unless the caller
 * allows it; below, it is a warning.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { UserError } from '../errors.js';
import { itkGeometry, type ItkGeometry, type NiftiHeader } from '../io/nifti.js';
import { NiftiFormatError, parseHeader } from '../io/nifti-header.js';
import { formatProblems, type DatasetProblem, type TrainingCase } from './raw-dataset.js';

/** A file and its header: what the comparison needs, whether the voxels were read or not. */
export interface GeometrySource {
  path: string;
  header: NiftiHeader;
}

/** One file whose geometry differs from its reference beyond np.allclose. */
export interface GeometryFinding {
  file: string;
  reference: string;
  /** 'label' or 'channel <k>'. */
  role: string;
  /** The differences, e.g. "origin off by [0, 0, 10] mm (LPS x, y, z), 10 voxels". */
  differences: string[];
  /** Largest move of a voxel centre, in voxels of the reference along its own axes, over the whole grid. */
  maxShiftVoxels: number;
}

/** A voxel centre may move by up to this many voxels before the arrays are taken not to line up. */
export const MAX_SHIFT_VOXELS = 0.5;

/** np.allclose with its defaults (rtol 1e-5, atol 1e-8), nnU-Net's test for "the same geometry". */
function allClose(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => Math.abs(v - b[i]) <= 1e-8 + 1e-5 * Math.abs(b[i]));
}

// "+ 0" turns -0 into 0 so that a difference of zero prints as 0.
const num = (x: number, digits = 6): number => +x.toPrecision(digits) + 0;
const vec = (v: readonly number[], digits?: number): string => `[${v.map((x) => num(x, digits)).join(', ')}]`;
const AXES = ['x', 'y', 'z'];

/** Voxel index (ITK order) -> world: the n x n matrix direction · diag(spacing). */
function indexToWorld(g: ItkGeometry): number[][] {
  const n = g.spacing.length;
  return Array.from({ length: n }, (_, r) => Array.from({ length: n }, (_, c) => g.direction[r * n + c] * g.spacing[c]));
}

/** The inverse of a small square matrix (Gauss-Jordan with partial pivoting), or null if it is singular. */
function inverse(m: readonly number[][]): number[][] | null {
  const n = m.length;
  const a = m.map((row, r) => [...row, ...Array.from({ length: n }, (_, c) => (c === r ? 1 : 0))]);
  for (let c = 0; c < n; c++) {
    let pivot = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r][c]) > Math.abs(a[pivot][c])) pivot = r;
    if (Math.abs(a[pivot][c]) < 1e-12) return null;
    [a[c], a[pivot]] = [a[pivot], a[c]];
    const p = a[c][c];
    for (let k = 0; k < 2 * n; k++) a[c][k] /= p;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = a[r][c];
      for (let k = 0; k < 2 * n; k++) a[r][k] -= f * a[c][k];
    }
  }
  return a.map((row) => row.slice(n));
}

/**
 * The largest distance, in reference voxels along each reference axis, between where a voxel centre of `other` lies
 * in the world and where the same array index lies in `ref`. The displacement is affine in the index, so its maximum
 * over the grid is at a corner.
 */
function maxShift(ref: ItkGeometry, other: ItkGeometry, dims: readonly number[]): number {
  const a = indexToWorld(ref);
  const b = indexToWorld(other);
  const toVoxels = inverse(a);
  if (!toVoxels) return Infinity;
  const n = dims.length;
  let worst = 0;
  for (let corner = 0; corner < 1 << n; corner++) {
    const index = dims.map((d, k) => ((corner >> k) & 1 ? d - 1 : 0));
    const world = Array.from({ length: n }, (_, r) => other.origin[r] - ref.origin[r] + index.reduce((s, i, c) => s + (b[r][c] - a[r][c]) * i, 0));
    for (const row of toVoxels) worst = Math.max(worst, Math.abs(row.reduce((s, v, c) => s + v * world[c], 0)));
  }
  return worst;
}

/** "a 5.71° rotation" or "a mirror flip": what takes `ref`'s axes to `other`'s (meaningful for orthonormal ones). */
function rotationOf(ref: ItkGeometry, other: ItkGeometry): string {
  const n = ref.spacing.length;
  const r = Array.from({ length: n }, (_, i) =>
    Array.from({ length: n }, (_, j) => Array.from({ length: n }, (_, k) => other.direction[i * n + k] * ref.direction[j * n + k]).reduce((s, v) => s + v, 0)),
  );
  const det = n === 3 ? r[0][0] * (r[1][1] * r[2][2] - r[1][2] * r[2][1]) - r[0][1] * (r[1][0] * r[2][2] - r[1][2] * r[2][0]) + r[0][2] * (r[1][0] * r[2][1] - r[1][1] * r[2][0]) : n === 2 ? r[0][0] * r[1][1] - r[0][1] * r[1][0] : r[0][0];
  if (det < 0) return 'a mirror flip';
  const trace = r.reduce((s, row, i) => s + row[i], 0);
  const cos = n === 3 ? (trace - 1) / 2 : n === 2 ? trace / 2 : 1;
  return `a ${num((Math.acos(Math.min(1, Math.max(-1, cos))) * 180) / Math.PI, 3)}° rotation`;
}

const voxels = (v: number): string => (Number.isFinite(v) ? `${num(v, 3)} voxel${num(v, 3) === 1 ? '' : 's'}` : 'an unbounded shift');

/**
 * Compares `other` with `reference` (same array shape assumed; a shape or dimensionality difference is reported by
 * the callers' own checks). Null when spacing, origin and direction are all np.allclose.
 */
export function compareGeometry(reference: GeometrySource, other: GeometrySource, role: string): GeometryFinding | null {
  const n = Math.min(reference.header.dims.length, 3);
  const dims = reference.header.dims.slice(0, n);
  if (other.header.dims.length !== reference.header.dims.length || other.header.dims.slice(0, n).some((d, i) => d !== dims[i])) return null;
  const a = itkGeometry(reference.header);
  const b = itkGeometry(other.header);
  const axes = AXES.slice(0, n).join(', ');
  const differences: string[] = [];
  // Each difference alone, measured as the whole one is: what it would move a voxel centre by if it were the only one.
  if (!allClose(b.origin, a.origin)) {
    const offset = b.origin.map((o, i) => o - a.origin[i]);
    differences.push(`origin off by ${vec(offset)} mm (LPS ${axes}), ${voxels(maxShift(a, { ...a, origin: b.origin }, dims))}`);
  }
  if (!allClose(b.direction, a.direction)) {
    const delta = b.direction.map((d, i) => d - a.direction[i]);
    const rows = Array.from({ length: n }, (_, r) => vec(delta.slice(r * n, (r + 1) * n), 4)).join(', ');
    const shift = maxShift(a, { ...a, direction: b.direction }, dims);
    differences.push(`direction differs by [${rows}] (${rotationOf(a, b)}), ${voxels(shift)} at the far corners`);
  }
  if (!allClose(b.spacing, a.spacing)) {
    const shift = maxShift(a, { ...a, spacing: b.spacing }, dims);
    differences.push(`spacing ${vec(b.spacing)} vs ${vec(a.spacing)} mm (${axes}), ${voxels(shift)} at the far corner`);
  }
  if (differences.length === 0) return null;
  return { file: other.path, reference: reference.path, role, differences, maxShiftVoxels: maxShift(a, b, dims) };
}

/**
 * The pairs nnU-Net compares, as findings: channels 1.. against channel 0 (SimpleITKIO.read_images), the label against
 * channel 0 (check_cases) and, where a channel differs from channel 0, the label against that channel too.
 */
export function caseGeometryFindings(images: readonly GeometrySource[], label: GeometrySource): GeometryFinding[] {
  const [first, ...rest] = images;
  if (!first) return [];
  const findings: GeometryFinding[] = [];
  const labelVsFirst = compareGeometry(first, label, 'label');
  if (labelVsFirst) findings.push(labelVsFirst);
  rest.forEach((img, i) => {
    const channel = compareGeometry(first, img, `channel ${i + 1}`);
    if (!channel) return;
    findings.push(channel);
    const labelVsChannel = compareGeometry(img, label, 'label');
    if (labelVsChannel) findings.push(labelVsChannel);
  });
  return findings;
}

// Written as "not within" so that a NaN shift (a degenerate header) counts as beyond.
export const isBeyondHalfVoxel = (f: GeometryFinding): boolean => !(f.maxShiftVoxels <= MAX_SHIFT_VOXELS);

/**
 * A finding as a problem of its file: an error beyond half a voxel unless `allowMismatch`, a warning otherwise. The
 * message names the reference file and says what to do.
 */
export function geometryProblem(f: GeometryFinding, allowMismatch: boolean): DatasetProblem {
  const head = `${f.role} geometry differs from ${f.reference}: ${f.differences.join('; ')}`;
  const total = f.differences.length > 1 ? `; together they move voxel centres by up to ${voxels(f.maxShiftVoxels)}` : '';
  if (!isBeyondHalfVoxel(f)) {
    return { file: f.file, severity: 'warning', message: `${head}${total}; within half a voxel, so the voxel arrays are used as they are` };
  }
  const beyond = `${head}${total}: more than half a voxel`;
  if (allowMismatch) return { file: f.file, severity: 'warning', message: `${beyond}; the voxel arrays are used as they are (--allow-geometry-mismatch)` };
  return {
    file: f.file,
    severity: 'error',
    message:
      `${beyond}, so the voxels do not line up. Resample the ${f.role} onto the grid of ${f.reference}; ` +
      'or, if the voxel arrays do line up and only the header is wrong, fix the header or pass --allow-geometry-mismatch',
  };
}

export function caseGeometryProblems(images: readonly GeometrySource[], label: GeometrySource, allowMismatch: boolean): DatasetProblem[] {
  return caseGeometryFindings(images, label).map((f) => geometryProblem(f, allowMismatch));
}

/** Enough bytes for a NIfTI-1 (348) or NIfTI-2 (540) header. */
const HEADER_PREFIX_BYTES = 540;

/** Up to `n` bytes from the start of `file`, gunzipped when it is gzip (by its magic bytes, as readNifti decides). */
async function readPrefix(file: string, n: number): Promise<Uint8Array> {
  const handle = await open(file, 'r');
  let head: Uint8Array;
  try {
    head = new Uint8Array(n);
    const { bytesRead } = await handle.read(head, 0, n, 0);
    head = head.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
  if (!(head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b)) return head;
  // Only the first chunks are inflated: the stream is dropped once the header is in.
  const input = createReadStream(file);
  const gunzip = createGunzip();
  input.on('error', (err) => gunzip.destroy(err));
  input.pipe(gunzip);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= n) break;
    }
  } catch (err) {
    if (size === 0) throw new UserError(`${file}: truncated or corrupt gzip data (${(err as Error).message})`);
  } finally {
    input.destroy();
    gunzip.destroy();
  }
  return Buffer.concat(chunks).subarray(0, n);
}

/** The header of a .nii or .nii.gz file, without reading its voxels. */
export async function readNiftiHeader(file: string): Promise<NiftiHeader> {
  const bytes = await readPrefix(file, HEADER_PREFIX_BYTES);
  try {
    return parseHeader(bytes).header;
  } catch (err) {
    if (err instanceof NiftiFormatError) throw new UserError(`${file}: ${err.message}`);
    throw err;
  }
}

export interface GeometryCheckOptions {
  /** Let differences beyond half a voxel through, with a warning (the CLI's --allow-geometry-mismatch). */
  allowMismatch?: boolean;
  /** Files whose header is read at once (default 16). */
  concurrency?: number;
  /** Receives each warning as one line (default console.warn). */
  onWarning?: (line: string) => void;
}

/**
 * Reads the headers of every training case and compares their geometry (headers only: the voxels are read once, by
 * the fingerprint). Warns for each difference within half a voxel (or any, if allowed); throws a UserError listing
 * every refused file otherwise. Returns the problems found.
 */
export async function checkTrainingGeometry(cases: readonly TrainingCase[], options: GeometryCheckOptions = {}): Promise<DatasetProblem[]> {
  const files = cases.flatMap((c) => [...c.images, c.label]);
  const headers = new Map<string, NiftiHeader>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const file = files[next++];
      headers.set(file, await readNiftiHeader(file));
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, options.concurrency ?? 16), files.length) }, worker));
  const source = (file: string): GeometrySource => ({ path: file, header: headers.get(file) as NiftiHeader });
  const problems = cases.flatMap((c) => caseGeometryProblems(c.images.map(source), source(c.label), options.allowMismatch ?? false));
  const warn = options.onWarning ?? ((line: string) => console.warn(line));
  for (const p of problems) if (p.severity === 'warning') warn(formatProblems([p]));
  const errors = problems.filter((p) => p.severity === 'error');
  if (errors.length > 0) {
    throw new UserError(`geometry mismatch beyond half a voxel in ${errors.length} file(s):\n${formatProblems(errors)}`);
  }
  return problems;
}
