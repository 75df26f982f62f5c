/**
 * nnU-Net's --verify_dataset_integrity (experiment_planning/verify_dataset_integrity.py), except that every
 * problem is collected and reported at once, each naming its file. Errors are what nnU-Net refuses; warnings
 * are what it only prints (a label file with background only). A geometry difference between a case's files is
 * an error when it moves a voxel centre by more than half a voxel, a warning below (geometry-check.ts).
 */
import path from 'node:path';
import { UserError } from '../errors.js';
import { readNifti, type NiftiVolume } from '../io/nifti.js';
import { loadDatasetJson, type DatasetJson } from './dataset-json.js';
import { caseGeometryProblems } from './geometry-check.js';
import { labelManagerFrom } from './labels.js';
import { formatProblems, scanRawDataset, type DatasetProblem, type TrainingCase } from './raw-dataset.js';

export interface IntegrityOptions {
  /** Cases read at once (default 4). */
  concurrency?: number;
  /** Report geometry differences beyond half a voxel as warnings, not errors (--allow-geometry-mismatch). */
  allowGeometryMismatch?: boolean;
}

export interface IntegrityReport {
  datasetDir: string;
  /** Training cases that were complete enough to read. */
  numCasesChecked: number;
  problems: DatasetProblem[];
  /** True when there are no errors (warnings allowed). */
  ok: boolean;
}

const error = (file: string, message: string): DatasetProblem => ({ file, message, severity: 'error' });
const warning = (file: string, message: string): DatasetProblem => ({ file, message, severity: 'warning' });

const fmt = (v: readonly number[]): string => `[${v.map((x) => +x.toPrecision(7)).join(', ')}]`;
const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

/** Strips the "<file>: " prefix our readers put on messages, since a problem names its file separately. */
function readProblem(file: string, err: unknown): DatasetProblem {
  if (!(err instanceof UserError)) throw err;
  return error(file, err.message.startsWith(`${file}: `) ? err.message.slice(file.length + 2) : err.message);
}

function nonFiniteProblem(vol: NiftiVolume): DatasetProblem | null {
  if (!(vol.data instanceof Float32Array || vol.data instanceof Float64Array)) return null;
  let nan = 0;
  let inf = 0;
  for (let i = 0; i < vol.data.length; i++) {
    const v = vol.data[i];
    if (v !== v) nan++;
    else if (v === Infinity || v === -Infinity) inf++;
  }
  if (nan === 0 && inf === 0) return null;
  return error(vol.path, `contains ${nan} NaN and ${inf} infinite voxel(s); replace them with sensible values`);
}

/** Distinct values of a label volume (one pass; uint8 through a histogram). */
function distinctValues(data: NiftiVolume['data']): number[] {
  if (data instanceof Uint8Array) {
    const seen = new Uint8Array(256);
    for (let i = 0; i < data.length; i++) seen[data[i]] = 1;
    return [...seen.keys()].filter((v) => seen[v]);
  }
  const set = new Set<number>();
  for (let i = 0; i < data.length; i++) set.add(data[i]);
  return [...set].sort((a, b) => a - b);
}

function labelProblems(seg: NiftiVolume, declared: readonly number[]): DatasetProblem[] {
  const values = distinctValues(seg.data);
  if (values.some((v) => Number.isNaN(v))) return [error(seg.path, 'contains NaN voxels')];
  const nonInteger = values.filter((v) => !Number.isInteger(v));
  if (nonInteger.length > 0) return [error(seg.path, `contains non-integer label values ${fmt(nonInteger.slice(0, 10))}`)];
  const undeclared = values.filter((v) => !declared.includes(v));
  if (undeclared.length > 0) {
    return [error(seg.path, `label values ${undeclared.join(', ')} are not declared in dataset.json labels (declared: ${declared.join(', ')})`)];
  }
  if (values.length === 1 && values[0] === 0) return [warning(seg.path, 'contains only background (label 0)')];
  return [];
}

/** Shape of `other` against the case's first channel (geometry is compared by caseGeometryProblems). */
function shapeProblem(ref: NiftiVolume, other: NiftiVolume, what: string): DatasetProblem[] {
  if (ref.shape.length !== other.shape.length || sameShape(ref.shape, other.shape)) return []; // ndim: the dimensionality check
  return [error(other.path, `${what} shape ${fmt(other.shape)} differs from ${path.basename(ref.path)} shape ${fmt(ref.shape)}`)];
}

