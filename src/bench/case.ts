import { randn } from '../index.js';
import { median } from '../lab/stats.js';
import type { Ceiling } from './ceiling.js';
import { sampledMaxError } from './check.js';
import type { BenchImpl, BenchInputs, Runner } from './contract.js';
import { flopCount, parseShape, type Direction } from './shapes.js';

/**
 * The cases of one shape and direction, run in a process of their own
 * (case-main.ts, started by harness.ts). One implementation per process
 * (the default) makes each peak RSS that implementation's alone. Several
 * (--interleave) are timed in turn, one run each per round, so a change in
 * the machine's load between them (this machine is shared) falls on all of
 * them alike and their ratio stays fair; their memory is then not separable.
 */
export interface CaseSpec {
  impls: string[];
  shape: string;
  direction: Direction;
  /** Keep timing until this much time per implementation is spent or maxReps runs are done (at least 3 runs); warm up for a tenth of it. */
  targetMs: number;
  maxReps: number;
  /** Back-to-back calls per turn (default 1): the first is timed as cold, the others as the median's runs. */
  burst?: number;
  /** If set, one trial of the SIMD ceiling (ceiling.ts) of this many ms per round, between the timed runs. */
  ceilingMs?: number;
  /**
   * Node only: leave relaxed SIMD off (the kernels and ceiling a library user
   * gets on Node 20 without flags, SIMD128 mul + add) instead of turning it on.
   */
  simd128?: boolean;
}

/** What a case process prints: one result per implementation, and the ceiling trials taken between its runs. */
export interface CaseOutput {
  results: CaseResult[];
  ceiling: Ceiling | null;
}

export type CaseResult =
  | {
      status: 'ok';
      medianMs: number;
      minMs: number;
      reps: number;
      gflops: number;
      /** Process peak RSS over the whole case (MiB); with several implementations in one process, all of theirs. Null in a browser page. */
      peakRssMiB: number | null;
      /** Peak RSS minus the RSS with the inputs allocated, after a GC, before the first run: what the implementation added. Null when interleaved. */
      extraMiB: number | null;
      /** Largest |error| against the float64 formula on sampled rows (output, or dQ for backward). */
      maxError: number;
      /** Median CPU time (ms, all threads) the process burnt after a call returned, until it went quiet: work a call leaves behind, outside its timing. */
      cpuAfterMs?: number;
      /** With bursts: the median of each burst's first call, made after the process had gone quiet (threads asleep). */
      coldMs?: number;
      note: string;
    }
  | { status: 'skipped' | 'error'; reason: string };

/**
 * What the case loop needs from where it runs: a Node process (case-main.ts)
 * or a Chromium page (browser-page.ts). Kept out of this file so that it
 * imports no Node built-in and bundles for the page.
 */
export interface CaseHost {
  impls: BenchImpl[];
  /** Bytes resident now and the peak so far, or null where the host cannot tell (a page). */
  rss(): number | null;
  peakRss(): number | null;
  /** One ceiling trial pool (ceiling.ts), where the host can run one. */
  ceilingPool?(): CeilingTrials;
  /**
   * Lets the host's event loop turn, before each run and outside its timing.
   * A page's Web Workers (scaledot's threads) start only when its main thread
   * gets back to the event loop, which awaiting a synchronous run never does;
   * a real page yields between calls too.
   */
  yieldToHost?(): Promise<void>;
  /**
   * Waits until the host's threads are quiet and returns the CPU time (ms)
   * they burnt meanwhile (quiet.ts); absent where CPU time cannot be read (a page).
   */
  quiet?(): Promise<number | null>;
}

/** The slice of ceiling.ts's CeilingPool the loop uses. */
export interface CeilingTrials {
  readonly threads: number;
  readonly op: Ceiling['op'];
  trial(ms: number): Promise<number>;
  close(): Promise<void>;
}

const MIB = 1024 * 1024;
/** Calls slower than this (in the warm-up) are timed one per turn, not in bursts. */
const BURST_MAX_CALL_MS = 500;
// Node with --expose-gc and Chromium with --js-flags=--expose-gc both define it.
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

const reason = (err: unknown): string => (err instanceof Error ? err.message.split('\n')[0] : String(err));

