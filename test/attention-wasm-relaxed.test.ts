// The wasm suites again (tile edges, numerics, dropout, the model options'
// properties) on the relaxed-SIMD module, with fused multiply-add: what Chrome
// and Node 22+ load by default, and the CLI on Node 20. The suites' own files
// run whichever module this Node loads by default (on Node 20, SIMD128 mul +
// add), so both modules are checked against the float64 reference.
// enableRelaxedSimd() must precede the first kernel load: hence dynamic imports.
import assert from 'node:assert/strict';
import { enableRelaxedSimd, wasmAttentionInfo } from '../src/attention/wasm/index.js';

assert.equal(enableRelaxedSimd(), true, 'this engine has no relaxed SIMD, even behind a flag');
await import('./attention-wasm.test.js');
await import('./attention-options-properties.test.js');
assert.equal(wasmAttentionInfo().relaxedSimd, true, 'the suite loaded the SIMD128 module');