/** Reads and checks one case; returns its problems and the dimensionality of each file read. */
async function checkCase(
  c: TrainingCase,
  declared: readonly number[],
  allowGeometryMismatch: boolean,
): Promise<{ problems: DatasetProblem[]; ndims: Map<string, number> }> {
  const problems: DatasetProblem[] = [];
  const ndims = new Map<string, number>();
  const read = async (file: string): Promise<NiftiVolume | null> => {
    try {
      const vol = await readNifti(file);
      ndims.set(file, vol.shape.length);
      return vol;
    } catch (err) {
      problems.push(readProblem(file, err));
      return null;
    }
  };
  const [seg, ...images] = await Promise.all([read(c.label), ...c.images.map(read)]);
  for (const img of images) {
    const p = img && nonFiniteProblem(img);
    if (p) problems.push(p);
  }
  if (seg) problems.push(...labelProblems(seg, declared));
  const ref = images[0];
  if (ref) {
    images.slice(1).forEach((img, i) => img && problems.push(...shapeProblem(ref, img, `channel ${i + 1}`)));
    if (seg) problems.push(...shapeProblem(ref, seg, 'label'));
  }
  // Only cases whose files all read: the comparison needs every header.
  if (seg && images.every((img) => img !== null)) {
    problems.push(...caseGeometryProblems(images as NiftiVolume[], seg, allowGeometryMismatch));
  }
  return { problems, ndims };
}

/** Files whose dimensionality differs from the most common one (e.g. a 2D file among 3D ones), and 4D images. */
function dimensionalityProblems(ndims: Map<string, number>): DatasetProblem[] {
  const counts = new Map<number, number>();
  for (const n of ndims.values()) counts.set(n, (counts.get(n) ?? 0) + 1);
  const usual = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]?.[0];
  const problems: DatasetProblem[] = [];
  for (const [file, n] of ndims) {
    if (n > 3) problems.push(error(file, `is ${n}D: nnU-Net expects one 2D or 3D file per channel (split 4D files into _0000, _0001, ...)`));
    else if (n !== usual) problems.push(error(file, `is ${n}D but the dataset's other files are ${usual}D`));
  }
  return problems;
}

/**
 * Checks a raw dataset folder and reports every problem at once: bad or missing dataset.json, missing or
 * stray files, missing channels, paths outside the folder, numTraining, unreadable or truncated files,
 * NaN/Inf images, undeclared label values, mixed dimensionality, and shape/spacing/origin/direction
 * mismatches between channels and label. Reads `concurrency` cases at a time (default 4). A geometry difference
 * beyond half a voxel is an error unless `allowGeometryMismatch`.
 */
export async function verifyDatasetIntegrity(datasetDir: string, options: IntegrityOptions = {}): Promise<IntegrityReport> {
  const dir = path.resolve(datasetDir);
  const jsonFile = path.join(dir, 'dataset.json');
  const report = (problems: DatasetProblem[], numCasesChecked: number): IntegrityReport => ({
    datasetDir: dir,
    numCasesChecked,
    problems,
    ok: problems.every((p) => p.severity !== 'error'),
  });
  let json: DatasetJson;
  try {
    json = await loadDatasetJson(jsonFile);
  } catch (err) {
    return report([readProblem(jsonFile, err)], 0);
  }
  const scan = await scanRawDataset(dir, json);
  const problems = [...scan.problems];
  if (scan.identifiers.length !== json.numTraining) {
    problems.push(error(jsonFile, `numTraining is ${json.numTraining} but ${scan.identifiers.length} training case(s) were found`));
  }
  // upstream's expected labels: all_labels (region members included) plus the ignore label (loading already refused
  // broken regions and a misplaced ignore)
  const declared = labelManagerFrom(json, jsonFile).declaredValues;
  const ndims = new Map<string, number>();
  const perCase = new Array<DatasetProblem[]>(scan.training.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < scan.training.length) {
      const index = next++;
      const result = await checkCase(scan.training[index], declared, options.allowGeometryMismatch ?? false);
      perCase[index] = result.problems;
      for (const [f, n] of result.ndims) ndims.set(f, n);
    }
  };
  const concurrency = Math.max(1, options.concurrency ?? 4);
  await Promise.all(Array.from({ length: Math.min(concurrency, scan.training.length) }, worker));
  problems.push(...perCase.flat(), ...dimensionalityProblems(ndims));
  return report(problems, scan.training.length);
}

export function formatIntegrityReport(report: IntegrityReport): string {
  const errors = report.problems.filter((p) => p.severity === 'error').length;
  const warnings = report.problems.length - errors;
  const head = `${report.datasetDir}: ${report.numCasesChecked} training case(s) checked, ${errors} error(s), ${warnings} warning(s)`;
  return report.problems.length === 0 ? head : `${head}\n${formatProblems(report.problems)}`;
}

/** verifyDatasetIntegrity, throwing a UserError that lists every problem when there is any error. */
export async function assertDatasetIntegrity(datasetDir: string, options: IntegrityOptions = {}): Promise<IntegrityReport> {
  const report = await verifyDatasetIntegrity(datasetDir, options);
  if (!report.ok) throw new UserError(formatIntegrityReport(report));
  return report;
}
