/**
 * WGSL shared by every webgpu kernel: the parameters, the inputs every pass
 * reads, and the score of one (query, key) pair with every option, in the
 * order the reference applies them (problem.ts): scale · q·k, softcap, ALiBi,
 * then the masks (attnMask, isCausal, window, keyLengths).
 *
 * The kernels never compute with ±∞ (WGSL lets a compiler assume no
 * infinities): a masked key is skipped by a flag, an additive mask's −∞
 * arrives as its bit pattern and is tested as bits, and an empty row's lse
 * reaches the backward as +3e38 so that exp(s − lse) is exactly 0.
 *
 * Layouts (row-major, f32 unless said):
 *   q: [B·Hq, L, E]   k: [B·Hkv, S, E]   v: [B·Hkv, S, Ev]
 *   mask: u32 bits of f32, broadcast by (aux[maskHead + b·Hq + h], rowStride, colStride); a bool mask is 0 / −∞
 *   aux (u32): maskHead [B·Hq] | keyLengths [B] | per head h: sink bits, has sink, ALiBi slope bits
 */

/** Byte size of the Params uniform (a multiple of 16). */
export const PARAMS_BYTES = 96;

/** Where each field of Params sits, in 4-byte words (the order of the struct below). */
export const PARAM_WORDS = {
  batch: 0, hq: 1, hkv: 2, l: 3, s: 4, scale: 5, softcap: 6, maskOn: 7,
  causal: 8, windowOn: 9, windowLeft: 10, windowRight: 11, keyLengthsOn: 12, alibiOn: 13, sinksOn: 14, dropMode: 15,
  dropThreshold: 16, seed: 17, dropScale: 18, maskRowStride: 19, maskColStride: 20, auxKeyLengths: 21, auxHeads: 22, pad: 23,
} as const;

export const COMMON_WGSL = /* wgsl */ `
struct Params {
  batch: u32, hq: u32, hkv: u32, l: u32, s: u32, scale: f32, softcap: f32, maskOn: u32,
  causal: u32, windowOn: u32, windowLeft: i32, windowRight: i32, keyLengthsOn: u32, alibiOn: u32, sinksOn: u32, dropMode: u32,
  dropThreshold: u32, seed: u32, dropScale: f32, maskRowStride: u32, maskColStride: u32, auxKeyLengths: u32, auxHeads: u32, pad: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> maskBits: array<u32>;
@group(0) @binding(2) var<storage, read> aux: array<u32>;
@group(0) @binding(3) var<storage, read> qIn: array<f32>;
@group(0) @binding(4) var<storage, read> kIn: array<f32>;
@group(0) @binding(5) var<storage, read> vIn: array<f32>;

const NEG_INF_BITS: u32 = 0xff800000u;
/** Stands for −∞ as a running max: exp(x − BIG_NEG) underflows to 0 for any score here. */
const BIG_NEG: f32 = -3.0e38;

/** The keys of batch element b: keyLengths[b], or S. */
fn keyLength(b: u32) -> u32 {
  if (P.keyLengthsOn != 0u) { return aux[P.auxKeyLengths + b]; }
  return P.s;
}

/** diag = i + off, off = keyLength − L (bottom-right alignment). */
fn diagOf(i: u32, len: u32) -> i32 { return i32(i) + i32(len) - i32(P.l); }

/** Whether query row i (diagonal diag) may see key j under isCausal, window and keyLengths. */
fn structVisible(j: u32, diag: i32, len: u32) -> bool {
  let jj = i32(j);
  if (j >= len) { return false; }
  if (P.causal != 0u && jj > diag) { return false; }
  if (P.windowOn != 0u && (jj < diag - P.windowLeft || jj > diag + P.windowRight)) { return false; }
  return true;
}

fn sinkOf(h: u32) -> f32 { return bitcast<f32>(aux[P.auxHeads + 3u * h]); }
fn hasSink(h: u32) -> bool { return P.sinksOn != 0u && aux[P.auxHeads + 3u * h + 1u] != 0u; }

struct Score { s: f32, capSlope: f32, ok: bool }

/**
 * The score of key j for row i of head (b, h) from dot = q_i · k_j: softcap,
 * ALiBi, then attnMask. ok is false where the mask gives −∞. capSlope is
 * ds/dt of the softcap (1 − tanh²), 1 without it.
 */
fn scoreOf(dot: f32, b: u32, h: u32, i: u32, j: u32, diag: i32) -> Score {
  var s = P.scale * dot;
  var slope = 1.0;
  if (P.softcap > 0.0) {
    let t = tanh(s / P.softcap);
    s = P.softcap * t;
    slope = 1.0 - t * t;
  }
  if (P.alibiOn != 0u) {
    s = s - bitcast<f32>(aux[P.auxHeads + 3u * h + 2u]) * f32(abs(diag - i32(j)));
  }
  if (P.maskOn != 0u) {
    let bits = maskBits[aux[b * P.hq + h] + i * P.maskRowStride + j * P.maskColStride];
    if (bits == NEG_INF_BITS) { return Score(0.0, 0.0, false); }
    s = s + bitcast<f32>(bits);
  }
  return Score(s, slope, true);
}

fn fmix32(x: u32) -> u32 {
  var h = x;
  h = h ^ (h >> 16u);
  h = h * 0x85ebca6bu;
  h = h ^ (h >> 13u);
  h = h * 0xc2b2ae35u;
  h = h ^ (h >> 16u);
  return h;
}

/** dropoutKeeps(seed, row, col, p) of problem.ts, bit for bit (u32 products wrap as Math.imul). */
fn keeps(row: u32, col: u32) -> bool {
  if (P.dropMode == 0u) { return true; }
  if (P.dropMode == 2u) { return false; }
  var h = fmix32(P.seed ^ 0x5bd1e995u);
  h = fmix32(h ^ (row * 0xcc9e2d51u));
  h = fmix32(h ^ (col * 0x1b873593u));
  return h >= P.dropThreshold;
}

/** The first key and one past the last key that rows [i0, i1] of element b may see (the union: both ends rise with i). */
fn keySpan(i0: u32, i1: u32, len: u32) -> vec2<u32> {
  var start = 0;
  var end = i32(len);
  let d0 = diagOf(i0, len);
  let d1 = diagOf(i1, len);
  if (P.windowOn != 0u) { start = max(0, d0 - P.windowLeft); end = min(end, d1 + P.windowRight + 1); }
  if (P.causal != 0u) { end = min(end, d1 + 1); }
  return vec2<u32>(u32(start), u32(max(start, end)));
}
`;