/** One result per entry of spec.impls, in that order. */
export async function runCases(spec: CaseSpec, host: CaseHost): Promise<CaseOutput> {
  const shape = parseShape(spec.shape);
  const results: (CaseResult | null)[] = [];
  const runners: (Runner | null)[] = [];
  let inputs: BenchInputs | null = null;
  for (const name of spec.impls) {
    const impl = host.impls.find((i) => i.name === name);
    const skip = impl ? impl.skip(shape, spec.direction) : `unknown implementation ${name}`;
    if (!impl || skip) {
      results.push({ status: impl ? 'skipped' : 'error', reason: skip ?? '' });
      runners.push(null);
      continue;
    }
    inputs ??= makeInputs(spec.shape);
    try {
      runners.push(await impl.setup(inputs, spec.direction));
      results.push(null);
    } catch (err) {
      runners.push(null);
      results.push({ status: 'error', reason: reason(err) });
    }
  }
  const live = runners.flatMap((r, i) => (r ? [{ runner: r, index: i, times: [] as number[], cold: [] as number[], after: [] as number[], callMs: 0 }] : []));
  if (live.length === 0 || !inputs) return { results: results as CaseResult[], ceiling: null };
  gc();
  const rssBefore = host.rss();
  // Warm-up, not counted: V8 optimises a hot loop only after it has run a
  // while, so small cases run until a tenth of the budget has passed. Each
  // run's results are collected before the next, as in the timed loop: V8
  // does not collect a few MiB of dropped outputs by itself (they are
  // outside its heap), so up to 20 runs' outputs would otherwise add to the
  // peak RSS, and the extra MiB would count the warm-up's repetitions.
  for (const l of live) {
    const warmStart = performance.now();
    try {
      for (let rep = 0; rep < 20 && (rep === 0 || performance.now() - warmStart < spec.targetMs / 10); rep++) {
        await host.yieldToHost?.();
        gc();
        const t0 = performance.now();
        await l.runner.run();
        l.callMs = performance.now() - t0;
      }
    } catch (err) {
      results[l.index] = { status: 'error', reason: reason(err) };
    }
  }
  const timed = live.filter((l) => results[l.index] === null);
  const running = () => timed.filter((l) => results[l.index] === null && l.times.length < spec.maxReps);
  const pool = spec.ceilingMs ? (host.ceilingPool?.() ?? null) : null;
  const ceilingTrials: number[] = [];
  const started = performance.now();
  for (let round = 0; running().length > 0; round++) {
    // Rotate the order every round, so no implementation always follows the same one.
    for (let j = 0; j < timed.length; j++) {
      const l = timed[(round + j) % timed.length];
      if (results[l.index] !== null || l.times.length >= spec.maxReps) continue;
      // Collect the previous run's results first (outside the timing), so the
      // peak RSS is one run's footprint, not several runs' uncollected outputs;
      // then wait for quiet (the GC's background threads), so the timed calls
      // have the cores to themselves.
      await host.yieldToHost?.();
      gc();
      await host.quiet?.();
      try {
        // A burst of back-to-back calls, as a loop in an application makes
        // them: the first finds the implementation's threads asleep (cold),
        // the rest find them as the previous call left them (a peer that
        // spins between calls is at its best there). Only then quiet again,
        // so what one implementation leaves running never slows another.
        // A call of seconds (a baseline's backward) is its own steady state: one per turn.
        const burst = l.callMs < BURST_MAX_CALL_MS ? (spec.burst ?? 1) : 1;
        for (let call = 0; call < burst; call++) {
          const t0 = performance.now();
          await l.runner.run();
          (call === 0 && burst > 1 ? l.cold : l.times).push(performance.now() - t0);
        }
        // What the calls left running after the last returned (a peer's spinning threads).
        const after = await host.quiet?.();
        if (typeof after === 'number') l.after.push(after);
      } catch (err) {
        // One implementation failing (a peer's size limit, say) must not take the others' figures with it.
        results[l.index] = { status: 'error', reason: reason(err) };
      }
    }
    if (pool && spec.ceilingMs) ceilingTrials.push(await pool.trial(spec.ceilingMs));
    if (round >= 2 && performance.now() - started >= spec.targetMs * timed.length) break;
  }
  await pool?.close();
  const peakRss = host.peakRss();
  for (const l of timed) {
    if (results[l.index] !== null) continue;
    const medianMs = median(l.times);
    results[l.index] = {
      status: 'ok',
      medianMs,
      minMs: Math.min(...l.times),
      reps: l.times.length,
      gflops: flopCount(shape, spec.direction) / (medianMs * 1e6),
      peakRssMiB: peakRss === null ? null : peakRss / MIB,
      extraMiB: live.length === 1 && peakRss !== null && rssBefore !== null ? Math.max(0, peakRss - rssBefore) / MIB : null,
      maxError: sampledMaxError(inputs, spec.direction, l.runner.result()),
      ...(l.after.length > 0 ? { cpuAfterMs: median(l.after) } : {}),
      ...(l.cold.length > 0 ? { coldMs: median(l.cold) } : {}),
      note: l.runner.note,
    };
  }
  for (const l of live) await l.runner.dispose?.();
  const ceiling = pool && ceilingTrials.length > 0 ? { gflops: Math.max(...ceilingTrials), trials: ceilingTrials, threads: pool.threads, op: pool.op } : null;
  return { results: results as CaseResult[], ceiling };
}
