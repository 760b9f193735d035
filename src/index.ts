// The public API of scaledot. Layers import only leftwards:
// tensor ← softmax ← attention ← nn ← lab ← cli/web.
export * from './tensor/index.js';
