import { ScaledotError } from '../tensor/index.js';
import type { AttentionBackend, AttentionProblem } from './problem.js';
import { referenceBackend } from './reference.js';
import { tiledBackend } from './tiled.js';
import { wasmBackend } from './wasm/backend.js';
import { webGpuBackend } from './webgpu/backend.js';

/**
 * Every attention backend, in one fixed list (no global registration, so what
 * runs never depends on import order). To add a backend: import it and append
 * it here. `priority` orders the choice of impl 'auto' (higher wins); the
 * reference is always there with priority 0 and supports every problem, so
 * 'auto' always finds one.
 */
export const BACKENDS: readonly AttentionBackend[] = [referenceBackend, tiledBackend, wasmBackend, webGpuBackend];

/** The names accepted by the `impl` option besides 'auto', in registration order. */
export function listAttentionImpls(): string[] {
  return BACKENDS.map((b) => b.name);
}

export type AttentionImpl = 'reference' | 'tiled' | 'wasm' | 'webgpu' | 'auto' | (string & {});

/** Whether `impl` names a registered backend or 'auto'. */
export function isKnownImpl(impl: string): boolean {
  return impl === 'auto' || BACKENDS.some((b) => b.name === impl);
}

/**
 * The backend that runs problem `p`: the named one, or for 'auto' the
 * highest-priority one whose `supports(p)` holds. A named backend that cannot
 * take the problem is an error, not a silent fallback: the caller asked for it.
 * A backend with async passes (webgpu) is only for the async entry points
 * (`inAsync`): a sync call naming it is refused, and 'auto' takes it only
 * from an async call and only where its `pays(p)` holds.
 */
export function resolveBackend(fn: string, impl: string, p: AttentionProblem, inAsync = false): AttentionBackend {
  if (impl === 'auto') {
    let best: AttentionBackend | null = null;
    for (const b of BACKENDS) {
      const eligible = b.async === undefined || (inAsync && b.supports(p) && b.async.pays(p));
      if (eligible && b.supports(p) && (best === null || b.priority > best.priority)) best = b;
    }
    if (best !== null) return best;
    throw new ScaledotError('E_OPTION', `${fn}: no attention backend supports this problem (${describeProblem(p)})`);
  }
  const named = BACKENDS.find((b) => b.name === impl);
  if (named === undefined) {
    throw new ScaledotError('E_OPTION', `${fn}: impl is ${JSON.stringify(impl)}; expected one of ${['auto', ...listAttentionImpls()].join(', ')}`);
  }
  if (named.async !== undefined && !inAsync) {
    throw new ScaledotError('E_OPTION', `${fn}: impl '${impl}' computes on the GPU, whose results arrive asynchronously; call ${fn}Async (await it) instead, or pick a sync impl (${listAttentionImpls().filter((x) => BACKENDS.find((b) => b.name === x)?.async === undefined).join(', ')})`);
  }
  if (!named.supports(p)) {
    const why = named.refusal?.(p) ?? null;
    if (why !== null) throw new ScaledotError('E_OPTION', `${fn}: impl '${impl}' cannot take ${why}; use impl 'auto' (which picks one that can), 'tiled' or 'reference'`);
    throw new ScaledotError('E_OPTION', `${fn}: impl '${impl}' does not support this problem (${describeProblem(p)}); use impl 'auto' or 'reference'`);
  }
  return named;
}

function describeProblem(p: AttentionProblem): string {
  const mask = p.mask ? `${p.mask.kind} mask` : 'no mask';
  return `dtype ${p.dtype}, batch ${p.batch}, hq ${p.hq}, hkv ${p.hkv}, L ${p.l}, S ${p.s}, E ${p.e}, Ev ${p.ev}, ${mask}, causal ${p.causal}, dropoutP ${p.dropoutP}${scoreOptionsOf(p)}`;
}

function scoreOptionsOf(p: AttentionProblem): string {
  const on = [
    p.softcap > 0 ? 'softcap' : '', p.alibi ? 'alibiSlopes' : '', p.window ? 'window' : '',
    p.keyLengths ? 'keyLengths' : '', p.sinks ? 'sinks' : '',
  ].filter((x) => x !== '');
  return on.length > 0 ? `, ${on.join(', ')}` : '';
}
