// nnunet-ts as a library: the same steps the `nnunet` command runs, typed.
export { UserError } from './errors.js';
export * as torch from './torch/index.js';
export { loadPth, savePth } from './torch/serialization/pth-file.js';
export { type NiftiVolume, readNifti, writeNifti, createHeader } from './io/nifti.js';
export { readNpz, writeNpz } from './io/npz.js';
export { convertMsd } from './planning/convert-msd.js';
export { verifyDatasetIntegrity, assertDatasetIntegrity } from './planning/verify-dataset.js';
export { planExperiment } from './planning/experiment-planner.js';
export { type Plans, readPlansFile, resolveConfiguration } from './planning/plans-schema.js';
export { planAndPreprocess, extractFingerprintStep, planStep, preprocessStep } from './preprocessing/plan-and-preprocess.js';
export { type TrainOptions, type TrainResult, train, modelFolder, foldFolder } from './training/trainer.js';
export { loadPretrainedWeights } from './training/pretrained-weights.js';
export { predict, predictCases, loadModel, ensembleFolders, validateFold } from './inference/index.js';
export { evaluateFolder } from './evaluation/evaluate-folder.js';
export { formatDiceTable } from './evaluation/dice-table.js';
export { PlainConvUNet } from './network/plain-conv-unet.js';
