import {
  param, paramF, paramPtr, P_HQ, P_L, P_S, P_MASK_KIND, P_MASK, P_MASK_HEAD, P_MASK_ROW_STRIDE, P_MASK_COL_STRIDE, P_SOFTCAP, P_ALIBI,
  P_CAUSAL, P_WINDOW_LEFT, P_WINDOW_RIGHT,
} from './abi';
import { endKey, firstKey, keyLength, keyOffset } from './visible';

const NEG_INF: f32 = -Infinity;
const LOG2E: f32 = 1.4426950408889634;
const LN2: f32 = 0.6931471805599453;
const F32_MAX: f32 = 3.4028234663852886e38;

/**
 * Applies to one tile of base-2 scores everything after the softcap that can
 * hide or shift a score, in the contract's order: ALiBi subtracts
 * slope · log2(e) · |i + off − j|, an additive mask adds its value · log2(e),
 * and -inf goes where a bool mask is 0, past s (padding), past keyLengths[b],
 * after the diagonal under causal (j > i + off) or outside the window.
 *
 * Tile element (r, c) scores query i = i0 + r * iR + c * iC against key
 * j = j0 + r * jR + c * jC, so one routine serves the forward tile (rows are
 * queries) and the backward one (rows are keys). Scalar on purpose: it only
 * runs on tiles that need it (edges, the diagonal, windows, user masks, ALiBi).
 * A visible score is clamped to ±F32_MAX: a mask of −3.4e38 (the Hugging
 * Face padding) times log2(e) is −∞ in float32, which would hide a row that
 * the float64 math weighs uniformly, and +∞ would give ∞ − ∞ = NaN. The
 * host redoes the rows whose max reaches that range in float64 (backend.ts).
 */
export function maskTile(
  ctrl: usize, tile: usize, ldt: i32, rows: i32, cols: i32, bh: i32,
  i0: i32, iR: i32, iC: i32, j0: i32, jR: i32, jC: i32,
): void {
  const l = param(ctrl, P_L), s = param(ctrl, P_S), hq = param(ctrl, P_HQ);
  const b = bh / hq, h = bh % hq;
  const off = keyOffset(ctrl, b), length = keyLength(ctrl, b);
  const causal = param(ctrl, P_CAUSAL) != 0;
  const left = param(ctrl, P_WINDOW_LEFT), right = param(ctrl, P_WINDOW_RIGHT);
  const alibi = paramPtr(ctrl, P_ALIBI);
  const slope: f32 = alibi != 0 ? load<f32>(alibi + (<usize>h << 2)) : 0;
  const maskKind = param(ctrl, P_MASK_KIND);
  const mask = paramPtr(ctrl, P_MASK);
  const rs = param(ctrl, P_MASK_ROW_STRIDE), cs = param(ctrl, P_MASK_COL_STRIDE);
  const head = maskKind != 0 ? load<i32>(paramPtr(ctrl, P_MASK_HEAD) + (<usize>bh << 2)) : 0;
  for (let r = 0; r < rows; r++) {
    const row = tile + ((<usize>r * <usize>ldt) << 2);
    for (let c = 0; c < cols; c++) {
      const i = i0 + r * iR + c * iC;
      const j = j0 + r * jR + c * jC;
      const at = row + (<usize>c << 2);
      const diag = i + off;
      if (j >= s || j >= length || (causal && j > diag) || (left >= 0 && j < diag - left) || (right >= 0 && j > diag + right)) {
        store<f32>(at, NEG_INF);
        continue;
      }
      let x = load<f32>(at);
      if (alibi != 0) x -= slope * <f32>abs(diag - j);
      if (maskKind != 0 && i < l) {
        const e = <usize>(head + i * rs + j * cs);
        if (maskKind == 1) {
          if (load<u8>(mask + e) == 0) x = NEG_INF;
        } else {
          x += load<f32>(mask + (e << 2)) * LOG2E;
        }
      }
      store<f32>(at, min(max(x, -F32_MAX), F32_MAX));
    }
  }
}

