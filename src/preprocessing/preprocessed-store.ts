/**
 * The on-disk format of preprocessed cases, read by the training data loader:
 * `nnUNet_preprocessed/DatasetXXX_Name/<data_identifier>/` holds per case
 *   `<case>.npy`      float32 [C, ...spatial] (normalized, resampled image),
 *   `<case>_seg.npy`  int8 (labels <= 127) or int16, [1, ...spatial], -1 outside the nonzero crop mask,
 *   `<case>.json`     CaseProperties.
 * Every file is written atomically and the .json last, so a .json marks a finished case.
 */
import { readFile, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { UserError } from '../errors.js';
import { writeFileAtomic } from '../atomic-write.js';
import type { NiftiHeader } from '../io/nifti.js';
import { NIFTI_DTYPES, type NiftiDtype } from '../io/nifti-header.js';
import { readNpy, writeNpy } from '../io/npz.js';

const int = z.number().int();
const num = z.number();
const triple = z.tuple([num, num, num]);

const NiftiHeaderSchema: z.ZodType<NiftiHeader> = z.object({
  version: z.union([z.literal(1), z.literal(2)]),
  dims: z.array(int),
  pixdim: z.array(num),
  datatype: z.enum(Object.keys(NIFTI_DTYPES) as [NiftiDtype, ...NiftiDtype[]]),
  sclSlope: num,
  sclInter: num,
  calMin: num,
  calMax: num,
  qformCode: int,
  sformCode: int,
  quatern: triple,
  qoffset: triple,
  srow: z.array(z.array(num)),
  xyztUnits: int,
  dimInfo: int,
  intentCode: int,
  intentP: triple,
  intentName: z.string(),
  sliceStart: int,
  sliceEnd: int,
  sliceCode: int,
  sliceDuration: num,
  toffset: num,
  descrip: z.string(),
  auxFile: z.string(),
});

export const CasePropertiesSchema = z.looseObject({
  /** Voxel spacing of the raw image in array order [z, y, x] (before transpose_forward), as upstream's 'spacing'. */
  spacing: z.array(num),
  /** Shape after transpose_forward, before cropping. */
  shape_before_cropping: z.array(int),
  /** Half-open [start, end) per axis of the nonzero crop, in transposed axis order. */
  bbox_used_for_cropping: z.array(z.tuple([int, int])),
  shape_after_cropping_and_before_resampling: z.array(int),
  /**
   * Foreground voxels for oversampling, keyed by label value ("1", "2", ...; with an ignore label also the
   * annotated-classes key, see annotatedClassesKey). Each entry is a full [z, y, x] index into the stored
   * arrays' spatial axes (also for 2d configurations, which store 3D volumes and sample slices).
   */
  class_locations: z.record(z.string(), z.array(z.array(int))),
  /** Header of the first input channel: the geometry a prediction is written back with. */
  nifti_header: NiftiHeaderSchema,
  /** Identity of the preprocessing settings that produced the case (see preprocessingHash). */
  preprocessing_hash: z.string().optional(),
});
export type CaseProperties = z.infer<typeof CasePropertiesSchema>;

export interface StoredCase {
  data: Float32Array;
  seg: Int8Array | Int16Array;
  /** [C, ...spatial] of data. */
  shape: number[];
  properties: CaseProperties;
}

const dataFile = (dir: string, caseId: string): string => path.join(dir, `${caseId}.npy`);
const segFile = (dir: string, caseId: string): string => path.join(dir, `${caseId}_seg.npy`);
const propertiesFile = (dir: string, caseId: string): string => path.join(dir, `${caseId}.json`);

/** The three files of a case, for callers that clean up. */
export function caseFiles(dir: string, caseId: string): string[] {
  return [dataFile(dir, caseId), segFile(dir, caseId), propertiesFile(dir, caseId)];
}

function voxels(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Writes one case: data, seg, then properties (the previous .json is removed first, so a half-rewritten case never looks finished). */
export async function writePreprocessedCase(dir: string, caseId: string, c: StoredCase): Promise<void> {
  const spatial = c.shape.slice(1);
  if (c.data.length !== voxels(c.shape)) throw new Error(`${caseId}: data has ${c.data.length} values, shape [${c.shape}] needs ${voxels(c.shape)}`);
  if (c.seg.length !== voxels(spatial)) throw new Error(`${caseId}: seg has ${c.seg.length} values, shape [1, ${spatial}] needs ${voxels(spatial)}`);
  await rm(propertiesFile(dir, caseId), { force: true });
  await writeNpy(dataFile(dir, caseId), { data: c.data, shape: c.shape });
  await writeNpy(segFile(dir, caseId), { data: c.seg, shape: [1, ...spatial] });
  await writeFileAtomic(propertiesFile(dir, caseId), new TextEncoder().encode(JSON.stringify(c.properties)));
}

/** Identifiers of the finished cases in `dir` (those with a .json), sorted; none when `dir` does not exist. */
export async function listPreprocessedCases(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return names
    .filter((n) => n.endsWith('.json') && !n.startsWith('.'))
    .map((n) => n.slice(0, -'.json'.length))
    .sort();
}

/** Reads and validates a case's properties. */
export async function readCaseProperties(dir: string, caseId: string): Promise<CaseProperties> {
  const file = propertiesFile(dir, caseId);
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new UserError(`${file}: cannot read case properties (${(err as Error).message})`);
  }
  const parsed = CasePropertiesSchema.safeParse(value);
  if (!parsed.success) throw new UserError(`${file}: invalid case properties:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

export async function readPreprocessedCase(dir: string, caseId: string): Promise<StoredCase> {
  const properties = await readCaseProperties(dir, caseId);
  const [data, seg] = await Promise.all([readNpy(dataFile(dir, caseId)), readNpy(segFile(dir, caseId))]);
  if (!(data.data instanceof Float32Array) || data.dtype !== 'float32' || data.shape.length < 2) {
    throw new UserError(`${dataFile(dir, caseId)}: expected float32 [C, ...spatial], got ${data.dtype} [${data.shape}]`);
  }
  const spatial = data.shape.slice(1);
  const segOk = (seg.data instanceof Int8Array || seg.data instanceof Int16Array) && seg.shape.length === data.shape.length;
  if (!segOk || seg.shape[0] !== 1 || spatial.some((s, i) => s !== seg.shape[i + 1])) {
    throw new UserError(`${segFile(dir, caseId)}: expected int8/int16 [1, ${spatial}], got ${seg.dtype} [${seg.shape}]`);
  }
  return { data: data.data, seg: seg.data as Int8Array | Int16Array, shape: data.shape, properties };
}
