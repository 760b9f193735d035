import { ScaledotError, rounder } from '../../tensor/index.js';
import type { AttentionBackend, AttentionProblem, BackwardResult, ForwardResult } from '../problem.js';
import { MAX_TASKS, type SharedParams } from './abi.js';
import { copyIn, copyKeysIn, copyMask, copyOut, touchedArray } from './copy.js';
import type { KernelRuntime } from './dispatch.js';
import { copyScaledQuery, feedKeysAndValues, decodeDims, decodePlan, decodeWork, DECODE_MAX_ROWS } from './decode.js';
import { Arena, problemDims, scratchBytes, takeMask, type Dims, type MaskRegions } from './layout.js';
import { kernelRuntime } from './loader.js';
import { addReferenceRows, referenceBackward } from '../reference.js';
import { redoForwardRow, redone, stateOutOfRange } from './redo.js';
import { float32Refusal, scoreParams, sinkGradient, takeScoreRegions, type ScoreParams, type ScoreRegions } from './score-params.js';

/**
 * impl 'wasm': the FlashAttention algorithm as WebAssembly SIMD128 kernels
 * (assembly/), on every core (dispatch.ts). Float32 arithmetic, so it takes
 * float32 and the half dtypes (whose values float32 holds exactly; the output
 * is rounded to the dtype) but not float64. Unavailable (supports() false,
 * so 'auto' picks another backend) where the module cannot load: see
 * wasmAttentionInfo().reason.
 */

/** Linear memory stays within 2 GiB so that every byte offset is a non-negative i32 in the kernels. */
const MAX_BYTES = 2 ** 31;

export const wasmBackend: AttentionBackend = {
  name: 'wasm',
  priority: 20,
  dtypes: ['float32', 'float16', 'bfloat16'],
  supports(p) {
    if (!this.dtypes.includes(p.dtype) || float32Refusal(p) !== null) return false;
    const rt = kernelRuntime();
    if (rt === null) return false;
    const d = problemDims(p, rt.blockRows, rt.blockCols);
    const mostTasks = Math.max(d.bh * d.nqb + d.bhkv * d.nkb, d.bhkv * d.dqParts);
    if (mostTasks > MAX_TASKS || backwardPlan(p, d, rt).end > MAX_BYTES || forwardPlan(p, d, rt).end > MAX_BYTES) return false;
    if (!decodes(p)) return true;
    const dd = decodeDims(p);
    return dd.bhkv * dd.chunks <= MAX_TASKS && decodePlan(p, dd, rt).end <= MAX_BYTES;
  },
  refusal: (p) => float32Refusal(p),
  forward: wasmForward,
  backward: wasmBackward,
};

function runtimeOrThrow(): KernelRuntime {
  const rt = kernelRuntime();
  if (rt === null) throw new ScaledotError('E_OPTION', "impl 'wasm': the WebAssembly module is unavailable here; see wasmAttentionInfo().reason, or use impl 'auto'");
  return rt;
}

/** The parameters both passes share: shapes, the regions `stage` laid out, the mask, causal, dropout and scale. */
function sharedParams(p: AttentionProblem, d: Dims, plan: CommonPlan, score: ScoreParams): SharedParams {
  // Kept iff hash >= p · 2^32 (dropoutKeeps): for an integer hash, iff hash >= ceil(p · 2^32).
  const threshold = Math.ceil(p.dropoutP * 4294967296);
  const mask = p.mask !== null && plan.mask !== null ? { ...p.mask, regions: plan.mask } : null;
  return {
    hq: p.hq, hkv: p.hkv, l: p.l, s: p.s, lp: d.lp, sp: d.sp, ep: d.ep, evp: d.evp, nqb: d.nqb, nkb: d.nkb,
    q: plan.q, k: plan.k, kt: plan.kt,
    maskKind: mask === null ? 0 : mask.kind === 'bool' ? 1 : 2,
    mask: mask?.regions.data ?? 0, maskHead: mask?.regions.head ?? 0,
    maskRowStride: mask?.rowStride ?? 0, maskColStride: mask?.colStride ?? 0,
    causal: p.causal ? 1 : 0,
    drop: p.dropoutP === 0 ? 0 : threshold > 0xffffffff ? 2 : 1,
    dropThreshold: p.dropoutP === 0 ? 0 : threshold | 0,
    seed: p.seed | 0,
    qScale: p.scale * Math.LOG2E,
    dropScale: p.dropoutP === 0 ? 1 : 1 / (1 - p.dropoutP),
    scratch: plan.scratch, scratchStride: plan.scratchStride,
    ...score,
  };
}

