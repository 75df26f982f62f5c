import { Command } from 'commander';
import { convertMsd } from '../../planning/convert-msd.js';
import { baseFolder } from '../../planning/paths.js';
import { addFolderOptions } from '../folders.js';
import { positiveInt } from '../parse.js';

export function convertMsdCommand(): Command {
  const cmd = new Command('convert-msd')
    .summary('convert a Medical Segmentation Decathlon task into nnUNet_raw')
    .description('Convert a Medical Segmentation Decathlon TaskXX_Name folder into nnUNet_raw/DatasetXXX_Name (nnUNetv2_convert_MSD_dataset)')
    .requiredOption('-i, --input <dir>', 'the MSD task folder (TaskXX_Name with dataset.json, imagesTr, labelsTr)')
    .option('--overwrite-id <n>', 'dataset id to use (default: the task number XX)', positiveInt);
  return addFolderOptions(cmd, ['raw']).action(async (o: { input: string; overwriteId?: number; raw?: string }) => {
    const r = await convertMsd(o.input, baseFolder('raw', o.raw), o.overwriteId);
    console.log(`converted into ${r.datasetDir}: ${r.numTrainingImages} training and ${r.numTestImages} test case(s)`);
  });
}
