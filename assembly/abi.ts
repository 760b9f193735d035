// The job block both sides agree on. Keep in sync with src/attention/wasm/abi.ts
// (the loader checks ABI_VERSION against the module's `abiVersion()`).
//
// Byte layout at `ctrl`:
//   0  i64 claim word: gen (16 bits) | nTasks (24 bits) | next task (24 bits)
//   8  i32 wake: bumped once per job; idle workers wait on it
//  12  i32 done: tasks finished in the current job; the caller waits on it
//  16  i32 error: set by a worker whose job trapped
//  64  i32 param slots, PARAM_BASE + 4 * slot, up to byte 512

export const ABI_VERSION: i32 = 3;

export const CLAIM: usize = 0;
export const WAKE: usize = 8;
export const DONE: usize = 12;
export const PARAM_BASE: usize = 64;

export const KIND_FORWARD_PACK: i32 = 1;
export const KIND_FORWARD: i32 = 2;
export const KIND_BACKWARD_PREP: i32 = 3;
export const KIND_BACKWARD_KV: i32 = 4;
export const KIND_BACKWARD_DQ: i32 = 5;

// Slot indices (i32 unless noted).
export const P_KIND = 0;
export const P_NTASKS = 1;
export const P_BH = 2;
export const P_HQ = 3;
export const P_HKV = 4;
export const P_L = 5;
export const P_S = 6;
export const P_LP = 7;
export const P_SP = 8;
export const P_EP = 9;
export const P_EVP = 10;
export const P_NQB = 11;
export const P_NKB = 12;
export const P_Q = 13;
export const P_K = 14;
export const P_V = 15;
export const P_KT = 16;
export const P_O = 17;
export const P_MROW = 18;
export const P_LROW = 19;
export const P_MASK_KIND = 20; // 0 none, 1 bool (u8), 2 additive (f32)
export const P_MASK = 21;
export const P_MASK_HEAD = 22; // i32 element offset per (batch, query head)
export const P_MASK_RS = 23;
export const P_MASK_CS = 24;
export const P_CAUSAL = 25;
export const P_DROP = 26; // 0 none, 1 threshold, 2 drop everything
export const P_DROP_THR = 27; // u32: keep iff hash >= thr
export const P_SEED = 28;
export const P_QSCALE = 29; // f32: scale * log2(e)
export const P_DROP_SCALE = 30; // f32: 1 / (1 - p)
export const P_SCALE = 31; // f32
export const P_SCRATCH = 32;
export const P_SCRATCH_STRIDE = 33;
export const P_DQ_PARTS = 34; // dQ partial sums (one per key-range chunk), fixed so results do not depend on threads
export const P_DO = 35;
export const P_UNUSED_36 = 36; // (was dOᵀ: now packed per task in scratch)
export const P_UNUSED_37 = 37; // (was Qᵀ: now packed per task in scratch)
export const P_LSE2 = 38; // f32 [bh, lp]: lse * log2(e), +inf where the row is fully masked or padding
export const P_D = 39; // f32 [bh, lp]: rowsum(dO * O)
export const P_DQ_PARTIALS = 40; // dQ partial sums [bh, lp, ep], P_DQ_PARTIAL_STRIDE bytes apart
export const P_DQ_PARTIAL_STRIDE = 41;
export const P_DK = 42;
export const P_DV = 43;
export const P_DQ = 44;
export const P_VT = 45; // backward: Vᵀ per key block [bhkv, nkb, evp, BC]
// The model options (src/attention/score-options.ts), each off at 0 / -1.
export const P_SOFTCAP = 46; // f32: the cap c on natural-log scores; 0 = off
export const P_ALIBI = 47; // f32 [hq]: slope · log2(e) per query head; 0 (null pointer) = off
export const P_WIN_LEFT = 48; // i32: window's left size, -1 = unbounded
export const P_WIN_RIGHT = 49; // i32: window's right size, -1 = unbounded
export const P_KEYLEN = 50; // i32 [batch]: keys per batch element; 0 (null pointer) = all s
export const P_SINKS = 51; // f32 [hq]: sink · log2(e) per query head (-inf = none); 0 (null pointer) = off
export const N_PARAMS = 52;

@inline export function param(ctrl: usize, slot: i32): i32 {
  return load<i32>(ctrl + PARAM_BASE + (<usize>slot << 2));
}

@inline export function paramF(ctrl: usize, slot: i32): f32 {
  return load<f32>(ctrl + PARAM_BASE + (<usize>slot << 2));
}

@inline export function paramPtr(ctrl: usize, slot: i32): usize {
  return <usize>load<u32>(ctrl + PARAM_BASE + (<usize>slot << 2));
}
