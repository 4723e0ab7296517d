export { exportDataset, resolveExportOptions, parseMix, toCsv, EXPORT_FORMATS, ORIGINS } from './export.js';
export type { ExportOptions, ExportResult, ExportCounts, ExportFormat, ExportPhase, GeneratorUse, ManifestRow, Origin } from './export.js';
export {
  AUGMENT_KINDS, COLOR_LIMITS, PNG_OPTIONS, applyTransform, drawTransform, geometriesFor, parseTransform, transformToString, variantsPerImage,
} from './classic.js';
export type { AugmentKind, ColorShift, Transform } from './classic.js';
export { planExport, allocate, resolvePerClass, mixToString } from './plan.js';
export type { Mix, Plan, ClassPlan, PlanInput, AugmentedPlanItem } from './plan.js';
export { readSyntheticFolder, syntheticSource } from './synthetic.js';
export type { SyntheticFolder, SyntheticImage } from './synthetic.js';
