import { nodeHost } from './platform.js';

/**
 * Relaxed SIMD (one fused multiply-add per f32x4 step where the CPU has FMA):
 * on by default in Chrome 114+, Firefox 120+ and Node 22+; Node 20's V8 has
 * it behind a flag. Whether the engine takes it is asked of the engine itself,
 * with the smallest module that uses it, not inferred from a version number.
 */

// (module (func (param v128 v128 v128) (result v128)
//   local.get 0 local.get 1 local.get 2 f32x4.relaxed_madd))
const PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b, 0x7b, 0x01, 0x7b, // type: (v128 v128 v128) -> v128
  0x03, 0x02, 0x01, 0x00, // one function of that type
  0x0a, 0x0d, 0x01, 0x0b, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfd, 0x85, 0x02, 0x0b, // f32x4.relaxed_madd is 0xfd 0x105
]);

/** Whether this engine validates relaxed-SIMD instructions now. */
export function relaxedSimdSupported(): boolean {
  return typeof WebAssembly === 'object' && WebAssembly.validate(PROBE);
}

/** How relaxed SIMD came to be on in this process: by default, or by enableRelaxedSimd() setting V8's flag. */
let enabledBy: 'engine' | 'flag' | null = null;
// ('engine' also covers a node started with the flag on its command line.)

/**
 * Turns relaxed SIMD on where the engine has it behind a flag (Node 20:
 * V8's --experimental-wasm-relaxed-simd, set from inside the process), so
 * impl 'wasm' loads its fused multiply-add module. Call it before the first
 * attention call with impl 'wasm' (or 'auto'): a module already loaded stays
 * what it is. The CLI (`scaledot`, `npm run bench`) calls it at start; a
 * library leaves the process's engine flags to its user. Returns whether
 * relaxed SIMD validates afterwards; elsewhere (browsers, Node 22+) it only
 * reports that.
 */
export function enableRelaxedSimd(): boolean {
  if (relaxedSimdSupported()) {
    enabledBy ??= 'engine';
    return true;
  }
  if (nodeHost === null) return false;
  nodeHost.v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  if (!relaxedSimdSupported()) return false;
  enabledBy = 'flag';
  return true;
}

/** A sentence on why the loaded module is or is not the relaxed-SIMD one, for wasmAttentionInfo(). */
export function relaxedSimdNote(loadedRelaxed: boolean): string {
  if (loadedRelaxed) {
    return enabledBy === 'flag'
      ? 'relaxed SIMD (fused multiply-add): this Node has it behind a flag, which enableRelaxedSimd() set before the module loaded'
      : 'relaxed SIMD (fused multiply-add): this engine validates it';
  }
  if (relaxedSimdSupported()) {
    return 'SIMD128 mul + add: relaxed SIMD was turned on after the module had loaded (call enableRelaxedSimd() before the first attention call)';
  }
  return nodeHost !== null
    ? 'SIMD128 mul + add: this Node has relaxed SIMD only behind a flag (Node 20: call enableRelaxedSimd() first, or start node with --experimental-wasm-relaxed-simd; Node 22+ has it by default)'
    : 'SIMD128 mul + add: this engine does not validate relaxed SIMD';
}