/** What either pass lays out: q and k in, Kᵀ packed, the mask, per-thread scratch. */
interface CommonPlan {
  q: number; k: number; kt: number; mask: MaskRegions | null; score: ScoreRegions; scratch: number; scratchStride: number; end: number;
}

interface ForwardPlan extends CommonPlan {
  v: number; o: number; mrow: number; lrow: number;
}

function forwardPlan(p: AttentionProblem, d: Dims, rt: KernelRuntime): ForwardPlan {
  const a = new Arena(rt.heapStart);
  const q = a.take(d.bh * d.lp * d.ep * 4);
  const v = a.take(d.bhkv * d.sp * d.evp * 4);
  const kt = a.take(d.bhkv * d.sp * d.ep * 4);
  // K is only read to pack Kᵀ, in a job that ends before the first output is
  // written: it is staged in the output's bytes (sized for the larger of the two).
  const o = a.take(Math.max(d.bh * d.lp * d.evp, d.bhkv * d.sp * d.ep) * 4);
  const k = o;
  const mrow = a.take(d.bh * d.lp * 4);
  const lrow = a.take(d.bh * d.lp * 4);
  const mask = takeMask(a, p);
  const score = takeScoreRegions(a, p);
  const scratchStride = scratchBytes(d, rt.blockRows, rt.blockCols);
  const scratch = a.take(scratchStride * rt.poolThreads);
  return { q, k, v, kt, o, mrow, lrow, mask, score, scratch, scratchStride, end: a.end };
}

/** Multiply-adds of QKᵀ and PV (2 · 2 · l · s · e flops per head, halved for causal), for the wake-up decision. */
function forwardFlops(p: AttentionProblem, d: Dims): number {
  return (4 * d.bh * p.l * p.s * Math.max(p.e, p.ev)) / (p.causal ? 2 : 1);
}

/** The backward's key-chunk job: five products to the forward's two. */
function backwardKvFlops(p: AttentionProblem, d: Dims): number {
  return 2.5 * forwardFlops(p, d);
}

/** Whether the forward runs the decode kernel (assembly/decode.ts) rather than the 64-row blocks. */
function decodes(p: AttentionProblem): boolean {
  return p.l >= 1 && p.l <= DECODE_MAX_ROWS;
}

function wasmForward(p: AttentionProblem): ForwardResult {
  return forwardInFloat32(p, p.dtype === 'float32' ? null : rounder(p.dtype));
}

/**
 * The start both passes share: wakes the workers for the pass's longest job
 * (`longest`: its tasks and flops) so that they are up by the time it is
 * published, lays out `plan`, grows memory to it, copies q, k and the mask
 * in, and gives the parameters of those regions.
 */
function stage<P extends CommonPlan>(
  p: AttentionProblem, planFor: (p: AttentionProblem, d: Dims, rt: KernelRuntime) => P, longest: (d: Dims) => [number, number],
): { rt: KernelRuntime; d: Dims; plan: P; buffer: ArrayBufferLike; heap: Float32Array; shared: SharedParams; sinks: number } {
  const rt = runtimeOrThrow();
  const d = problemDims(p, rt.blockRows, rt.blockCols);
  rt.wakeAhead(...longest(d));
  const plan = planFor(p, d, rt);
  rt.reserve(plan.end);
  const buffer = rt.memory.buffer;
  const heap = new Float32Array(buffer);
  copyIn(heap, plan.q, p.q, d.bh, p.l, p.e, d.lp, d.ep);
  copyKeysIn(heap, plan.k, p.k, d.bhkv, p.s, p.e, d.sp, d.ep, p.hkv, p.keyLengths, rt.blockCols);
  if (p.mask !== null && plan.mask !== null) copyMask(buffer, p.mask, plan.mask.data, plan.mask.head);
  const score = scoreParams(p, buffer, plan.score);
  return { rt, d, plan, buffer, heap, shared: sharedParams(p, d, plan, score.shared), sinks: score.sinks };
}

