// The cascade's link between stages, in upstream's layout: the 3d_lowres final validation writes each validation
// case's segmentation, resampled to the next stage's preprocessed shape, as
// `<lowres model folder>/predicted_next_stage/<next stage>/<case>.npz` (key `seg`, uint8, [z, y, x]), and the
// cascade stage (3d_cascade_fullres) reads them back as a second segmentation channel of its training cases.
import { access } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../errors.js';
import { readNpz, writeNpz } from '../io/npz.js';
import { DEFAULT_PLANS, DEFAULT_TRAINER, modelFolder } from '../model/model-folder.js';
import type { Splits } from './splits.js';

export const PREDICTED_NEXT_STAGE = 'predicted_next_stage';

/** `<model folder>/predicted_next_stage/<next stage>`: where a stage writes its predictions for the next one. */
export function nextStageFolder(modelDir: string, nextStage: string): string {
  return path.join(modelDir, PREDICTED_NEXT_STAGE, nextStage);
}

const caseFile = (folder: string, caseId: string) => path.join(folder, `${caseId}.npz`);

/** Writes one case's segmentation for the next stage as upstream's resample_and_save (np.savez_compressed, key seg, uint8). */
export async function writeNextStageSegmentation(folder: string, caseId: string, seg: Uint8Array, shape: number[]): Promise<void> {
  await writeNpz(caseFile(folder, caseId), { seg: { data: seg, shape, dtype: 'uint8' } });
}

/** One case's previous-stage segmentation; it must have the spatial shape of the case it is paired with. */
export async function readPreviousStageSegmentation(folder: string, caseId: string, spatialShape: readonly number[]): Promise<Uint8Array> {
  const file = caseFile(folder, caseId);
  const seg = (await readNpz(file)).seg;
  if (!seg || !(seg.data instanceof Uint8Array) || (seg.dtype !== 'uint8' && seg.dtype !== 'bool')) {
    throw new UserError(`${file}: expected a uint8 array 'seg' (a previous-stage segmentation), got ${seg ? seg.dtype : 'no seg array'}`);
  }
  const shape = seg.shape.length === spatialShape.length + 1 && seg.shape[0] === 1 ? seg.shape.slice(1) : seg.shape;
  if (shape.length !== spatialShape.length || shape.some((s, i) => s !== spatialShape[i])) {
    throw new UserError(`${file}: shape [${seg.shape}] does not match the preprocessed case [${spatialShape}]; the previous stage was predicted for other preprocessed data: rerun its final validation (\`nnunet train ... --val\`)`);
  }
  return seg.data;
}

export interface StageIdentity {
  /** dataset name, as the commands in messages take it */
  datasetName: string;
  trainer: string;
  plans: string;
}

/** Case names for a message: all of them, or the first ten and how many more. */
export function listSome(names: readonly string[]): string {
  return names.length > 10 ? `${names.slice(0, 10).join(', ')} and ${names.length - 10} more` : names.join(', ');
}

/** The trainer and plans flags of a command, when they are not the defaults. */
export function stageFlags(id: Pick<StageIdentity, 'trainer' | 'plans'>): string {
  return `${id.trainer !== DEFAULT_TRAINER ? ` --trainer ${id.trainer}` : ''}${id.plans !== DEFAULT_PLANS ? ` -p ${id.plans}` : ''}`;
}

/** `nnunet train <dataset> <configuration> <fold>` with the trainer and plans flags. */
export function trainCommand(id: StageIdentity, configuration: string, fold: number | 'all'): string {
  return `nnunet train ${id.datasetName} ${configuration} ${fold}${stageFlags(id)}`;
}

/**
 * The folder of the previous stage's predictions a cascade stage trains on, checked to hold every case of the split
 * (its training and its validation cases: as upstream, that takes all folds of the previous stage). Missing cases are
 * one UserError naming the cases, the previous-stage folds whose validation writes them, and the commands.
 */
export async function previousStageFolderFor(
  resultsDatasetDir: string,
  id: StageIdentity,
  stage: { configuration: string; previousStage: string },
  cases: readonly string[],
  splits: Splits,
): Promise<string> {
  const folder = nextStageFolder(modelFolder(resultsDatasetDir, { trainer: id.trainer, plans: id.plans, configuration: stage.previousStage }), stage.configuration);
  const missing: string[] = [];
  await Promise.all(cases.map((c) => access(caseFile(folder, c)).catch(() => missing.push(c))));
  if (missing.length === 0) return folder;
  missing.sort();
  const folds = new Set<number | 'all'>();
  for (const c of missing) {
    const f = splits.findIndex((s) => s.val.includes(c));
    folds.add(f >= 0 ? f : 'all');
  }
  const sortedFolds = [...folds].sort((a, b) => (a === 'all' ? 1 : b === 'all' ? -1 : a - b));
  throw new UserError(
    `${stage.configuration} is a cascade stage: it trains on the ${stage.previousStage} predictions of every case, but ${folder} lacks ${missing.length} of ${cases.length} (${listSome(missing)}). ` +
      `They are written by the final validation of ${stage.previousStage} fold(s) ${sortedFolds.join(', ')}; run:\n${sortedFolds.map((f) => `  ${trainCommand(id, stage.previousStage, f)}`).join('\n')}`,
  );
}

/**
 * data [C, ...spatial] with one channel per label appended, 1 where `seg` (the spatial shape) holds it: upstream's
 * np.vstack((data, convert_labelmap_to_one_hot(seg, foreground_labels))), the cascade's network input.
 */
export function appendOneHot(data: Float32Array, shape: readonly number[], seg: ArrayLike<number>, labels: readonly number[]): { data: Float32Array; shape: number[] } {
  const n = seg.length;
  if (data.length !== shape[0] * n) throw new Error(`appendOneHot: data [${shape}] and a segmentation of ${n} voxels do not match`);
  const out = new Float32Array(data.length + labels.length * n);
  out.set(data);
  labels.forEach((label, k) => {
    const offset = data.length + k * n;
    for (let v = 0; v < n; v++) if (seg[v] === label) out[offset + v] = 1;
  });
  return { data: out, shape: [shape[0] + labels.length, ...shape.slice(1)] };
}
