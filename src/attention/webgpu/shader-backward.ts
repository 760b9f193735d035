import { COMMON_WGSL, STAGE_KV_TILE, queryRowKernelStart } from './shader-common.js';

/**
 * The backward kernels (FlashAttention-2): the weights are recomputed from
 * the forward's lse, P_ij = exp(s_ij − lse_i), never stored. Two passes, so
 * that no two invocations ever add to the same gradient (no atomics, and the
 * result does not depend on scheduling):
 *
 *   dkdv: one workgroup per block of BC keys of one kv head, one invocation
 *         per key; query tiles (q, dO, lse, D) staged in workgroup memory,
 *         looping over every query head that reads the kv head (GQA):
 *           dV_j += P̃_ij dO_i,  dP_ij = keep_ij/(1−p) · dO_i·v_j,
 *           dS_ij = P_ij (dP_ij − D_i) c'_ij,  dK_j += scale · dS_ij q_i
 *   dq:   one workgroup per block of BR query rows, one invocation per row,
 *         K and V tiles in workgroup memory: dQ_i += scale · dS_ij k_j; and
 *         each row's share of the sink gradient, −exp(σ_h − lse_i) · D_i.
 *
 *   rows: [B·Hq·L] × (lse, D), lse = +3e38 for an empty row (so P = 0)
 *   dkv:  dK [B·Hkv, S, E] then dV [B·Hkv, S, Ev]     dq: dQ [B·Hq, L, E] then dsink per row [B·Hq·L]
 */

const BINDINGS = /* wgsl */ `
@group(0) @binding(6) var<storage, read> dOut: array<f32>;
@group(0) @binding(7) var<storage, read> rows: array<f32>;
@group(0) @binding(8) var<storage, read_write> grads: array<f32>;
`;

export function dkdvShader(e: number, ev: number, bc: number, br: number): string {
  const e1 = Math.max(e, 1);
  const ev1 = Math.max(ev, 1);
  return /* wgsl */ `${COMMON_WGSL}${BINDINGS}
const E: u32 = ${e}u;
const EV: u32 = ${ev}u;
const BC: u32 = ${bc}u;
const BR: u32 = ${br}u;
var<workgroup> qTile: array<f32, ${br * e1}>;
var<workgroup> dOTile: array<f32, ${br * ev1}>;
var<workgroup> rowTile: array<vec2<f32>, ${br}>;

@compute @workgroup_size(${bc})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let kvh = wg.y;
  let b = kvh / P.hkv;
  let g = kvh % P.hkv;
  let group = P.hq / P.hkv;
  let j0 = wg.x * BC;
  let j = j0 + t;
  let keyOk = j < P.s;
  let len = keyLength(b);

  var k: array<f32, ${e1}>;
  var v: array<f32, ${ev1}>;
  var dk: array<f32, ${e1}>;
  var dv: array<f32, ${ev1}>;
  for (var c = 0u; c < E; c++) { k[c] = select(0.0, kIn[(kvh * P.s + j) * E + c], keyOk); dk[c] = 0.0; }
  for (var c = 0u; c < EV; c++) { v[c] = select(0.0, vIn[(kvh * P.s + j) * EV + c], keyOk); dv[c] = 0.0; }

  // The rows that see any key of [j0, j0 + BC): the inverse of keySpan (visible.ts, queryRangeOfKeys).
  let off = i32(len) - i32(P.l);
  var start = 0;
  var end = i32(P.l);
  if (j0 >= len) { end = 0; }
  if (P.causal != 0u) { start = max(start, i32(j0) - off); }
  if (P.windowOn != 0u) {
    start = max(start, i32(j0) - off - P.windowRight);
    end = min(end, i32(j0 + BC) - off + P.windowLeft);
  }
  let first = u32(start);
  let last = u32(max(start, end));

  for (var hh = 0u; hh < group; hh++) {
    let h = g * group + hh;
    let bh = b * P.hq + h;
    for (var i0 = (first / BR) * BR; i0 < last; i0 += BR) {
      workgroupBarrier();
      for (var x = t; x < BR * E; x += BC) {
        let i = i0 + x / E;
        qTile[x] = select(0.0, qIn[(bh * P.l + i) * E + x % E], i < P.l);
      }
      for (var x = t; x < BR * EV; x += BC) {
        let i = i0 + x / EV;
        dOTile[x] = select(0.0, dOut[(bh * P.l + i) * EV + x % EV], i < P.l);
      }
      for (var x = t; x < BR; x += BC) {
        let i = i0 + x;
        if (i < P.l) { rowTile[x] = vec2<f32>(rows[2u * (bh * P.l + i)], rows[2u * (bh * P.l + i) + 1u]); }
      }
      workgroupBarrier();
      if (keyOk) {
        for (var ii = 0u; ii < BR; ii++) {
          let i = i0 + ii;
          if (i >= P.l) { break; }
          let diag = diagOf(i, len);
          if (!structVisible(j, diag, len)) { continue; }
          var dot = 0.0;
          for (var c = 0u; c < E; c++) { dot += qTile[ii * E + c] * k[c]; }
          let sc = scoreOf(dot, b, h, i, j, diag);
          if (!sc.ok) { continue; }
          let p = exp(sc.s - rowTile[ii].x);
          let keepScale = select(0.0, P.dropScale, keeps(bh * P.l + i, j));
          var dpv = 0.0;
          for (var c = 0u; c < EV; c++) {
            let d = dOTile[ii * EV + c];
            dv[c] += p * keepScale * d;
            dpv += d * v[c];
          }
          let ds = p * (keepScale * dpv - rowTile[ii].y) * sc.capSlope;
          for (var c = 0u; c < E; c++) { dk[c] += P.scale * ds * qTile[ii * E + c]; }
        }
      }
    }
  }
  if (keyOk) {
    for (var c = 0u; c < E; c++) { grads[(kvh * P.s + j) * E + c] = dk[c]; }
    let dvBase = P.batch * P.hkv * P.s * E;
    for (var c = 0u; c < EV; c++) { grads[dvBase + (kvh * P.s + j) * EV + c] = dv[c]; }
  }
}
`;
}