/** The forward pass; the output is float32, rounded to the problem's dtype by `round` if given. */
function forwardInFloat32(p: AttentionProblem, round: ((x: number) => number) | null): ForwardResult {
  if (decodes(p)) return decodeInFloat32(p, round);
  const { rt, d, plan, buffer, heap, shared, sinks } = stage(p, forwardPlan, (d) => [d.bh * d.nqb, forwardFlops(p, d)]);
  copyKeysIn(heap, plan.v, p.v, d.bhkv, p.s, p.ev, d.sp, d.evp, p.hkv, p.keyLengths, rt.blockCols);
  const params = { ...shared, sinks, v: plan.v, o: plan.o, mrow: plan.mrow, lrow: plan.lrow };

  rt.run('forwardPack', params, d.bhkv * d.nkb, 8 * d.bhkv * d.sp * d.ep);
  // The result's fresh pages are faulted in while the workers start the kernel.
  let fresh: Float32Array | undefined;
  rt.run('forward', params, d.bh * d.nqb, forwardFlops(p, d), { meanwhile: () => { fresh = touchedArray(d.bh * p.l * p.ev); } });

  const output = copyOut(heap, plan.o, d.bh, p.l, p.ev, d.lp, d.evp, round, fresh);
  return { output, lse: lseOf(p, d, buffer, plan.mrow, plan.lrow, output, round) };
}

/**
 * lse [bh, l] from the kernels' base-2 running max and sum per row ([bh, lp]);
 * a row whose float32 state went out of range is redone in float64, into
 * `output` and lse (redo.ts).
 */
function lseOf(
  p: AttentionProblem, d: Pick<Dims, 'bh' | 'lp'>, buffer: ArrayBufferLike, mrowAt: number, lrowAt: number,
  output: Float32Array, round: ((x: number) => number) | null,
): Float64Array {
  const lse = new Float64Array(d.bh * p.l);
  const mrow = new Float32Array(buffer, mrowAt, d.bh * d.lp);
  const lrow = new Float32Array(buffer, lrowAt, d.bh * d.lp);
  for (let r = 0; r < d.bh; r++) {
    for (let i = 0; i < p.l; i++) {
      const m = mrow[r * d.lp + i];
      // The kernel's m is a base-2 max: lse = ln(2^m · l) = (m + log2 l) · ln 2.
      const l = lrow[r * d.lp + i];
      lse[r * p.l + i] = m === -Infinity ? -Infinity : (m + Math.log2(l)) * Math.LN2;
      if (stateOutOfRange(p, r, i, m, l)) redoForwardRow(p, r, i, output, lse, round);
    }
  }
  return lse;
}

/**
 * The forward for l <= DECODE_MAX_ROWS (assembly/decode.ts): q is copied in
 * pre-scaled, K and V only when they are not already resident (a KV cache),
 * chunk by chunk while the workers start on the chunks copied; one job reads
 * them once in key chunks, a second merges the chunks.
 */
