/**
 * scaledot: what a kernel user needs (tensors, softmax, attention, errors).
 * It bundles for the browser with no Node built-in. The autograd, layers and
 * training are `scaledot/nn`; the experiments, statistics and report are
 * `scaledot/lab`. Layers import only leftwards:
 * tensor ← softmax ← attention ← nn ← lab ← cli/web.
 *
 * @module scaledot
 */
export * from './tensor/index.js';
export * from './softmax/index.js';
export * from './attention/index.js';
export * from './attention/wasm/index.js';
