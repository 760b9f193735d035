/**
 * scaledot/nn: a small reverse-mode autograd over the library's own ops, the
 * layers of a tiny transformer whose attention scale rule is a parameter,
 * optimisers, the two training tasks and the training loop.
 *
 * @module scaledot/nn
 */
export { Var, backward, parameter, constant, result, allocLike, type Data } from './autograd.js';
export { linear, add, gelu, layerNorm, rmsNorm, embedding, l2Normalize } from './ops.js';
export { splitHeads, mergeHeads, scaleHeads } from './head-ops.js';
export { rope } from './rope.js';
export { causalAttention, attentionScores, softcap, causalMask, softmaxLast, weightedValues, softcapAttention } from './attention-ops.js';
export { crossEntropy, IGNORE } from './loss.js';
export { initWeight, type InitScheme } from './init.js';
export { Linear, Embedding, LayerNorm, RMSNorm, MLP, residual, type Module, type NormKind } from './layers.js';
export { MultiHeadAttention, attentionEntropy, type AttentionLayerOptions } from './attention-layer.js';
export { sinkSoftmax } from './sink-ops.js';
export { adaptiveTemperature, adaptiveInverseTemperature, ADAPTIVE_POLY } from './adaptive-temperature.js';
export { attentionStats, entropyLowerBound, exactEntropyMinimum, type AttentionStats } from './attention-stats.js';
export { Transformer, type Decoder, type TransformerConfig } from './transformer.js';
export { AdamW, SgdMomentum, clipGradNorm, gradNorm, learningRate, type Optimizer, type AdamWOptions, type SgdOptions } from './optim.js';
export { SCALE_RULES, ATTENTION_RULES, DEFAULT_SOFTCAP, SSMAX_INIT_S, checkScaleRule, ruleScale, type ScaleRule } from './scale-rules.js';
export { recallBatch, recallLength, recallVocabSize, type RecallSpec } from './data/recall.js';
export { loadNames, splitNames, namesBatch, charIndex, BOUNDARY, type NamesData } from './data/names.js';
export { BigramModel } from './data/bigram.js';
export { scoredCount, type Batch } from './data/batch.js';
export { TASKS, checkTask, makeRecallTask, makeNamesTask, makeMaxRetrievalTask, makeMarkedCopyTask, type Task, type TaskName, type RecallTask, type NamesTask, type MaxRetrievalTask, type MarkedCopyTask } from './tasks.js';
export { markedCopyBatch, markedCopyVocabSize, MARKED_COPY_DEFAULTS, type MarkedCopySpec } from './data/marked-copy.js';
export {
  train, trainSync, Trainer, evaluate, resolveTrainConfig, defaultLr, validationCadence, OPTIMIZERS, DIVERGENCE_FACTOR,
  type TrainConfig, type ResolvedTrainConfig, type TrainResult, type TrainHooks, type CurvePoint, type StepPoint, type LengthPoint, type OptimizerName, type Evaluation, type HeadFigures,
} from './train.js';
export { maxRetrievalBatch, maxRetrievalVocabSize, MAX_RETRIEVAL_DEFAULTS, type MaxRetrievalSpec } from './data/maxretrieval.js';
export { lastRow } from './head-ops.js';
export { sampleNames, type SampleOptions } from './sample.js';
export { trainManySync, type TrainManyOptions } from './parallel.js';
export { recordOf, type TrainRecord } from './train-record.js';
export { HeadTracer, largestEigenvalue, type HeadTrace, type L2BoundCheck } from './head-trace.js';
export { captureQueryKey, type CapturedQueryKey } from './capture-qk.js';
