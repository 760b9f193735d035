import { wasm } from '../index.js';
import { runCases, type CaseHost, type CaseOutput, type CaseSpec } from './case.js';
import { CeilingPool } from './ceiling.js';
import { benchImpls } from './impls.js';
import { quiet } from './quiet.js';

/**
 * The child process of one benchmark case (see case.ts): takes a CaseSpec as
 * JSON in argv[2], prints one JSON line, a CaseOutput, on stdout.
 *
 *   node --expose-gc --import tsx src/bench/case-main.ts '{"impls":["wasm"],"shape":"8x1024x64","direction":"forward","targetMs":6000,"maxReps":15}'
 */
const spec = JSON.parse(process.argv[2] ?? '{}') as CaseSpec;
// The case runs the kernels its command runs: relaxed SIMD wherever the engine has it, flag or not,
// unless --simd128 asked for Node 20's default path (the ceiling's module follows: ceiling.ts).
if (spec.simd128 !== true) wasm.enableRelaxedSimd();
const host: CaseHost = {
  impls: benchImpls(),
  rss: () => process.memoryUsage().rss,
  peakRss: () => process.resourceUsage().maxRSS * 1024,
  ceilingPool: () => new CeilingPool(),
  quiet,
};
// Exit once the line is out: a peer's thread pool must not keep the process (and the run) waiting.
const report = (output: CaseOutput) => process.stdout.write(`${JSON.stringify(output)}\n`, () => process.exit(0));
runCases(spec, host).then(report, (err: unknown) => {
  const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
  report({ results: spec.impls.map(() => ({ status: 'error', reason })), ceiling: null });
});
