import type { AttentionProblem } from '../problem.js';
import type { FeedControl, KernelRuntime } from './dispatch.js';
import { Arena, takeMask, type Dims, type MaskRegions } from './layout.js';
import { residentBf16Offset, residentOffset } from './resident.js';
import { takeScoreRegions, type ScoreRegions } from './score-params.js';

/**
 * The layout of a decoding call (l <= DECODE_MAX_ROWS) for assembly/decode.ts:
 * q pre-scaled, K and V in their natural layout (not copied when they are a
 * KV cache's resident storage), one partial per (kv head, key chunk).
 */

/** Query rows up to which impl 'wasm' runs the decode kernel rather than the 64-row block kernels. */
export const DECODE_MAX_ROWS = 16;
/** Keys per block inside a decode task: BK in assembly/decode-blocks.ts. */
const DECODE_BLOCK_KEYS = 64;

const roundUp = (n: number, m: number): number => Math.ceil(n / m) * m;

export interface DecodeDims extends Dims {
  /** Query rows sharing one pass over a kv head: (hq / hkv) · l. */
  rows: number;
  chunkKeys: number;
  chunks: number;
}

/**
 * Keys per task: at least 256 (a task's fixed costs stay small), 8 per row
 * of the group (the partials stay under a sixteenth of the K and V they
 * summarise) and s / 64 (at most 64 chunks per kv head to merge). A function
 * of the shape only, so results do not depend on the threads.
 */
export function decodeDims(p: AttentionProblem): DecodeDims {
  const rows = (p.hq / p.hkv) * p.l;
  const chunkKeys = roundUp(Math.max(256, 8 * rows, Math.ceil(p.s / 64)), DECODE_BLOCK_KEYS);
  const ep = Math.max(4, roundUp(p.e, 4));
  const evp = Math.max(4, roundUp(p.ev, 4));
  return {
    bh: p.batch * p.hq, bhkv: p.batch * p.hkv, lp: p.l, sp: p.s, ep, evp, nqb: 0, nkb: 0, dqParts: 0,
    rows, chunkKeys, chunks: Math.max(1, Math.ceil(p.s / chunkKeys)),
  };
}

export interface DecodePlan {
  q: number; k: number; v: number; kt: number; o: number; mrow: number; lrow: number;
  parts: number; partStride: number; mask: MaskRegions | null; score: ScoreRegions;
  scratch: number; scratchStride: number; end: number;
  /** Whether K (V) must be copied in: false where it already lies in the kernels' memory (a KV cache). */
  copyK: boolean; copyV: boolean;
  /** Whether the kernel reads K (V) as the bfloat16 bits of a cache stored in bfloat16 (resident.ts). */
  kBf16: boolean; vBf16: boolean;
}

export function decodePlan(p: AttentionProblem, d: DecodeDims, rt: KernelRuntime): DecodePlan {
  const a = new Arena(rt.heapStart);
  const q = a.take(d.bh * p.l * d.ep * 4);
  const kBf16 = residentBf16Offset(p.k);
  const vBf16 = residentBf16Offset(p.v);
  const kAt = kBf16 ?? residentOffset(p.k);
  const vAt = vBf16 ?? residentOffset(p.v);
  const k = kAt ?? a.take(p.k.length * 4);
  const v = vAt ?? a.take(p.v.length * 4);
  const o = a.take(d.bh * p.l * d.evp * 4);
  const mrow = a.take(d.bh * p.l * 4);
  const lrow = a.take(d.bh * p.l * 4);
  const partStride = roundUp(d.rows * (d.evp + 2) * 4, 64);
  const parts = a.take(d.bhkv * d.chunks * partStride);
  const mask = takeMask(a, p);
  const score = takeScoreRegions(a, p);
  const scratchStride = roundUp(d.rows * (DECODE_BLOCK_KEYS + 2) * 4, 64);
  const scratch = a.take(scratchStride * rt.poolThreads);
  return {
    q, k, v, kt: 0, o, mrow, lrow, parts, partStride, mask, score, scratch, scratchStride, end: a.end,
    copyK: kAt === null, copyV: vAt === null, kBf16: kBf16 !== null, vBf16: vBf16 !== null,
  };
}

