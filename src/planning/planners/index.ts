/**
 * The planner registry, keyed by upstream's class names (nnU-Net's `-pl`). A planner family lives in one file
 * that exports its presets; adding a preset to a family touches only that file.
 */
import { UserError } from '../../errors.js';
import type { PlannerPreset } from './core.js';
import { DEFAULT_PLANNERS, EXPERIMENT_PLANNER } from './default.js';
import { RESENC_PLANNERS } from './resenc.js';

export type { PlannerOptions, PlannerPreset, UNetFamily } from './core.js';
export { EXPERIMENT_PLANNER } from './default.js';

const PLANNERS: ReadonlyMap<string, PlannerPreset> = new Map([...DEFAULT_PLANNERS, ...RESENC_PLANNERS].map((p) => [p.name, p]));

export const DEFAULT_PLANNER_NAME = EXPERIMENT_PLANNER.name;

/** Every registered planner, default first. */
export function listPlanners(): PlannerPreset[] {
  return [...PLANNERS.values()];
}

/** The planner registered under upstream's class name `name`; an unknown name lists the known ones. */
export function getPlanner(name: string = DEFAULT_PLANNER_NAME): PlannerPreset {
  const planner = PLANNERS.get(name);
  if (planner === undefined) {
    throw new UserError(`unknown planner '${name}'; known planners: ${[...PLANNERS.keys()].join(', ')}`);
  }
  return planner;
}
