import { FLOAT_DTYPES, listAttentionImpls, zeros, type FloatDType } from '../../src/index.js';
import { prepareAttention } from '../../src/attention/options.js';
import { BACKENDS, resolveBackend } from '../../src/attention/backends.js';

/**
 * The float dtypes a backend takes, asked of the backend itself: the wasm
 * kernels are float32-only by design (float64 and the emulated half dtypes
 * stay on the TypeScript paths), so the shared suite runs each backend on the
 * dtypes it claims, and every claimed dtype gets every test.
 */
export function dtypesOf(impl: string): FloatDType[] {
  return FLOAT_DTYPES.filter((dtype) => {
    const x = zeros([1, 1, 2, 2], { dtype });
    try {
      resolveBackend('dtypesOf', impl, prepareAttention('dtypesOf', x, x, x, {}));
      return true;
    } catch {
      return false;
    }
  });
}

/** The most precise dtype a backend takes: float64 where it can, else float32. */
export function widestDtype(impl: string): FloatDType {
  const dtypes = dtypesOf(impl);
  return dtypes.includes('float64') ? 'float64' : dtypes[0];
}

export const IMPLS = listAttentionImpls();

/** The backend objects themselves, for tests that watch which of their passes run. */
export { BACKENDS };
