/** Architectures, the model registry and checkpoints. */
export * from './resnet.js';
export * from './registry.js';
export * from './checkpoint.js';
export * from './predict.js';
export * from './precision.js';
