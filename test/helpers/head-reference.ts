/**
 * One head's inspect figures written out from their definitions in float64,
 * sharing no code with src/inspect: q[b][i] and k[b][j] vectors, the keys
 * each row keeps, the scale in use (and a soft-cap). Rows with fewer than two
 * keys count only in the logit figures, as inspect documents.
 */
export interface Expected { topKeyPosition: number; topKeyMass: number; logitStd: number; logitMax: number; entropyRatioMean: number; maxProbMean: number; firstKeyMass: number; scoreMaxAbs: number; rsqrtLogitStd: number; jacobianNormMedian: number }

/** Figures of one head from float64 q, k and the true keep mask, written out from their definitions. */
export function referenceHead(q: number[][][], k: number[][][], keep: boolean[][][], scale: number, softcap: number | null, D: number): Expected {
  const logits: number[] = [];
  const rsqrt: number[] = [];
  let scoreMaxAbs = 0;
  let entropy = 0; let maxProb = 0; let first = 0; let rows = 0;
  const jac: number[] = [];
  const keyMass: number[] = new Array(k[0].length).fill(0);
  for (let b = 0; b < q.length; b++) {
    for (let i = 0; i < q[b].length; i++) {
      const row: number[] = [];
      const rowKeys: number[] = [];
      let key0 = false;
      for (let j = 0; j < k[b].length; j++) {
        if (!keep[b][i][j]) continue;
        const dot = q[b][i].reduce((s, x, e) => s + x * k[b][j][e], 0);
        scoreMaxAbs = Math.max(scoreMaxAbs, Math.abs(dot));
        const l = softcap === null ? scale * dot : softcap * Math.tanh((scale * dot) / softcap);
        row.push(l); rowKeys.push(j); logits.push(l); rsqrt.push(dot / Math.sqrt(D));
        if (j === 0) key0 = true;
      }
      if (row.length < 2) continue;
      const m = Math.max(...row);
      const z = row.reduce((s, l) => s + Math.exp(l - m), 0);
      const p = row.map((l) => Math.exp(l - m) / z);
      entropy += -p.reduce((s, pi) => s + (pi > 0 ? pi * Math.log(pi) : 0), 0) / Math.log(row.length);
      maxProb += Math.max(...p);
      p.forEach((pi, at) => (keyMass[rowKeys[at]] += pi));
      if (key0) first += p[0];
      const s2 = p.reduce((s, x) => s + x * x, 0);
      const s3 = p.reduce((s, x) => s + x * x * x, 0);
      jac.push(Math.sqrt(s2 - 2 * s3 + s2 * s2));
      rows++;
    }
  }
  const std = (xs: number[]) => { const mu = xs.reduce((a, c) => a + c, 0) / xs.length; return Math.sqrt(xs.reduce((a, c) => a + (c - mu) ** 2, 0) / xs.length); };
  jac.sort((a, b) => a - b);
  const mid = jac.length / 2;
  const top = keyMass.indexOf(Math.max(...keyMass));
  return {
    topKeyPosition: top, topKeyMass: keyMass[top] / rows,
    logitStd: std(logits), logitMax: Math.max(...logits), entropyRatioMean: entropy / rows, maxProbMean: maxProb / rows, firstKeyMass: first / rows,
    scoreMaxAbs, rsqrtLogitStd: std(rsqrt), jacobianNormMedian: jac.length % 2 ? jac[Math.floor(mid)] : (jac[mid - 1] + jac[mid]) / 2,
  };
}

