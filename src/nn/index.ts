/** Model-building kit: modules, layers and safetensors I/O. */
export { Module, StateDictError } from './module.js';
export * from './layers.js';
export * from './safetensors.js';
