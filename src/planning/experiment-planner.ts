/**
 * nnU-Net v2's experiment planning: fingerprint + dataset.json -> plans. The logic lives in `planners/core.ts`,
 * the planners (upstream's `ExperimentPlanner`, the ResEnc presets, ...) in `planners/`; this module keeps the
 * established entry point and re-exports the helpers other modules use.
 */
import type { PlannerDatasetJson, PlannerOptions } from './planners/core.js';
import { planWithPreset } from './planners/core.js';
import { getPlanner } from './planners/index.js';
import type { DatasetFingerprint, Plans } from './plans-schema.js';

export {
  ANISO_THRESHOLD,
  computeNewShape,
  determineFullresTargetSpacing,
  determineNormalization,
  determineTranspose,
  imageReaderWriterFor,
  normalizationSchemeFor,
  planWithPreset,
  resolveSeparateZ,
  roundHalfEven,
  type PlannerDatasetJson,
  type PlannerOptions,
  type PlannerPreset,
  type UNetFamily,
} from './planners/core.js';
export { DEFAULT_PLANNER_NAME, getPlanner, listPlanners } from './planners/index.js';

export interface PlanExperimentOptions extends PlannerOptions {
  /** Upstream's planner class name (`-pl`); default 'ExperimentPlanner'. */
  planner?: string;
}

/** `<planner>.plan_experiment()`: the whole plans file of the named planner, configurations in upstream's order. */
export function planExperiment(fingerprint: DatasetFingerprint, datasetJson: PlannerDatasetJson, options: PlanExperimentOptions): Plans {
  const { planner, ...rest } = options;
  return planWithPreset(getPlanner(planner), fingerprint, datasetJson, rest);
}
