// The `nnunet` program: nnU-Net v2's entry points as kebab-case subcommands.
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { normalizeArgv } from './aliases.js';
import { applyPostprocessingCommand } from './commands/apply-postprocessing.js';
import { convertMsdCommand } from './commands/convert-msd.js';
import { demoCommand } from './commands/demo.js';
import { ensembleCommand } from './commands/ensemble.js';
import { evaluateCommand } from './commands/evaluate.js';
import { exportOnnxCommand } from './commands/export-onnx.js';
import { findBestConfigurationCommand } from './commands/find-best-configuration.js';
import { planCommands } from './commands/plan.js';
import { predictCommand } from './commands/predict.js';
import { serveCommand } from './commands/serve.js';
import { trainCommand } from './commands/train.js';
import { reportError } from './run.js';

/** The package version; package.json sits two levels above both src/cli/ and dist/cli/. */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Commander's own errors (unknown option, missing argument, bad value) as one `nnunet <cmd>: ...` line. */
function oneLineErrors(cmd: Command, name: string): Command {
  return cmd.exitOverride().configureOutput({
    outputError: (message, write) => {
      const text = message.replace(/^error: /, '').split('\n').map((l) => l.trim()).filter(Boolean).join(' ');
      write(`${name}: ${text} (see \`${name} --help\`)\n`);
    },
  });
}

export function buildProgram(): Command {
  const program = new Command('nnunet')
    .description(
      'Self-configuring medical image segmentation (the nnU-Net v2 method) on libtorch.\n' +
        'Folders follow nnU-Net: $nnUNet_raw, $nnUNet_preprocessed, $nnUNet_results (or --raw/--preprocessed/--results).\n' +
        'Typical run: plan-and-preprocess -d 4 → train 4 3d_fullres 0 → predict → evaluate. `nnunet demo` does all of it on generated data.\n' +
        "nnU-Net's Python-style flags are accepted too (-np, -chk, --verify_dataset_integrity, ...).",
    )
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help (also: nnunet <command> --help)')
    .helpCommand('help [command]', 'show help for a command')
    // subcommands listed by name only, so their summaries get the width
    .configureHelp({ subcommandTerm: (c) => c.name() });
  oneLineErrors(program, 'nnunet');
  const commands = [demoCommand(), convertMsdCommand(), ...planCommands(), trainCommand(), predictCommand(), ensembleCommand(), evaluateCommand(), findBestConfigurationCommand(), applyPostprocessingCommand(), exportOnnxCommand(), serveCommand()];
  for (const c of commands) {
    // in the first group, even when the command's last options are grouped under another heading
    c.addHelpOption(new Option('-h, --help', 'show this help').helpGroup('Options:'));
    program.addCommand(oneLineErrors(c, `nnunet ${c.name()}`));
  }
  return program;
}

/** Runs the CLI on `argv` (without node and script) and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(normalizeArgv(argv), { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    return reportError(error);
  }
}
