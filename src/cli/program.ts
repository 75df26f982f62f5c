// The `nnunet` program: nnU-Net v2's entry points as kebab-case subcommands.
import { Command } from 'commander';
import { normalizeArgv } from './aliases.js';
import { convertMsdCommand } from './commands/convert-msd.js';
import { demoCommand } from './commands/demo.js';
import { ensembleCommand } from './commands/ensemble.js';
import { evaluateCommand } from './commands/evaluate.js';
import { planCommands } from './commands/plan.js';
import { predictCommand } from './commands/predict.js';
import { trainCommand } from './commands/train.js';
import { reportError } from './run.js';

export function buildProgram(): Command {
  const program = new Command('nnunet')
    .description(
      'Self-configuring medical image segmentation (the nnU-Net v2 method) on libtorch.\n' +
        'Folders follow nnU-Net: $nnUNet_raw, $nnUNet_preprocessed, $nnUNet_results (or --raw/--preprocessed/--results).\n' +
        'Typical run: plan-and-preprocess -d 4 → train 4 3d_fullres 0 → predict → evaluate. `nnunet demo` does all of it on generated data.',
    )
    .version(process.env.npm_package_version ?? '0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  const commands = [demoCommand(), convertMsdCommand(), ...planCommands(), trainCommand(), predictCommand(), ensembleCommand(), evaluateCommand()];
  for (const c of commands) program.addCommand(c.exitOverride().showHelpAfterError('(run with --help for usage)'));
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(normalizeArgv(argv), { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    return reportError(error);
  }
}

