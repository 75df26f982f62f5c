import { Command } from 'commander';
import { convertMsd } from '../../planning/convert-msd.js';
import { baseFolder } from '../../planning/paths.js';
import { positiveInt } from '../parse.js';

export function convertMsdCommand(): Command {
  return new Command('convert-msd')
    .description('Convert a Medical Segmentation Decathlon TaskXX_Name folder into nnUNet_raw/DatasetXXX_Name (nnUNetv2_convert_MSD_dataset)')
    .requiredOption('-i, --input <dir>', 'the MSD task folder (TaskXX_Name with dataset.json, imagesTr, labelsTr)')
    .option('--overwrite-id <n>', 'dataset id to use instead of the task number', positiveInt)
    .option('--raw <dir>', 'nnUNet_raw folder (default: $nnUNet_raw)')
    .action(async (o: { input: string; overwriteId?: number; raw?: string }) => {
      const result = await convertMsd(o.input, baseFolder('raw', o.raw), o.overwriteId);
      console.log(`Converted into ${JSON.stringify(result)}`);
    });
}
