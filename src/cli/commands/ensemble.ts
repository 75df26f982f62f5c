import { Command } from 'commander';
import { ensembleFolders } from '../../inference/ensemble.js';

export function ensembleCommand(): Command {
  return new Command('ensemble')
    .description('Average the probabilities of several prediction folders (each made with --save-probabilities) (nnUNetv2_ensemble)')
    .requiredOption('-i, --input <dirs...>', 'prediction folders holding <case>.npz and <case>.json')
    .requiredOption('-o, --output <dir>', 'folder for the ensembled label maps')
    .option('--save-probabilities', 'also write the averaged probabilities')
    .action(async (o: { input: string[]; output: string; saveProbabilities?: boolean }) => {
      const r = await ensembleFolders(o.input, o.output, { saveProbabilities: o.saveProbabilities });
      console.log(`ensembled ${r.ensembled.length} case(s) into ${o.output}${r.incomplete.length ? `; ${r.incomplete.length} case(s) missing from some folder were skipped` : ''}`);
    });
}
