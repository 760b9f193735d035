// tensor ← softmax ← attention ← nn ← lab ← cli/web.
export * from './tensor/index.js';
export * from './softmax/index.js';
export * from './attention/index.js';
