/**
 * scaledot/kernels: the plumbing under `scaledot`, for the lab, the bench and
 * anyone who writes a backend. A user of the kernels needs none of it.
 *
 * - the softmax row kernels (safe, online, naive, log, backward) and the row
 *   walkers and dtype arithmetic they share; `softmaxRowStats`, the one
 *   function for a row's entropy, max p and Jacobian norm (lab, nn, inspect);
 * - `prepareAttention` / `prepareAttentionBackward`, which check a call and
 *   return the `AttentionProblem` every backend receives;
 * - the backend contract (`AttentionBackend`), the fixed list `BACKENDS`,
 *   `resolveBackend` (how an `impl` is chosen) and the float64 reference
 *   backend every other one is tested against;
 * - the dropout hash, a pure function of (seed, row, column);
 * - the tensor-level helpers: strides, shape checks, storage and rounding.
 *
 * @module scaledot/kernels
 */
export {
  formatShape, dtypeInfo, isFloatDType, roundTo, rounder, roundFloat16, roundBfloat16,
  sizeOf, normalizeAxis, broadcastShapes, broadcastStrides, contiguousStrides, checkShape,
  allocate, storageClass, checkTensor, checkFloatTensor, MAX_BUFFER_BYTES, checkBufferSize,
} from './tensor/index.js';
export {
  softmaxRow, softmaxRowSafe, softmaxRowOnline, softmaxRowNaive, logSoftmaxRow, logsumexpRow,
  softmaxBackwardRow, logSoftmaxBackwardRow, rowMax, softmaxRowStats, dtypeArithmetic, stridedRow, axisLayout, forEachAxisRow,
  type SoftmaxRowStats, type SoftmaxRowStatsOptions, type DTypeArithmetic, type StridedRow, type AxisLayout, type FloatArray,
} from './softmax/index.js';
export {
  prepareAttention, prepareAttentionBackward, attentionImplOf, attentionOutputShape,
  BACKENDS, resolveBackend, isKnownImpl, referenceBackend, referenceForward, referenceBackward,
  dropoutHash, dropoutKeeps,
  type AttentionBackend, type AttentionProblem, type ForwardResult, type BackwardResult,
} from './attention/index.js';
