export * from './types.js';
export { loadDataset, readSplit, selectSplit } from './dataset.js';
export type { LoadDatasetOptions } from './dataset.js';
export { decodeImage, decodeImages, encodePng, encodeGridPng, describeSharpError, MAX_INPUT_PIXELS, IMAGE_SIZES } from './image.js';
