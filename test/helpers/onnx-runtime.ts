import { loadRuntime, RUNTIMES, type RuntimeName } from '../../src/inspect/onnx/runtime.js';

const inCi = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';

/** The ONNX Runtimes that load here (tools/bench/peers in a checkout: npm run bench:peers-install). */
export const ORT_RUNTIMES: RuntimeName[] = RUNTIMES.filter((r) => {
  try {
    loadRuntime(r);
    return true;
  } catch {
    return false;
  }
});

/** Skipped only on a developer machine without a runtime; in CI (which installs tools/bench/peers) a missing one fails the tests instead. */
export const ortSkip: string | false = ORT_RUNTIMES.length === 0 && !inCi
  ? 'no ONNX Runtime: run npm run bench:peers-install to run the inspect MODEL.onnx tests; under CI=true they fail instead'
  : false;
