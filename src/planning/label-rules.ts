// dataset.json's label rules, torch-free so that loading a dataset.json does not load the engine: the checks
// (labelIssues) and the label sets and regions they allow. The LabelManager (labels.ts) builds on them.
import { UserError } from '../errors.js';

/** A label (one integer) or a region (the union of several labels, nnU-Net's region-based training). */
export type LabelOrRegion = number | readonly number[];

/** nnU-Net's dictionary key for a label or region: `str(1)` = "1", `str((1, 2))` = "(1, 2)", `str((1,))` = "(1,)". */
export function labelOrRegionKey(labelOrRegion: LabelOrRegion): string {
  if (typeof labelOrRegion === 'number') return String(labelOrRegion);
  return labelOrRegion.length === 1 ? `(${labelOrRegion[0]},)` : `(${labelOrRegion.join(', ')})`;
}

/** The label values a label or region covers. */
export function regionMembers(labelOrRegion: LabelOrRegion): readonly number[] {
  return typeof labelOrRegion === 'number' ? [labelOrRegion] : labelOrRegion;
}

/** What the label manager reads of dataset.json. Values are wider than DatasetJson's so raw JSON can be checked too. */
export interface LabelSource {
  labels: Readonly<Record<string, unknown>>;
  regions_class_order?: readonly unknown[];
}

/** One broken label rule, at a dataset.json key path (e.g. ['labels', 'ignore']). */
export interface LabelIssue {
  path: string[];
  message: string;
}

const isLabelValue = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/** Region-based training is on when some label is a list of more than one value (LabelManager.__init__). */
function declaresRegions(labels: Readonly<Record<string, unknown>>): boolean {
  return Object.values(labels).some((v) => Array.isArray(v) && v.length > 1);
}

/** Background in region form: 0 or a list of zeros (LabelManager._get_regions skips those). */
const isBackground = (value: unknown): boolean => value === 0 || (Array.isArray(value) && value.length > 0 && value.every((v) => v === 0));

/**
 * Every way `source.labels` breaks nnU-Net's rules: background declared as 0 (LabelManager._sanity_check), integer
 * values or, for regions, non-empty lists of them, values consecutive from 0 (verify_dataset_integrity, region members
 * included as upstream's all_labels), an integer ignore label equal to the highest other label + 1 and in no region
 * (LabelManager.__init__), and with regions a regions_class_order of one declared label per region. Several names may
 * share a value, as upstream.
 */
export function labelIssues(source: LabelSource): LabelIssue[] {
  const issues: LabelIssue[] = [];
  const values: number[] = [];
  const ignore = source.labels.ignore;
  // values each region key holds, to name the key when one of them falls outside the label set
  const regionValues = new Map<string, number[]>();
  for (const [name, value] of Object.entries(source.labels)) {
    const at = ['labels', name];
    if (name === 'ignore') {
      if (!isLabelValue(value)) issues.push({ path: at, message: Array.isArray(value) ? 'the ignore label must be one integer, not a list (a region)' : 'a label value must be a non-negative integer' });
    } else if (Array.isArray(value)) {
      if (value.length === 0) issues.push({ path: at, message: `"${name}" is an empty region: list at least one label value` });
      else if (!value.every(isLabelValue)) issues.push({ path: at, message: `region "${name}" holds ${JSON.stringify(value)}: region members must be non-negative integers` });
      else if (isLabelValue(ignore) && value.includes(ignore)) issues.push({ path: at, message: `region "${name}" holds the ignore label ${ignore}: the ignore label cannot be part of a region` });
      else {
        values.push(...value);
        regionValues.set(name, value);
      }
    } else if (!isLabelValue(value)) issues.push({ path: at, message: 'a label value must be a non-negative integer' });
    else values.push(value);
  }
  if (source.labels.background !== 0) issues.push({ path: ['labels'], message: 'labels must declare "background": 0' });
  const sorted = [...new Set(values)].sort((a, b) => a - b);
  const gap = sorted.findIndex((v, i) => v !== i);
  if (gap >= 0) {
    // values from the first gap on are outside the consecutive label set 0..gap-1; regions holding one are named
    const outside = new Set(sorted.slice(gap));
    const inRegions = new Set<number>();
    for (const [name, members] of regionValues) {
      const bad = [...new Set(members.filter((v) => outside.has(v)))];
      bad.forEach((v) => inRegions.add(v));
      if (bad.length > 0) issues.push({ path: ['labels', name], message: `region "${name}" holds ${bad.join(', ')}, outside the label set: label values must be consecutive 0, 1, 2, ..., got ${sorted.join(', ')}` });
    }
    if ([...outside].some((v) => !inRegions.has(v))) issues.push({ path: ['labels'], message: `label values must be consecutive 0, 1, 2, ..., got ${sorted.join(', ')}` });
  }
  const highest = (sorted.at(-1) ?? -1) + 1;
  if (isLabelValue(ignore) && ignore !== highest) {
    issues.push({ path: ['labels', 'ignore'], message: `the ignore label must be the highest value (${highest})` });
  }
  if (declaresRegions(source.labels)) issues.push(...regionOrderIssues(source, sorted));
  return issues;
}

