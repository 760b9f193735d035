import {
  param, paramPtr, P_CAUSAL, P_L, P_S, P_MASK_KIND, P_MASK, P_MASK_HEAD, P_MASK_ROW_STRIDE, P_MASK_COL_STRIDE,
} from './abi';

const NEG_INF: f32 = -Infinity;

/**
 * Applies to one tile of base-2 scores everything that can hide or shift a
 * score: keys past s (padding) and, under causal, keys after the query's
 * diagonal (j > i + s - l) get -inf; a bool mask's 0 gives -inf and an
 * additive mask adds its value * log2(e).
 *
 * Tile element (r, c) scores query i = i0 + r * iR + c * iC against key
 * j = j0 + r * jR + c * jC, so one routine serves the forward tile (rows are
 * queries) and the backward one (rows are keys). Scalar on purpose: it only
 * runs on tiles that need it (edges, the diagonal, user masks).
 */
export function maskTile(
  ctrl: usize, tile: usize, ldt: i32, rows: i32, cols: i32, bh: i32,
  i0: i32, iR: i32, iC: i32, j0: i32, jR: i32, jC: i32,
): void {
  const l = param(ctrl, P_L), s = param(ctrl, P_S);
  const causal = param(ctrl, P_CAUSAL) != 0;
  const shift = s - l;
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
      if (j >= s || (causal && j > i + shift)) {
        store<f32>(at, NEG_INF);
      } else if (maskKind != 0 && i < l) {
        const e = <usize>(head + i * rs + j * cs);
        if (maskKind == 1) {
          if (load<u8>(mask + e) == 0) store<f32>(at, NEG_INF);
        } else {
          store<f32>(at, load<f32>(at) + load<f32>(mask + (e << 2)) * <f32>1.4426950408889634);
        }
      }
    }
  }
}

/** Whether a tile covering queries [iLo, iHi] and keys [jLo, jHi] needs maskTile. */
@inline
export function tileNeedsMask(ctrl: usize, iLo: i32, jHi: i32): bool {
  if (param(ctrl, P_MASK_KIND) != 0) return true;
  if (jHi >= param(ctrl, P_S)) return true;
  return param(ctrl, P_CAUSAL) != 0 && jHi > iLo + param(ctrl, P_S) - param(ctrl, P_L);
}