function decodeInFloat32(p: AttentionProblem, round: ((x: number) => number) | null): ForwardResult {
  const rt = runtimeOrThrow();
  const d = decodeDims(p);
  rt.wakeAhead(d.bhkv * d.chunks, decodeWork(p, d));
  const plan = decodePlan(p, d, rt);
  rt.reserve(plan.end);
  const buffer = rt.memory.buffer;
  const heap = new Float32Array(buffer);
  copyScaledQuery(heap, plan.q, p.q, d.bh * p.l, p.e, d.ep, Math.fround(p.scale * Math.LOG2E));
  if (p.mask !== null && plan.mask !== null) copyMask(buffer, p.mask, plan.mask.data, plan.mask.head);
  const score = scoreParams(p, buffer, plan.score);
  // Object.assign onto the fresh shared object rather than a spread into a new one: a step of decoding is short.
  const params = Object.assign(sharedParams(p, d, plan, score.shared), {
    sinks: score.sinks, v: plan.v, o: plan.o, mrow: plan.mrow, lrow: plan.lrow,
    e: p.e, ev: p.ev, chunkKeys: d.chunkKeys, chunks: d.chunks, parts: plan.parts, partStride: plan.partStride,
    kBf16: plan.kBf16 ? 1 : 0, vBf16: plan.vBf16 ? 1 : 0,
  });
  // Plain K and V are copied in as the job runs (the feed claims from the far end as it goes); over a
  // resident cache the caller takes its tasks from the far end while the workers take theirs from the
  // front, so each thread reads one run of adjacent key chunks, which the prefetchers follow better
  // than every other chunk: 1.08-1.23x at 4,096 keys, measured in turns (docs/performance.md, fourth round).
  const copies = plan.copyK || plan.copyV;
  rt.run('decode', params, d.bhkv * d.chunks, decodeWork(p, d), copies ? { feed: feedKeysAndValues(heap, p, d, plan) } : { fromEnd: true });
  rt.run('decodeMerge', params, d.bhkv, d.bhkv * d.chunks * plan.partStride);
  const output = copyOut(heap, plan.o, d.bh, p.l, p.ev, p.l, d.evp, round);
  return { output, lse: lseOf(p, d, buffer, plan.mrow, plan.lrow, output, round) };
}

interface BackwardPlan extends CommonPlan {
  vt: number; dOut: number; lse2: number; d: number;
  dqPartials: number; dqPartialStride: number; dk: number; dv: number; dq: number;
}

function backwardPlan(p: AttentionProblem, d: Dims, rt: KernelRuntime): BackwardPlan {
  const a = new Arena(rt.heapStart);
  const q = a.take(d.bh * d.lp * d.ep * 4);
  const kt = a.take(d.bhkv * d.sp * d.ep * 4);
  const vt = a.take(d.bhkv * d.sp * d.evp * 4);
  // dq is written by the last job, after dO's last reader: it reuses dO's bytes.
  const dOut = a.take(d.bh * d.lp * Math.max(d.ep, d.evp) * 4);
  const lse2 = a.take(d.bh * d.lp * 4);
  const dRow = a.take(d.bh * d.lp * 4);
  const dqPartialStride = Math.ceil((d.bh * d.lp * d.ep * 4) / 64) * 64;
  const dqPartials = a.take(dqPartialStride * d.dqParts);
  const dk = a.take(d.bhkv * d.sp * d.ep * 4);
  // K is only read to pack Kᵀ (the kernels take K tiles back from Kᵀ), before dK is written: it is staged in dK's bytes.
  const k = dk;
  const dv = a.take(d.bhkv * d.sp * d.evp * 4);
  const mask = takeMask(a, p);
  const score = takeScoreRegions(a, p);
  const scratchStride = scratchBytes(d, rt.blockRows, rt.blockCols);
  const scratch = a.take(scratchStride * rt.poolThreads);
  return { q, k, kt, vt, dOut, lse2, d: dRow, dqPartials, dqPartialStride, dk, dv, dq: dOut, mask, score, scratch, scratchStride, end: a.end };
}

