// Inference: sliding-window prediction, export to the input's geometry, whole-folder prediction and ensembling.
export { GAUSSIAN_PEAK, gaussianImportanceMap } from './gaussian.js';
export { padToTile, slidingWindowSteps, tileOrigins } from './tiles.js';
export { type SegmentationNetwork, type SlidingWindowOptions, predictSlidingWindow, predictWithMirroring } from './sliding-window.js';
export { type OriginalSpacePrediction, logitsToOriginal, writePrediction } from './export.js';
export { type LoadedModel, type LoadModelOptions, loadModel } from './load-model.js';
export { type InferenceOptions, type PredictCasesOptions, type PredictCasesResult, type PredictOptions, type PredictResult, predict, predictCases, predictLogits } from './predictor.js';
export { type PreviousStageSource, type StageLinks, stageLinks } from './cascade.js';
export { type EnsembleOptions, ensembleFolders } from './ensemble.js';
export { type ValidateFoldOptions, validateFold } from './validate-fold.js';
