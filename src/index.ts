// The public API of scaledot. Layers import only leftwards:
// tensor ← softmax ← attention ← nn ← lab ← cli/web.
export * from './tensor/index.js';
export * from './softmax/index.js';
export * from './attention/index.js';
export * from './attention/wasm/index.js';
export * from './nn/index.js';
export * from './lab/index.js';
