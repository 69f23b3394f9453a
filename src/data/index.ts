/**
 * Lethe's data layer: readers that load whole data sets into contiguous typed arrays, seeded
 * forget / retain / val / test splits, and batch loaders with normalisation and augmentation.
 */
export * from './dataset.js';
export * from './idx.js';
export * from './cifar.js';
export * from './image-folder.js';
export * from './registry.js';
export * from './split.js';
export * from './loader.js';
export { requireDir, findFile } from './files.js';
