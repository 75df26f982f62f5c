// nnU-Net v2's data augmentation: per-sample transforms, their composition and the trainer's configuration rules.
export { type Sample, type SampleTransform, type TrainingSample, type Transform, chain, compose, withProbability } from './transform.js';
export { type Range, bgContrast, uniformIn } from './random-scalar.js';
export { type SpatialOptions, centerCrop, resample, spatialAffine, spatialTransform } from './spatial.js';
export { type GaussianNoiseOptions, gaussianNoise } from './gaussian-noise.js';
export { type GaussianBlurOptions, blurAxis, blurKernel, blurKernelSize, gaussianBlur } from './gaussian-blur.js';
export { type BrightnessOptions, multiplicativeBrightness } from './brightness.js';
export { type ContrastOptions, contrast } from './contrast.js';
export { type LowResolutionOptions, simulateLowResolution } from './low-resolution.js';
export { type GammaOptions, gammaTransform } from './gamma.js';
export { mirror } from './mirror.js';
export { maskImage } from './mask-image.js';
export { removeLabel } from './remove-label.js';
export { downsampleSegForDS } from './downsample-seg.js';
export { type BinaryOperatorOptions, type RemoveComponentOptions, applyRandomBinaryOperator, moveSegAsOneHotToData, removeRandomConnectedComponent } from './cascade.js';
export { BINARY_OPERATORS, type BinaryOperator, binaryOperation, squaredDistanceToMask } from './morphology.js';
export { ANISO_THRESHOLD, type AugmentationSetup, computeInitialPatchSize, configureRotationDummy2DMirroring, deepSupervisionScales, initialPatchSize } from './initial-patch-size.js';
export { type AugmentationConfig, type AugmentationPipeline, augmentationConfigSchema, buildTrainingTransforms, buildValidationTransforms } from './pipeline.js';