/**
 * The softcap on a tile of base-2 scores x = s · log2(e):
 * x ← c · tanh(x · ln 2 / c) · log2(e), and where `slope` is not 0 it also
 * stores ds_capped/ds = 1 − tanh² there (same layout), for the backward.
 * Scalar tanh (musl's tanhf, within 2 ulp): a polynomial exp would lose the
 * relative accuracy of small scores that 1 − 2/(e^{2x} + 1) cancels away.
 */
export function softcapTile(ctrl: usize, tile: usize, rows: i32, cols: i32, slope: usize): void {
  const cap = paramF(ctrl, P_SOFTCAP);
  const toNat: f32 = LN2 / cap;
  const back: f32 = cap * LOG2E;
  const n = <usize>rows * <usize>cols;
  for (let e: usize = 0; e < n; e++) {
    const at = tile + (e << 2);
    const t = Mathf.tanh(load<f32>(at) * toNat);
    store<f32>(at, t * back);
    if (slope != 0) store<f32>(slope + (e << 2), <f32>1 - t * t);
  }
}

/** Whether a tile covering queries [iLo, iHi] and keys [jLo, jHi] of batch element b needs maskTile. */
export function tileNeedsMask(ctrl: usize, b: i32, iLo: i32, iHi: i32, jLo: i32, jHi: i32): bool {
  if (param(ctrl, P_MASK_KIND) != 0 || paramPtr(ctrl, P_ALIBI) != 0) return true;
  if (jHi >= param(ctrl, P_S)) return true;
  // Every row of the tile sees every key of it iff the last row's first key and the first row's end enclose it.
  const off = keyOffset(ctrl, b);
  return firstKey(ctrl, off, iHi) > jLo || endKey(ctrl, b, off, iLo) <= jHi;
}

/**
 * maskTile for the forward's [key][query] tile (BC rows of keys j0.., BR
 * columns of queries i0..) when only the structural masks apply (no attnMask,
 * no ALiBi): per lane of 4 queries the visible keys [lo, hi) as i32x4, then
 * one compare and select per 4 scores instead of a scalar test each. This is
 * what keeps a causal diagonal block and a window's edge blocks cheap.
 */
export function maskKeyQueryTile(ctrl: usize, tile: usize, bh: i32, i0: i32, j0: i32, rowsOfKeys: i32, colsOfQueries: i32): void {
  const b = bh / param(ctrl, P_HQ);
  const off = keyOffset(ctrl, b);
  const causal = param(ctrl, P_CAUSAL) != 0;
  const left = param(ctrl, P_WINDOW_LEFT), right = param(ctrl, P_WINDOW_RIGHT);
  const limit = min(param(ctrl, P_S), keyLength(ctrl, b));
  const rowBytes = <usize>colsOfQueries << 2;
  const negInf = f32x4.splat(NEG_INF);
  for (let g = 0; g < colsOfQueries; g += 4) {
    const diag = i32x4.add(i32x4.splat(i0 + g + off), i32x4(0, 1, 2, 3)); // i + off per lane
    const lo = left < 0 ? i32x4.splat(0) : i32x4.sub(diag, i32x4.splat(left));
    let hi = i32x4.splat(limit);
    if (causal) hi = i32x4.min_s(hi, i32x4.add(diag, i32x4.splat(1)));
    if (right >= 0) hi = i32x4.min_s(hi, i32x4.add(diag, i32x4.splat(right + 1)));
    let at = tile + (<usize>g << 2);
    for (let r = 0; r < rowsOfKeys; r++, at += rowBytes) {
      const j = i32x4.splat(j0 + r);
      const hidden = v128.or(i32x4.lt_s(j, lo), i32x4.ge_s(j, hi));
      v128.store(at, v128.bitselect(negInf, v128.load(at), hidden));
    }
  }
}
