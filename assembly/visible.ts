import { param, paramPtr, P_CAUSAL, P_L, P_S, P_WINDOW_LEFT, P_WINDOW_RIGHT, P_KEY_LENGTHS } from './abi';

// The keys a query row may see under causal, the window and keyLengths (the
// mirror of src/attention/visible.ts): one interval [firstKey, endKey) per
// row, both ends non-decreasing in the row, so a block of rows sees the union
// [firstKey(first row), endKey(last row)) and the kernels skip every key
// block outside it. off = keyLengths[b] - l (s - l without keyLengths).

/** Keys of batch element b: keyLengths[b], or s. */
@inline
export function keyLength(ctrl: usize, b: i32): i32 {
  const lengths = paramPtr(ctrl, P_KEY_LENGTHS);
  return lengths == 0 ? param(ctrl, P_S) : load<i32>(lengths + (<usize>b << 2));
}

/** off = keyLength(b) - l: query i sits at key position i + off. */
@inline
export function keyOffset(ctrl: usize, b: i32): i32 {
  return keyLength(ctrl, b) - param(ctrl, P_L);
}

@inline
export function firstKey(ctrl: usize, off: i32, i: i32): i32 {
  const left = param(ctrl, P_WINDOW_LEFT);
  return left < 0 ? 0 : max(0, i + off - left);
}

@inline
export function endKey(ctrl: usize, b: i32, off: i32, i: i32): i32 {
  let end = keyLength(ctrl, b);
  if (param(ctrl, P_CAUSAL) != 0) end = min(end, i + off + 1);
  const right = param(ctrl, P_WINDOW_RIGHT);
  if (right >= 0) end = min(end, i + off + right + 1);
  return end;
}

/** The first query row that sees a key at or after j0 (0 when nothing bounds it). */
@inline
export function firstQuery(ctrl: usize, off: i32, j0: i32): i32 {
  let first = 0;
  if (param(ctrl, P_CAUSAL) != 0) first = max(first, j0 - off);
  const right = param(ctrl, P_WINDOW_RIGHT);
  if (right >= 0) first = max(first, j0 - off - right);
  return first;
}

/** One past the last query row that sees a key before j1 (l when nothing bounds it; <= firstQuery when none). */
@inline
export function endQuery(ctrl: usize, b: i32, off: i32, j0: i32, j1: i32): i32 {
  if (j0 >= keyLength(ctrl, b)) return 0;
  const left = param(ctrl, P_WINDOW_LEFT);
  return left < 0 ? param(ctrl, P_L) : min(param(ctrl, P_L), j1 - off + left);
}
