// The engine: libtorch tensors, autograd, modules, optimizers and checkpoint files, typed for TypeScript.
export * from './tensor.js';
export * from './scope.js';
export * from './autograd.js';
export * from './random.js';
export * from './runtime.js';
export * from './amp.js';
export * as F from './functional.js';
export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