/** regions_class_order: required with regions, one entry per region, each a declared label (what the head paints). */
function regionOrderIssues(source: LabelSource, allLabels: readonly number[]): LabelIssue[] {
  const at = ['regions_class_order'];
  const order = source.regions_class_order;
  const numRegions = Object.entries(source.labels).filter(([name, v]) => name !== 'ignore' && !isBackground(v)).length;
  if (order === undefined) return [{ path: at, message: `list-valued labels (regions) need regions_class_order: the label each of the ${numRegions} region(s) paints, in painting order` }];
  const issues: LabelIssue[] = [];
  if (order.length !== numRegions) issues.push({ path: at, message: `has ${order.length} entries but labels declare ${numRegions} region(s): give one label per region, in the order of labels` });
  order.forEach((v, i) => {
    if (!isLabelValue(v) || v === 0 || !allLabels.includes(v)) issues.push({ path: [...at, String(i)], message: `${JSON.stringify(v)} is not a foreground label of the label set (${allLabels.filter((l) => l !== 0).join(', ')})` });
  });
  return issues;
}

/** Whether a class_locations key is the annotated-voxel key (only it holds -1: labels and regions are non-negative). */
export function isAnnotatedClassesKey(key: string): boolean {
  return key.startsWith('(-1,');
}

/** What a valid dataset.json declares, as upstream's LabelManager reads it. */
export interface DeclaredLabels {
  /** Every label value but the ignore label (region members included), ascending. */
  allLabels: number[];
  ignoreLabel: number | null;
  /** With regions: every non-background, non-ignore entry of labels in dataset.json order (LabelManager._get_regions). */
  regions?: LabelOrRegion[];
  regionsClassOrder?: number[];
}

/** The label values (and regions) a valid dataset.json declares; a UserError naming `file` and each broken key otherwise. */
export function declaredLabels(json: LabelSource, file = 'dataset.json'): DeclaredLabels {
  const issues = labelIssues(json);
  if (issues.length > 0) {
    throw new UserError(`${file}: invalid labels\n${issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n')}`);
  }
  const labels = json.labels as Readonly<Record<string, LabelOrRegion>>;
  const entries = Object.entries(labels).filter(([name]) => name !== 'ignore');
  const allLabels = [...new Set(entries.flatMap(([, v]) => regionMembers(v)))].sort((a, b) => a - b);
  const ignoreLabel = (labels.ignore as number | undefined) ?? null;
  if (!declaresRegions(labels)) return { allLabels, ignoreLabel };
  const regions = entries.filter(([, v]) => !isBackground(v)).map(([, v]) => (typeof v === 'number' ? v : [...v]));
  return { allLabels, ignoreLabel, regions, regionsClassOrder: [...(json.regions_class_order as readonly number[])] };
}
