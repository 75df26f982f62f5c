export * from './optimizer.js';
export * from './sgd.js';
export * from './adamw.js';
export * from './clip-grad.js';
