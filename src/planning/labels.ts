/**
 * nnU-Net's LabelManager (nnunetv2/utilities/label_handling/label_handling.py): what dataset.json's `labels` mean for
 * the network (number of heads), the loss and validation (the ignore label), patch sampling (class locations), export
 * and ensembling (logits → probabilities → label map) and evaluation (the classes scored). Built once per dataset.
 * With list-valued labels and `regions_class_order` (region-based training) it has one sigmoid head per region.
 */
import { UserError } from '../errors.js';
import { F, type Tensor, tidy, zerosLike } from '../torch/index.js';
import { type LabelOrRegion, type LabelSource, declaredLabels, labelOrRegionKey, regionMembers } from './label-rules.js';

export { type LabelIssue, type LabelOrRegion, type LabelSource, isAnnotatedClassesKey, labelIssues, labelOrRegionKey, regionMembers } from './label-rules.js';

export type ScoreKind = 'logits' | 'probabilities';

export class LabelManager {
  /** Every label value except the ignore label, ascending (upstream all_labels). */
  readonly allLabels: readonly number[];
  /** allLabels without background. */
  readonly foregroundLabels: readonly number[];
  /** The value of dataset.json's "ignore" label, or null. It has no head and counts in no loss or metric. */
  readonly ignoreLabel: number | null;
  /** The foreground regions in dataset.json order (one sigmoid head each), or null without regions. */
  readonly regions: readonly LabelOrRegion[] | null;
  /** The label each region head paints, in painting order (dataset.json regions_class_order), or null. */
  readonly regionsClassOrder: readonly number[] | null;

  /** Use labelManagerFrom, which checks dataset.json first. */
  constructor(init: { allLabels: readonly number[]; ignoreLabel: number | null; regions?: readonly LabelOrRegion[]; regionsClassOrder?: readonly number[] }) {
    this.allLabels = [...init.allLabels];
    this.foregroundLabels = this.allLabels.filter((v) => v !== 0);
    this.ignoreLabel = init.ignoreLabel;
    this.regions = init.regions ? [...init.regions] : null;
    this.regionsClassOrder = init.regionsClassOrder ? [...init.regionsClassOrder] : null;
    if (this.regions && this.regionsClassOrder?.length !== this.regions.length) {
      throw new UserError(`regions_class_order must have one entry per region (${this.regions.length})`);
    }
  }

  get hasRegions(): boolean {
    return this.regions !== null;
  }

  get hasIgnoreLabel(): boolean {
    return this.ignoreLabel !== null;
  }

  /** Output channels of the network: one per label (softmax), or one per region (sigmoid). */
  get numSegmentationHeads(): number {
    return this.hasRegions ? (this.regions?.length ?? 0) : this.allLabels.length;
  }

  /** The labels (or regions) validation and evaluation score, background and ignore label excluded. */
  get evaluationClasses(): readonly LabelOrRegion[] {
    return this.hasRegions ? (this.regions ?? []) : this.foregroundLabels;
  }

  /** Every value a reference label map may hold: allLabels plus the ignore label (verify_dataset_integrity). */
  get declaredValues(): readonly number[] {
    return this.ignoreLabel === null ? this.allLabels : [...this.allLabels, this.ignoreLabel];
  }

  /**
   * With an ignore label, the class_locations key of "any annotated voxel": str(tuple([-1] + all_labels)), e.g.
   * "(-1, 0, 1, 2)". -1 (outside the nonzero crop mask) trains as background, so it counts as annotated. Null
   * without an ignore label.
   */
  get annotatedClassesKey(): string | null {
    return this.ignoreLabel === null ? null : labelOrRegionKey([-1, ...this.allLabels]);
  }

  /**
   * What preprocessing collects class locations for (DefaultPreprocessor.run_case_npy): each foreground label (or
   * region), plus, with an ignore label, the union of all annotated values under annotatedClassesKey.
   */
  get classLocationTargets(): readonly { key: string; values: readonly number[] }[] {
    const targets = this.evaluationClasses.map((c) => ({ key: labelOrRegionKey(c), values: regionMembers(c) }));
    const annotated = this.annotatedClassesKey;
    if (annotated !== null) targets.push({ key: annotated, values: [-1, ...this.allLabels] });
    return targets;
  }

  /** Softmax over the channel axis (sigmoid per head for regions), as apply_inference_nonlin. */
  toProbabilities(logits: Tensor, channelDim = 1): Tensor {
    this.checkChannels(logits, channelDim);
    return this.hasRegions ? logits.sigmoid() : F.softmax(logits, channelDim);
  }

  /**
   * Label map (int64, the channel axis removed) from logits or probabilities: argmax for labels, which is the same
   * for both. For regions (convert_probabilities_to_segmentation) every head above 0.5 (logit above 0) paints its
   * regions_class_order label over the earlier ones.
   */
  toSegmentation(scores: Tensor, kind: ScoreKind, channelDim = 1): Tensor {
    this.checkChannels(scores, channelDim);
    if (!this.hasRegions) return scores.argmax(channelDim);
    return tidy(() => {
      const order = this.regionsClassOrder ?? [];
      const threshold = kind === 'logits' ? 0 : 0.5;
      let seg = zerosLike(scores.select(channelDim, 0)).to('int64');
      order.forEach((label, i) => {
        seg = seg.maskedFill(scores.select(channelDim, i).gt(threshold), label);
      });
      return seg;
    });
  }

  private checkChannels(t: Tensor, channelDim: number): void {
    const c = t.size(channelDim);
    if (c !== this.numSegmentationHeads) {
      throw new Error(`expected ${this.numSegmentationHeads} channels on axis ${channelDim}, got ${c} (shape [${t.shape}])`);
    }
  }
}

/**
 * The label manager of a dataset.json (or of its `labels` and `regions_class_order`). Throws a UserError naming
 * `file` and each broken key: ignore label not the highest, non-consecutive values, no background, broken regions.
 */
export function labelManagerFrom(json: LabelSource, file = 'dataset.json'): LabelManager {
  return new LabelManager(declaredLabels(json, file));
}
