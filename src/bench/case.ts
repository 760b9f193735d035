import { randn } from '../src/index.js';
import { median } from '../src/lab/index.js';
import { sampledMaxError } from './check.js';
import { benchImpls, type BenchInputs } from './impls.js';
import { flopCount, parseShape, type Direction } from './shapes.js';

/**
 * One benchmark case in a process of its own (started by run.ts), so the peak
 * RSS it reports belongs to this implementation and shape alone. Prints one
 * JSON line (CaseResult) on stdout.
 *
 *   node --expose-gc --import tsx bench/case.ts '{"impl":"tiled","shape":"8x1024x64","direction":"forward","targetMs":8000,"maxReps":15}'
 */
export interface CaseSpec {
  impl: string;
  shape: string;
  direction: Direction;
  /** Keep timing until this much time is spent or maxReps runs are done (at least 3 runs); warm up for a tenth of it. */
  targetMs: number;
  maxReps: number;
}

export type CaseResult =
  | {
      status: 'ok';
      medianMs: number;
      minMs: number;
      reps: number;
      gflops: number;
      /** Process peak RSS over the whole case (MiB). */
      peakRssMiB: number;
      /** Peak RSS minus the RSS with the inputs allocated, after a GC, before the first run: what the implementation added. */
      extraMiB: number;
      /** Largest |error| against the float64 formula on sampled rows (output, or dQ for backward). */
      maxError: number;
      note: string;
    }
  | { status: 'skipped' | 'error'; reason: string };

const MIB = 1024 * 1024;

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** Seeded unit-variance float32 inputs, [heads, n, d]. */
function makeInputs(shapeText: string): BenchInputs {
  const shape = parseShape(shapeText);
  const dims = [shape.heads, shape.n, shape.d];
  const make = (seed: number) => randn(dims, { seed, dtype: 'float32' }).data as Float32Array;
  return { shape, q: make(1), k: make(2), v: make(3), dOut: make(4) };
}

export async function runCase(spec: CaseSpec): Promise<CaseResult> {
  const impl = benchImpls().find((i) => i.name === spec.impl);
  if (!impl) return { status: 'error', reason: `unknown implementation ${spec.impl}` };
  const shape = parseShape(spec.shape);
  const skip = impl.skip(shape, spec.direction);
  if (skip) return { status: 'skipped', reason: skip };
  const inputs = makeInputs(spec.shape);
  const runner = await impl.setup(inputs, spec.direction);
  gc();
  const rssBefore = process.memoryUsage().rss;
  // Warm-up, not counted: V8 optimises a hot loop only after it has run a
  // while, so small cases run until a tenth of the budget has passed.
  const warmStart = performance.now();
  for (let rep = 0; rep < 20 && (rep === 0 || performance.now() - warmStart < spec.targetMs / 10); rep++) await runner.run();
  const times: number[] = [];
  const started = performance.now();
  while (times.length < spec.maxReps) {
    // Collect the previous run's results first (outside the timing), so the
    // peak RSS is one run's footprint, not several runs' uncollected outputs.
    gc();
    const t0 = performance.now();
    await runner.run();
    times.push(performance.now() - t0);
    if (times.length >= 3 && performance.now() - started >= spec.targetMs) break;
  }
  const peakRss = process.resourceUsage().maxRSS * 1024;
  const maxError = sampledMaxError(inputs, spec.direction, runner.result());
  await runner.dispose?.();
  const medianMs = median(times);
  return {
    status: 'ok',
    medianMs,
    minMs: Math.min(...times),
    reps: times.length,
    gflops: flopCount(shape, spec.direction) / (medianMs * 1e6),
    peakRssMiB: peakRss / MIB,
    extraMiB: Math.max(0, peakRss - rssBefore) / MIB,
    maxError,
    note: runner.note,
  };
}

const spec = JSON.parse(process.argv[2] ?? '{}') as CaseSpec;
// Exit once the line is out: a peer's thread pool must not keep the process (and the run) waiting.
const report = (result: CaseResult) => process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
runCase(spec).then(report, (err: unknown) => {
  report({ status: 'error', reason: err instanceof Error ? err.message.split('\n')[0] : String(err) });
});
