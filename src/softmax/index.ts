// The softmax layer: tensor ops, the row kernels they are built from (reused by
// attention and the lab), and the dtype arithmetic policy they share.
export {
  softmax, logSoftmax, logsumexp, softmaxBackward, logSoftmaxBackward, softmaxRow, SOFTMAX_ALGORITHMS,
  type SoftmaxAlgorithm, type SoftmaxOptions, type AxisOptions,
} from './ops.js';
export { softmaxRowSafe } from './safe.js';
export { softmaxRowOnline } from './online.js';
export { softmaxRowNaive } from './naive.js';
export { logSoftmaxRow, logsumexpRow } from './log.js';
export { softmaxBackwardRow, logSoftmaxBackwardRow } from './backward.js';
export { rowMax } from './special-rows.js';
export { softmaxRowStats, type SoftmaxRowStats, type SoftmaxRowStatsOptions } from './row-stats.js';
export { dtypeArithmetic, type DTypeArithmetic } from './arithmetic.js';
export { stridedRow, axisLayout, forEachAxisRow, type StridedRow, type AxisLayout, type FloatArray } from './rows.js';