function wasmBackward(
  p: AttentionProblem, output: Float64Array | Float32Array, lse: Float64Array, dOut: Float64Array | Float32Array,
): BackwardResult {
  // D = rowsum(dO ∘ O) needs O to float32 accuracy: a half dtype's rounded
  // output would put its own rounding error (2^-11 for float16) into every
  // gradient, so for those the output is recomputed unrounded.
  if (p.dtype !== 'float32') output = forwardInFloat32(p, null).output;
  const { rt, d, plan, buffer, heap, shared } = stage(p, backwardPlan, (d) => [d.bhkv * d.dqParts, backwardKvFlops(p, d)]);
  // V is only needed to pack Vᵀ, which happens before dV is written: it is staged in dV's bytes.
  copyKeysIn(heap, plan.dv, p.v, d.bhkv, p.s, p.ev, d.sp, d.evp, p.hkv, p.keyLengths, rt.blockCols);
  copyIn(heap, plan.dOut, dOut, d.bh, p.l, p.ev, d.lp, d.evp);
  // lse in base 2, and +inf where no weight may be nonzero (a fully masked row,
  // or padding), so that 2^(s - lse2) is exactly 0 there; D = rowsum(dO ∘ O) in float64.
  const lse2 = new Float32Array(buffer, plan.lse2, d.bh * d.lp).fill(Infinity);
  const dRow = new Float32Array(buffer, plan.d, d.bh * d.lp).fill(0);
  const rowD = new Float64Array(d.bh * p.l);
  for (let r = 0; r < d.bh; r++) {
    for (let i = 0; i < p.l; i++) {
      const row = r * p.l + i;
      // A row the forward redid in float64 is left out here (lse2 = +∞ weighs nothing) and added below.
      if (lse[row] !== -Infinity && !redone(lse[row])) lse2[r * d.lp + i] = lse[row] * Math.LOG2E;
      let dot = 0;
      for (let c = 0; c < p.ev; c++) dot += dOut[row * p.ev + c] * output[row * p.ev + c];
      dRow[r * d.lp + i] = dot;
      rowD[row] = dot;
    }
  }
  const params = {
    ...shared, bh: d.bh, scale: p.scale, vT: plan.vt, dOut: plan.dOut, lse2: plan.lse2, d: plan.d,
    dqParts: d.dqParts, dqPartials: plan.dqPartials, dqPartialStride: plan.dqPartialStride, dk: plan.dk, dv: plan.dv, dq: plan.dq,
  };

  rt.run('backwardPrep', params, d.bh * d.nqb + d.bhkv * d.nkb, 8 * (d.bh * d.lp + d.bhkv * d.sp) * d.ep);
  // The gradients' fresh pages are faulted in while the workers start the longest job.
  let fresh: Float32Array[] = [];
  rt.run('backwardKv', params, d.bhkv * d.dqParts, backwardKvFlops(p, d), {
    meanwhile: () => { fresh = [touchedArray(d.bh * p.l * p.e), touchedArray(d.bhkv * p.s * p.e), touchedArray(d.bhkv * p.s * p.ev)]; },
  });
  rt.run('backwardDq', params, d.bh * d.nqb, 8 * d.dqParts * d.bh * d.lp * d.ep);

  const round = p.dtype === 'float32' ? null : rounder(p.dtype);
  const grads = {
    dq: copyOut(heap, plan.dq, d.bh, p.l, p.e, d.lp, d.ep, null, fresh[0]),
    dk: copyOut(heap, plan.dk, d.bhkv, p.s, p.e, d.sp, d.ep, null, fresh[1]),
    dv: copyOut(heap, plan.dv, d.bhkv, p.s, p.ev, d.sp, d.evp, null, fresh[2]),
  };
  if (lse.some(redone)) {
    // Left out of the kernels by lse2 = +∞, a redone row still meets a score that overflowed to +∞ in
    // q·k as ∞ − ∞ = NaN: such a problem (|q·k| past float32) is done whole in float64.
    if (Object.values(grads).some((g) => g.some(Number.isNaN))) return referenceBackward(p, output, lse, dOut);
    addReferenceRows(p, lse, redone, dOut, grads, null);
  }
  if (round) for (const g of Object.values(grads)) for (let t = 0; t < g.length; t++) g[t] = round(g[t]);
  return { ...grads, dsinks: sinkGradient(p, lse, (row) => rowD[row]) };
}
