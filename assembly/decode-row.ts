import { elemAt, elemOffset, load4, load4At } from './kv-elements';
import { madd } from './madd';

// The blocks of a decode task for one query row: R = 1 (no GQA group,
// l = 1), the step of generating a token with plain multi-head attention,
// where each key's K and V rows are used once and the call waits on memory.
//
// scoreBlock (decode-blocks.ts) takes four keys at a time, column by column:
// its loads walk four rows 4·e bytes apart in turn. scoreRow reads one key's
// row to its end before the next one's, so the reads of K rise through
// memory in one stream, which the hardware prefetcher follows further ahead;
// and it touches each key's V row (one load per 64-byte line) as it takes
// the key's score, so V is on its way to the caches before the block's
// weighted sum reads it. That sum, addWeightedRow, then keeps 32 columns of
// acc in registers over the whole block (the R-row addWeighted loads and
// stores acc every four keys) and folds in the rescale by α.
// Measured on one thread (docs/performance.md, "one query row per head"):
// K and V from DRAM (8 heads × 4,096 or 32,768 keys, E = 128) are read
// faster than by the R-row blocks; where they sit in L3 (512 keys) the
// touches cost a few per cent.
//
// Memory: q [e], k [n][e], v [n][ev] (row strides e, ev elements of K's and V's
// type: f32, or u16 for a bfloat16 cache, kv-elements.ts), sc [n], acc [ev].

/**
 * The scores q·k of the block's n keys into sc[0 .. n) (four partial sums
 * per key over 16 floats a step, then the e % 16 rest), touching the V rows
 * of the same keys. Returns the xor of the words it touched: the caller
 * keeps it (decode.ts), so that no compiler may drop the loads.
 */
export function scoreRow<K>(q: usize, k: usize, e: i32, n: i32, sc: usize, v: usize, vRow: usize): i32 {
  const kRow = <usize>e * sizeof<K>();
  const e16 = <usize>(e & ~15) << 2, e4 = <usize>(e & ~3) << 2;
  let touched = 0;
  let kj = k, vj = v;
  for (let jj = 0; jj < n; jj++) {
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    let c: usize = 0;
    for (; c < e16; c += 64) {
      const qc = q + c, kc = kj + elemOffset<K>(c);
      a0 = madd(v128.load(qc), load4At<K>(kc, 0), a0);
      a1 = madd(v128.load(qc, 16), load4At<K>(kc, 16), a1);
      a2 = madd(v128.load(qc, 32), load4At<K>(kc, 32), a2);
      a3 = madd(v128.load(qc, 48), load4At<K>(kc, 48), a3);
    }
    for (; c < e4; c += 16) a0 = madd(v128.load(q + c), load4<K>(kj + elemOffset<K>(c)), a0);
    const a = f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3));
    let s = f32x4.extract_lane(a, 0) + f32x4.extract_lane(a, 1) + f32x4.extract_lane(a, 2) + f32x4.extract_lane(a, 3);
    for (let i = e & ~3; i < e; i++) s += load<f32>(q + (<usize>i << 2)) * elemAt<K>(kj, i);
    store<f32>(sc + (<usize>jj << 2), s);
    for (let o: usize = 0; o < vRow; o += 64) touched ^= load<u8>(vj + o);
    kj += kRow;
    vj += vRow;
  }
  return touched;
}

/**
 * acc[ev] = α · acc + Σ_jj p[jj] · v[jj] over the block's n keys (the
 * online softmax's rescale and update in one pass over acc), column-outer:
 * 32 columns' sums stay in eight registers over all n keys.
 */
export function addWeightedRow<V>(acc: usize, alpha: f32, p: usize, v: usize, ev: i32, n: i32): void {
  const vRow = <usize>ev * sizeof<V>();
  const ev32 = <usize>(ev & ~31) << 2, ev4 = <usize>(ev & ~3) << 2;
  const av = f32x4.splat(alpha);
  const pEnd = p + (<usize>n << 2);
  let c: usize = 0;
  for (; c < ev32; c += 128) {
    const at = acc + c;
    let a0 = f32x4.mul(v128.load(at), av), a1 = f32x4.mul(v128.load(at, 16), av);
    let a2 = f32x4.mul(v128.load(at, 32), av), a3 = f32x4.mul(v128.load(at, 48), av);
    let a4 = f32x4.mul(v128.load(at, 64), av), a5 = f32x4.mul(v128.load(at, 80), av);
    let a6 = f32x4.mul(v128.load(at, 96), av), a7 = f32x4.mul(v128.load(at, 112), av);
    let vj = v + elemOffset<V>(c);
    for (let pj = p; pj < pEnd; pj += 4) {
      const w = v128.load32_splat(pj);
      a0 = madd(w, load4At<V>(vj, 0), a0); a1 = madd(w, load4At<V>(vj, 16), a1);
      a2 = madd(w, load4At<V>(vj, 32), a2); a3 = madd(w, load4At<V>(vj, 48), a3);
      a4 = madd(w, load4At<V>(vj, 64), a4); a5 = madd(w, load4At<V>(vj, 80), a5);
      a6 = madd(w, load4At<V>(vj, 96), a6); a7 = madd(w, load4At<V>(vj, 112), a7);
      vj += vRow;
    }
    v128.store(at, a0); v128.store(at, a1, 16); v128.store(at, a2, 32); v128.store(at, a3, 48);
    v128.store(at, a4, 64); v128.store(at, a5, 80); v128.store(at, a6, 96); v128.store(at, a7, 112);
  }
  for (; c < ev4; c += 16) {
    let a = f32x4.mul(v128.load(acc + c), av);
    let vj = v + elemOffset<V>(c);
    for (let pj = p; pj < pEnd; pj += 4) {
      a = madd(v128.load32_splat(pj), load4<V>(vj), a);
      vj += vRow;
    }
    v128.store(acc + c, a);
  }
  for (let cc = ev & ~3; cc < ev; cc++) {
    const at = acc + (<usize>cc << 2);
    let a = load<f32>(at) * alpha;
    let vj = v;
    for (let pj = p; pj < pEnd; pj += 4) {
      a += load<f32>(pj) * elemAt<V>(vj, cc);
      vj += vRow;
    }
    store<f32>(at, a);
  }
}
