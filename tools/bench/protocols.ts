import { quiet } from '../../src/bench/quiet.js';
import { median } from '../../src/lab/index.js';

/**
 * The two ways the in-process tools (default-vs-ort-web.ts, decode-alt.ts)
 * time a library's call against its peers':
 *   alternating: one call of each in turn, back to back, `rounds` times, as a
 *                simple check would time them; onnxruntime-web's threads keep
 *                spinning for tens of ms after each call, so whatever runs
 *                next shares the cores with them;
 *   quietBursts: the harness's protocol (src/bench/case.ts): once the process
 *                has gone quiet, a burst of 3 calls per implementation, the
 *                first (threads asleep: cold) apart from the other two (hot).
 * Each gives the median ms per name.
 */
export type Call = () => unknown;

export async function alternating(calls: Record<string, Call>, rounds: number): Promise<Record<string, number>> {
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(calls).map((k) => [k, []]));
  for (let r = 0; r < rounds; r++) {
    for (const [name, call] of Object.entries(calls)) {
      const t0 = performance.now();
      await call();
      times[name].push(performance.now() - t0);
    }
  }
  return Object.fromEntries(Object.entries(times).map(([k, t]) => [k, median(t)]));
}

export async function quietBursts(calls: Record<string, Call>, rounds: number): Promise<Record<string, { hot: number; cold: number }>> {
  const hot: Record<string, number[]> = Object.fromEntries(Object.keys(calls).map((k) => [k, []]));
  const cold: Record<string, number[]> = Object.fromEntries(Object.keys(calls).map((k) => [k, []]));
  for (let r = 0; r < Math.ceil(rounds / 2); r++) {
    for (const [name, call] of Object.entries(calls)) {
      await quiet();
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        await call();
        (i === 0 ? cold : hot)[name].push(performance.now() - t0);
      }
    }
  }
  return Object.fromEntries(Object.keys(calls).map((k) => [k, { hot: median(hot[k]), cold: median(cold[k]) }]));
}
