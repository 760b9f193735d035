import { madd } from './madd';

// The scores of a decode block for one query row: R = 1 (no GQA group,
// l = 1), the step of generating a token with plain multi-head attention,
// where each key's K and V rows are used once and the call waits on memory.
//
// scoreBlock (decode-blocks.ts) takes four keys at a time, column by column:
// its loads walk four rows 4·e bytes apart in turn. Here one key's row is
// read to its end before the next one's, so the reads of K rise through
// memory in one stream, which the hardware prefetcher follows further ahead;
// and each key's V row is touched (one load per 64-byte line) as its score
// is taken, so V is already on its way to the caches when the block's
// weighted sum reads it. Measured on one thread from DRAM (8 heads × 4,096
// keys, E = 128; docs/performance.md): the reads are faster than with
// scoreBlock, the touches faster again. Where K and V sit in L3 (512 keys)
// the touches cost a few per cent; the decode shapes that matter do not fit.
//
// Memory: q [e], k [n][e], v [n][ev] (row strides e, ev floats), sc [n].

/**
 * The scores q·k of the block's n keys into sc[0 .. n) (four partial sums
 * per key over 16 floats a step, then the e % 16 rest), touching the V rows
 * of the same keys. Returns the xor of the words it touched: the caller
 * keeps it (decode.ts), so that no compiler may drop the loads.
 */
export function scoreRow(q: usize, k: usize, e: i32, n: i32, sc: usize, v: usize, ev: i32): i32 {
  const kRow = <usize>e << 2, vRow = <usize>ev << 2;
  const e16 = <usize>(e & ~15) << 2, e4 = <usize>(e & ~3) << 2;
  let touched = 0;
  let kj = k, vj = v;
  for (let jj = 0; jj < n; jj++) {
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    let c: usize = 0;
    for (; c < e16; c += 64) {
      const qc = q + c, kc = kj + c;
      a0 = madd(v128.load(qc), v128.load(kc), a0);
      a1 = madd(v128.load(qc, 16), v128.load(kc, 16), a1);
      a2 = madd(v128.load(qc, 32), v128.load(kc, 32), a2);
      a3 = madd(v128.load(qc, 48), v128.load(kc, 48), a3);
    }
    for (; c < e4; c += 16) a0 = madd(v128.load(q + c), v128.load(kj + c), a0);
    const a = f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3));
    let s = f32x4.extract_lane(a, 0) + f32x4.extract_lane(a, 1) + f32x4.extract_lane(a, 2) + f32x4.extract_lane(a, 3);
    for (; c < kRow; c += 4) s += load<f32>(q + c) * load<f32>(kj + c);
    store<f32>(sc + (<usize>jj << 2), s);
    for (let o: usize = 0; o < vRow; o += 64) touched ^= load<i32>(vj + o);
    kj += kRow;
    vj += vRow;
  }
  return touched;
}
