import { performance } from 'node:perf_hooks';

/** This checkout's module at `path` (under src/) and the same module of `other`, loaded side by side in one process. */
export async function beforeAndAfter<Lib>(other: string | undefined, path: string): Promise<Record<'before' | 'after', Lib>> {
  if (other === undefined) throw new Error('--other: the checkout to compare with (its src/ is imported)');
  return {
    before: (await import(`${other}/src/${path}.ts`)) as Lib,
    after: (await import(`../../src/${path}.js`)) as Lib,
  };
}

/**
 * Times `calls.before` and `calls.after` in turn, the order alternating each
 * round so that the machine's load falls on both alike: per turn (after
 * `pause`, where given) a burst of 3 calls of which the last 2 are timed.
 * Every call runs `warmup` times first. Returns each side's times in ms.
 */
export async function timeInTurns(
  calls: Record<'before' | 'after', () => unknown>, rounds: number, opts: { warmup: number; pause?: () => Promise<unknown> },
): Promise<Record<'before' | 'after', number[]>> {
  const times: Record<'before' | 'after', number[]> = { before: [], after: [] };
  for (const call of Object.values(calls)) for (let i = 0; i < opts.warmup; i++) call();
  for (let r = 0; r < rounds; r++) {
    for (const which of (r % 2 === 0 ? ['before', 'after'] : ['after', 'before']) as ('before' | 'after')[]) {
      await opts.pause?.();
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        calls[which]();
        if (i > 0) times[which].push(performance.now() - t0);
      }
    }
  }
  return times;
}
