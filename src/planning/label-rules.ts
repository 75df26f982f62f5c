// dataset.json's label rules, torch-free so that loading a dataset.json does not load the engine: the checks
// (labelIssues) and the label sets they allow. The LabelManager (labels.ts) builds on them.
import { UserError } from '../errors.js';

/** A label (one integer) or a region (the union of several labels, nnU-Net's region-based training). */
export type LabelOrRegion = number | readonly number[];

/** nnU-Net's dictionary key for a label or region: `str(1)` = "1", `str((1, 2))` = "(1, 2)", `str((1,))` = "(1,)". */
export function labelOrRegionKey(labelOrRegion: LabelOrRegion): string {
  if (typeof labelOrRegion === 'number') return String(labelOrRegion);
  return labelOrRegion.length === 1 ? `(${labelOrRegion[0]},)` : `(${labelOrRegion.join(', ')})`;
}

/** What the label manager reads of dataset.json. Values are wider than DatasetJson's so raw JSON can be checked too. */
export interface LabelSource {
  labels: Readonly<Record<string, unknown>>;
  regions_class_order?: readonly number[];
}

/** One broken label rule, at a dataset.json key path (e.g. ['labels', 'ignore']). */
export interface LabelIssue {
  path: string[];
  message: string;
}

export const REGIONS_NOT_SUPPORTED =
  'is a list of label values (a region): region-based training (list-valued labels with regions_class_order) comes with the next issue; give each label one integer for now';

const isLabelValue = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/**
 * Every way `source.labels` breaks nnU-Net's rules: background declared as 0 (LabelManager._sanity_check), integer
 * values, no regions (for now), values consecutive from 0 (verify_dataset_integrity), and an integer ignore label
 * equal to the highest other label + 1 (LabelManager.__init__). Several names may share a value, as upstream.
 */
export function labelIssues(source: LabelSource): LabelIssue[] {
  const issues: LabelIssue[] = [];
  const values: number[] = [];
  for (const [name, value] of Object.entries(source.labels)) {
    if (Array.isArray(value)) issues.push({ path: ['labels', name], message: `"${name}" ${REGIONS_NOT_SUPPORTED}` });
    else if (!isLabelValue(value)) issues.push({ path: ['labels', name], message: 'a label value must be a non-negative integer' });
    else if (name !== 'ignore') values.push(value);
  }
  if (source.labels.background !== 0) issues.push({ path: ['labels'], message: 'labels must declare "background": 0' });
  const sorted = [...new Set(values)].sort((a, b) => a - b);
  if (sorted.some((v, i) => v !== i)) {
    issues.push({ path: ['labels'], message: `label values must be consecutive 0, 1, 2, ..., got ${sorted.join(', ')}` });
  }
  const ignore = source.labels.ignore;
  const highest = (sorted.at(-1) ?? -1) + 1;
  if (isLabelValue(ignore) && ignore !== highest) {
    issues.push({ path: ['labels', 'ignore'], message: `the ignore label must be the highest value (${highest})` });
  }
  return issues;
}

/** Whether a class_locations key is the annotated-voxel key (only it holds -1: labels and regions are non-negative). */
export function isAnnotatedClassesKey(key: string): boolean {
  return key.startsWith('(-1,');
}

/** The label values a valid dataset.json declares: every one but the ignore label, ascending, and the ignore label. */
export function declaredLabels(json: LabelSource, file = 'dataset.json'): { allLabels: number[]; ignoreLabel: number | null } {
  const issues = labelIssues(json);
  if (issues.length > 0) {
    throw new UserError(`${file}: invalid labels\n${issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n')}`);
  }
  const labels = json.labels as Readonly<Record<string, number>>;
  const allLabels = [...new Set(Object.entries(labels).filter(([name]) => name !== 'ignore').map(([, v]) => v))].sort((a, b) => a - b);
  return { allLabels, ignoreLabel: labels.ignore ?? null };
}