/** q [bh·l, e] into rows of ep, times qScale (the kernel's scores are base 2), zero padded. */
export function copyScaledQuery(heap: Float32Array, dst: number, q: Float32Array | Float64Array, rows: number, e: number, ep: number, qScale: number): void {
  const base = dst / 4;
  for (let r = 0; r < rows; r++) {
    const to = base + r * ep;
    for (let c = 0; c < e; c++) heap[to + c] = q[r * e + c] * qScale;
    heap.fill(0, to + e, to + ep);
  }
}

/**
 * How far (in bytes of K and V) the other threads may fall behind the copy
 * before the caller stops feeding them and runs a task from the far end
 * itself: within this the chunks they read are still in the shared cache.
 */
const FEED_LEAD_BYTES = 2 << 20;

/**
 * The bytes of K and V copied between wake-ups of a thread asleep on the
 * ready count. A thread that keeps up with the copy would otherwise sleep and
 * be woken once per chunk (a system call on each side, and tens of
 * microseconds before it runs); half the lead, so that a sleeper is woken
 * before the caller would start on the far end.
 */
const FEED_WAKE_BYTES = FEED_LEAD_BYTES / 2;

/**
 * Copies K and V [bhkv, s, w] into the kernels' memory as they are (where
 * they are not resident), one task's key chunk at a time, and publishes after
 * each front chunk how many tasks have their rows: the decode job's workers
 * run those meanwhile (KernelRuntime.run's feed), woken every FEED_WAKE_BYTES. Where they lag more than
 * FEED_LEAD_BYTES behind, the caller claims the last task, copies its chunk
 * and runs it while it is in its own cache; the copy ends where the two meet.
 * Under keyLengths only the rows each element can see (the kernel reads no
 * key past them).
 */
export function feedKeysAndValues(heap: Float32Array, p: AttentionProblem, d: DecodeDims, plan: DecodePlan): (control: FeedControl) => void {
  const copyTask = (task: number): void => {
    const m = Math.floor(task / d.chunks);
    const c = task % d.chunks;
    const live = p.keyLengths === null ? p.s : p.keyLengths[Math.floor(m / p.hkv)];
    const [r0, r1] = [c * d.chunkKeys, Math.min(live, (c + 1) * d.chunkKeys)];
    if (r1 <= r0) return;
    const k0 = (m * p.s + r0) * p.e;
    const v0 = (m * p.s + r0) * p.ev;
    if (plan.copyK) heap.set(p.k.subarray(k0, k0 + (r1 - r0) * p.e), plan.k / 4 + k0);
    if (plan.copyV) heap.set(p.v.subarray(v0, v0 + (r1 - r0) * p.ev), plan.v / 4 + v0);
  };
  const chunkBytes = d.chunkKeys * ((plan.copyK ? p.e : 0) + (plan.copyV ? p.ev : 0)) * 4;
  const lead = Math.max(1, Math.floor(FEED_LEAD_BYTES / chunkBytes));
  const wakeEvery = Math.max(1, Math.floor(FEED_WAKE_BYTES / chunkBytes));
  return (control) => {
    // Tasks [front, back) are neither copied nor claimed by the caller.
    let back = d.bhkv * d.chunks;
    for (let front = 0; front < back;) {
      // -1 where the others claimed every task meanwhile: they wait for the rest of the copy.
      const task = front - control.claimedFront() >= lead ? control.claimLast() : -1;
      if (task >= 0) {
        copyTask(task);
        control.runClaimed(task);
        back = task;
      } else {
        copyTask(front++);
        control.publish(front, front % wakeEvery === 0);
      }
    }
  };
}

/** What waking the workers is judged by: the bytes of K and V read, or the multiply-adds if more. */
export function decodeWork(p: AttentionProblem, d: DecodeDims): number {
  return Math.max(d.bhkv * p.s * (p.e + p.ev) * 4, 2 * d.bh * p.l * p.s * (p.e + p.ev));
}