/** An unbounded window side, as a finite i32 the WGSL arithmetic above cannot overflow with (L, S < 2³⁰). */
export const UNBOUNDED_SIDE = 1 << 30;

/**
 * The K and V tile of keys j0 … j0 + BC − 1 staged into workgroup memory by the
 * BR invocations together (zeros past S), in the forward and the dQ pass alike:
 * WGSL statements for a loop body that has t, j0, kvh and the kIn/vIn bindings.
 */
export const STAGE_KV_TILE = /* wgsl */ `
    for (var x = t; x < BC * E; x += BR) {
      let j = j0 + x / E;
      kTile[x] = select(0.0, kIn[(kvh * P.s + j) * E + x % E], j < P.s);
    }
    for (var x = t; x < BC * EV; x += BR) {
      let j = j0 + x / EV;
      vTile[x] = select(0.0, vIn[(kvh * P.s + j) * EV + x % EV], j < P.s);
    }`;

/**
 * The opening of a kernel with one invocation per query row and K/V staged a
 * tile at a time (the forward and the dQ pass): the sizes compiled in, the K
 * and V tiles in workgroup memory, the entry point, and the row this
 * invocation owns with the key span its block may see. The caller goes on
 * inside main's body.
 */
export function queryRowKernelStart(e: number, ev: number, br: number, bc: number): string {
  return /* wgsl */ `
const E: u32 = ${e}u;
const EV: u32 = ${ev}u;
const BR: u32 = ${br}u;
const BC: u32 = ${bc}u;
var<workgroup> kTile: array<f32, ${bc * Math.max(e, 1)}>;
var<workgroup> vTile: array<f32, ${bc * Math.max(ev, 1)}>;

@compute @workgroup_size(${br})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let bh = wg.y;
  let b = bh / P.hq;
  let h = bh % P.hq;
  let kvh = b * P.hkv + h / (P.hq / P.hkv);
  let i0 = wg.x * BR;
  let i = i0 + t;
  let rowOk = i < P.l;
  let len = keyLength(b);
  let diag = diagOf(i, len);
  let span = keySpan(i0, min(P.l, i0 + BR) - 1u, len);
  let row = bh * P.l + i;
`;
}
