import { Command } from 'commander';

export function ensembleCommand(): Command {
  return new Command('ensemble')
    .summary('average the probabilities of several prediction folders')
    .description('Average the probabilities of several prediction folders (each made with --save-probabilities) (nnUNetv2_ensemble)')
    .requiredOption('-i, --input <dirs...>', 'prediction folders holding <case>.npz and <case>.json')
    .requiredOption('-o, --output <dir>', 'folder for the ensembled label maps')
    .option('--save-probabilities', 'also write the averaged probabilities as <case>.npz (default: label maps only)')
    .action(async (o: { input: string[]; output: string; saveProbabilities?: boolean }) => {
      // libtorch loads when the command runs, not at startup: --help and usage errors answer at once
      const { ensembleFolders } = await import('../../inference/ensemble.js');
      const r = await ensembleFolders(o.input, o.output, { saveProbabilities: o.saveProbabilities });
      console.log(`ensembled ${r.ensembled.length} case(s) into ${o.output}${r.incomplete.length ? `; ${r.incomplete.length} case(s) missing from some folder were skipped` : ''}`);
    });
}
