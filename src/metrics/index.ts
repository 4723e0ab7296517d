export { trainClassifier, trainOnImages, predictProbabilities, carveValidation } from './classifier/train.js';
export type { TrainClassifierOptions, TrainClassifierResult, TrainOnImagesOptions } from './classifier/train.js';
export { evaluateClassifier, predictImages, predictionsCsv } from './classifier/evaluate.js';
export type { EvaluateClassifierOptions, EvaluateClassifierResult, Prediction, ImageEvaluation } from './classifier/evaluate.js';
export { buildClassifier, featureModel, DEFAULT_ARCHITECTURE, FEATURES_LAYER, OUTPUT_LAYER } from './classifier/model.js';
export type { ClassifierArchitecture } from './classifier/model.js';
export { loadClassifier, loadLayersModel, saveLayersModel, readClassifierInfo, CLASSIFIER_JSON } from './classifier/io.js';
export type { ClassifierInfo, LoadedClassifier, Preprocessing, EpochRecord } from './classifier/io.js';
export { metricRegistry, listMetrics, getMetric, computeMetric } from './registry.js';
export type { MetricDefinition, MetricValue } from './classification/types.js';
export { confusionMatrix } from './classification/confusion.js';
export type { ConfusionMatrix } from './classification/confusion.js';
export { computeMetrics, formatReport } from './report.js';
export type { MetricsReport, MetricEntry } from './report.js';
export { bootstrapIntervals, bootstrapStatistic, percentileInterval } from './bootstrap.js';
export { confusionChartPng, confusionChartSpec } from './confusion-chart.js';
export { readSyntheticFolder } from './images.js';
export type { LabeledImages, SyntheticSet } from './images.js';
// TEMP stubs (replaced in the next commits)
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function score(_o: any): Promise<any> { throw new Error('score: not yet'); }
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function featureDistances(_o: any): Promise<any> { throw new Error('featureDistances: not yet'); }
