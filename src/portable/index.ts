// The portable pipeline: everything the onnx backend runs besides the network, on typed arrays, importing neither
// node:* nor the engine, so Node (onnxruntime-node) and the browser (onnxruntime-web) run the same code.
export { type ModelJson, MODEL_JSON_FORMAT_VERSION, ModelJsonSchema, parseModelJson } from './model-json.js';
export { type NiftiImage, decodeNifti, encodeNifti } from './nifti.js';
export { type CaseProperties, type OriginalSpacePrediction, type PreprocessedCase, type SegmentOptions, type SegmentResult, logitsToOriginal, preprocessImages, segmentCase } from './segment.js';
export { type ModelRunner, type SlidingWindowOptions, slidingWindowLogits, tilePlan } from './sliding-window.js';
