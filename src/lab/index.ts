/**
 * scaledot/lab: experiments that measure why attention logits are scaled by
 * 1/√d_k, their verdicts, and the report (HTML with inline SVG, results.json, CSV).
 *
 * @module scaledot/lab
 */
export {
  deriveSeed, fmt, makeCheck, verdictPhrase,
  type Check, type ClaimResult, type Experiment, type ExperimentOutput, type LabMode, type LabSettings, type RunContext,
} from './experiment.js';
export {
  mean, variance, standardError, varianceWithError, quantile, median, bootstrapSe, quantilesWithErrors, linearFit, logLogSlope,
  within, combineVerdicts, erfc, twoSidedNormalTail, VERDICT_RULE, TOLERANCE_SIGMAS, type LineFit, type Verdict,
} from './stats.js';
export { measuredVsTheoryChart, geomspace, type Axis, type ChartOptions } from './charts.js';
export type { Cell, ChartSpec, Row } from './types.js';
export { EXPERIMENTS } from './experiments/index.js';
export { runLab, labSettings, selectExperiments, checkSeed, DEFAULT_SEED, type LabResults, type RunLabOptions } from './run.js';
// Pure renderers only: writing files (report/write.ts) and SVG rendering (render-svg.ts) are Node-side and
// imported by the CLI from './report/index.js', so the public API stays usable in a browser.
export { renderHtml } from './report/html.js';
export { resultsJson } from './report/json.js';
export { toCsv } from './report/csv.js';