export function dqShader(e: number, ev: number, br: number, bc: number): string {
  const e1 = Math.max(e, 1);
  const ev1 = Math.max(ev, 1);
  return /* wgsl */ `${COMMON_WGSL}${BINDINGS}
${queryRowKernelStart(e, ev, br, bc)}
  var q: array<f32, ${e1}>;
  var dO: array<f32, ${ev1}>;
  var dq: array<f32, ${e1}>;
  var lse = 3.0e38;
  var dRow = 0.0;
  if (rowOk) {
    for (var c = 0u; c < E; c++) { q[c] = qIn[row * E + c]; }
    for (var c = 0u; c < EV; c++) { dO[c] = dOut[row * EV + c]; }
    lse = rows[2u * row];
    dRow = rows[2u * row + 1u];
  }
  for (var c = 0u; c < E; c++) { dq[c] = 0.0; }

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
        let p = exp(sc.s - lse);
        let keepScale = select(0.0, P.dropScale, keeps(row, j));
        var dpv = 0.0;
        for (var c = 0u; c < EV; c++) { dpv += dO[c] * vTile[jj * EV + c]; }
        let ds = p * (keepScale * dpv - dRow) * sc.capSlope;
        for (var c = 0u; c < E; c++) { dq[c] += P.scale * ds * kTile[jj * E + c]; }
      }
    }
  }
  if (rowOk) {
    for (var c = 0u; c < E; c++) { grads[row * E + c] = dq[c]; }
    // The sink's weight exp(σ − lse) is at most 1; min keeps a huge sink and a rounded lse from giving ∞ · 0.
    var dsink = 0.0;
    if (hasSink(h)) { dsink = -min(1.0, exp(sinkOf(h) - lse)) * dRow; }
    grads[P.batch * P.hq * P.l * E + row] = dsink;
  }
}
`;
}
