export { ScaledotError, formatShape, type ErrorCode } from './error.js';
export {
  DTYPES, FLOAT_DTYPES, dtypeInfo, isFloatDType, roundTo, rounder, roundFloat16, roundBfloat16,
  type DType, type FloatDType, type DTypeInfo,
} from './dtype.js';
export { Rng } from './random.js';
export { sizeOf, sameDims, normalizeAxis, broadcastShapes, broadcastStrides, contiguousStrides, checkShape } from './shape.js';
export {
  Tensor, tensor, zeros, full, randn, allocate, storageClass, checkTensor, checkFloatTensor,
  type TensorData, type NestedArray, type TensorOptions, type RandnOptions,
} from './tensor.js';
export { MAX_BUFFER_BYTES, checkBufferSize } from './size.js';
