// nnU-Net's Python flags (single-dash words, snake_case) are accepted and mapped to this CLI's kebab-case options,
// so commands copied from nnU-Net documentation work. Only flags with a counterpart here are mapped, so an
// unsupported one (-pfile) is reported as the user typed it. A mapped flag on a subcommand without that option
// is reported under its long name.
import { UserError } from '../errors.js';

const WORD_FLAGS: Record<string, string> = {
  '-djfile': '--dataset-json',
  '-np': '--num-processes',
  '-npfp': '--num-processes-fingerprint',
  '-chk': '--checkpoint',
  '-overwrite_id': '--overwrite-id',
  '-pretrained_weights': '--pretrained-weights',
  '-num_epochs': '--num-epochs',
  '-device': '--device',
  '-step_size': '--step-size',
  '-pl': '--planner',
  '-tr': '--trainer',
  '-gpu_memory_target': '--gpu-memory-target',
  '-overwrite_plans_name': '--plans-name',
  '-plans_name': '--plans-name',
  '-pp_pkl_file': '--pp-pkl-file',
  '-plans_json': '--plans-json',
  '-dataset_json': '--dataset-json',
  '-prev_stage_predictions': '--prev-stage-predictions',
  '-num_gpus': '--num-gpus',
};

export function normalizeArgv(args: string[]): string[] {
  // -np is the worker count everywhere else; on train, mapping it to --num-processes (ranks) would guess.
  if (args[0] === 'train' && args.some((a) => a === '-np' || a.startsWith('-np='))) {
    throw new UserError('nnunet train: -np is ambiguous on train (elsewhere it is the worker count): use --num-processes K for K CPU ranks, --num-gpus K for K GPUs, or --num-workers N for data-loading threads');
  }
  return args.map((a) => {
    const [flag, ...rest] = a.split('=');
    let mapped = WORD_FLAGS[flag];
    if (!mapped && /^--[a-z0-9]+(_[a-z0-9]+)+$/.test(flag)) mapped = flag.replace(/_/g, '-');
    if (!mapped) return a;
    return rest.length ? `${mapped}=${rest.join('=')}` : mapped;
  });
}
