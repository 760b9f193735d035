import type { AttentionProblem } from '../problem.js';
import { HEAP_BASE } from './abi.js';

/**
 * Where one call's arrays live in the kernels' linear memory. Rows are
 * padded so every tile is whole: l to a multiple of the block rows, s of the
 * block columns, e and ev of 8 (the gemm's micro-tile width), and to at least
 * 8 (they are the k of the score and dP products, which the gemm needs > 0:
 * e = 0 then gives zero scores); the padding is zeros, and padded keys are
 * masked out by the kernel.
 */
export interface Dims {
  bh: number;
  bhkv: number;
  lp: number;
  sp: number;
  ep: number;
  evp: number;
  nqb: number;
  nkb: number;
  /** dQ partial sums in the backward: one per chunk of key blocks, a function of the shape only. */
  dqParts: number;
}

/**
 * Chunks of key blocks per kv head in the backward, each with its own dQ
 * partial: up to 4 (enough tasks for a few cores on one head), fewer where
 * the partials would pass 16 MiB, never fewer than 2 (both cores of a small
 * machine on one long head), and no more than the key blocks, but at least 1:
 * with no keys the one partial stays zero and dq sums to zero. A function of
 * the shape only, so the bytes of dq never depend on the machine's thread count.
 */
function dqPartsFor(bh: number, lp: number, ep: number, nkb: number): number {
  const partBytes = bh * lp * ep * 4;
  const byMemory = Math.floor((16 * 2 ** 20) / partBytes);
  return Math.max(1, Math.min(nkb, Math.max(2, Math.min(4, byMemory))));
}

/** n rounded up to a multiple of 8, and at least 8. */
function pad8(n: number): number {
  return Math.max(8, Math.ceil(n / 8) * 8);
}

export function problemDims(p: AttentionProblem, blockRows: number, blockCols: number): Dims {
  const bh = p.batch * p.hq;
  const lp = Math.ceil(p.l / blockRows) * blockRows;
  const sp = Math.ceil(p.s / blockCols) * blockCols;
  const ep = pad8(p.e);
  const nkb = sp / blockCols;
  return {
    bh,
    bhkv: p.batch * p.hkv,
    lp,
    sp,
    ep,
    evp: pad8(p.ev),
    nqb: lp / blockRows,
    nkb,
    dqParts: dqPartsFor(bh, lp, ep, nkb),
  };
}

/** A bump allocator over linear memory: 64-byte aligned regions (a cache line, and v128 alignment). */
export class Arena {
  end: number;

  /** Starts at `start` (KernelRuntime.heapStart: above the regions that outlive a call). */
  constructor(start: number = HEAP_BASE) {
    this.end = start;
  }

  take(bytes: number): number {
    const at = Math.ceil(this.end / 64) * 64;
    this.end = at + bytes;
    return at;
  }
}

export interface MaskRegions {
  data: number;
  head: number;
}

export function takeMask(arena: Arena, p: AttentionProblem): MaskRegions | null {
  if (p.mask === null) return null;
  const bytesPer = p.mask.kind === 'bool' ? 1 : 4;
  return { data: arena.take(p.mask.data.length * bytesPer), head: arena.take(p.mask.headOffset.length * 4) };
}

/** Per-thread scratch for either pass (see forward.ts and backward.ts in assembly/). */
export function scratchBytes(d: Dims, blockRows: number, blockCols: number): number {
  const forward = (blockRows * d.ep + blockRows * blockCols + blockRows * d.evp + 4 * blockRows) * 4;
  const backward = (6 * blockCols * blockRows + (d.ep + d.evp) * blockRows + blockCols * d.ep) * 4;
  return Math.ceil(Math.max(forward, backward) / 64) * 64;
}
