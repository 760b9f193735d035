import { COMMON_WGSL, STAGE_KV_TILE, queryRowKernelStart } from './shader-common.js';

/**
 * The forward kernel (FlashAttention-2's loop order): one workgroup per
 * block of BR query rows of one head, one invocation per row. K and V go
 * through workgroup memory a tile of BC keys at a time (each key loaded once
 * per block, not once per row); each row keeps its running max m, its sum l
 * and its output accumulator in registers, rescaling them when m grows
 * (online softmax), so no score matrix exists anywhere. Tiles outside the
 * keys the block may see (causal, window, keyLengths) are never loaded.
 *
 *   out: [B·Hq, L, Ev]   stats: [B·Hq·L] × (m, l): lse = m + ln l, l = 0 for an empty row
 *
 * E and Ev are compiled in (one pipeline per head size), so q and the
 * accumulator are fixed-size private arrays the compiler can keep in registers.
 */
export function forwardShader(e: number, ev: number, br: number, bc: number): string {
  return /* wgsl */ `${COMMON_WGSL}
@group(0) @binding(6) var<storage, read_write> outO: array<f32>;
@group(0) @binding(7) var<storage, read_write> stats: array<f32>;

${queryRowKernelStart(e, ev, br, bc)}
  var q: array<f32, ${Math.max(e, 1)}>;
  var o: array<f32, ${Math.max(ev, 1)}>;
  if (rowOk) { for (var c = 0u; c < E; c++) { q[c] = qIn[row * E + c]; } }
  for (var c = 0u; c < EV; c++) { o[c] = 0.0; }
  var m = BIG_NEG;
  var sum = 0.0;
  if (hasSink(h)) { m = sinkOf(h); sum = 1.0; }

  for (var j0 = (span.x / BC) * BC; j0 < span.y; j0 += BC) {
    workgroupBarrier();
    ${STAGE_KV_TILE}
    workgroupBarrier();
    if (rowOk) {
      for (var jj = 0u; jj < BC; jj++) {
        let j = j0 + jj;
        if (!structVisible(j, diag, len)) { continue; }
        var dot = 0.0;
        for (var c = 0u; c < E; c++) { dot += q[c] * kTile[jj * E + c]; }
        let sc = scoreOf(dot, b, h, i, j, diag);
        if (!sc.ok) { continue; }
        if (sc.s > m) {
          // The new max: rescale what was summed under the old one (exp(BIG_NEG − s) = 0 on the first key).
          let corr = exp(m - sc.s);
          sum *= corr;
          for (var c = 0u; c < EV; c++) { o[c] *= corr; }
          m = sc.s;
        }
        let p = exp(sc.s - m);
        sum += p;
        // Dropout drops the weight from the output, not from the softmax's denominator.
        if (keeps(row, j)) {
          let w = p * P.dropScale;
          for (var c = 0u; c < EV; c++) { o[c] += w * vTile[jj * EV + c]; }
        }
      }
    }
  }
  if (rowOk) {
    let inv = select(0.0, 1.0 / sum, sum > 0.0);
    for (var c = 0u; c < EV; c++) { outO[row * EV + c] = o[c] * inv; }
    stats[2u * row] = m;
    stats[2u * row + 1u] = sum;
  }
}
`;
}
