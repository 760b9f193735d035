import { listAttentionImpls, zeros, type FloatDType } from '../../src/index.js';
import { prepareAttention } from '../../src/attention/options.js';
import { BACKENDS, resolveBackend } from '../../src/attention/backends.js';

/**
 * The float dtypes a backend takes, as the backend declares them (its
 * `dtypes`): the wasm kernels are float32 arithmetic by design (float64 stays
 * on the TypeScript paths), so the shared suite runs each backend on the
 * dtypes it claims, and every claimed dtype gets every test.
 * test/backend-contract.test.ts checks each claim against `supports`.
 */
export function dtypesOf(impl: string): FloatDType[] {
  const backend = BACKENDS.find((b) => b.name === impl);
  if (backend === undefined) throw new Error(`dtypesOf: no backend named ${impl}`);
  return [...backend.dtypes];
}

/** The most precise dtype a backend takes: float64 where it can, else float32. */
export function widestDtype(impl: string): FloatDType {
  const dtypes = dtypesOf(impl);
  return dtypes.includes('float64') ? 'float64' : dtypes[0];
}

/**
 * The backends the Node suites run: every registered one with sync passes.
 * An async backend (webgpu) has no device in Node; the same cases and
 * properties run on it in headless Chromium (attention-webgpu*.test.ts).
 */
export const IMPLS = listAttentionImpls().filter((name) => BACKENDS.find((b) => b.name === name)?.async === undefined);
/** The async backends, run by the browser suites. */
export const ASYNC_IMPLS = listAttentionImpls().filter((name) => !IMPLS.includes(name));

/**
 * Whether a backend takes the model options of issue 9 (softcap, ALiBi,
 * window, keyLengths, sinks) in a dtype. attention.test.ts pins that every
 * backend takes every case, so this only filters out what a backend lacks
 * where it cannot load (the wasm module without SIMD support, say).
 */
export function takesModelOptions(impl: string, dtype: FloatDType): boolean {
  const x = zeros([1, 1, 2, 2], { dtype });
  try {
    resolveBackend('takesModelOptions', impl, prepareAttention('takesModelOptions', x, x, x, {
      softcap: 1, alibiSlopes: [1], window: [1, 1], keyLengths: [2], sinks: [0],
    }));
    return true;
  } catch {
    return false;
  }
}

/** The backend objects themselves, for tests that watch which of their passes run. */
export { BACKENDS };
