/**
 * The figures of one softmax row, from its logits x (and an optional sink b):
 *
 *   m = max(maxⱼ xⱼ, b),  eⱼ = exp(xⱼ − m),  e_b = exp(b − m),  l = Σⱼ eⱼ + e_b
 *   pⱼ = eⱼ / l (the keys' weights),  p_b = e_b / l (the sink's, which carries no value)
 *   entropy   H = −Σ p ln p over keys and sink = ln l − (Σⱼ eⱼ (xⱼ − m) + e_b (b − m)) / l
 *   maxProb   p_t, the largest key weight (t: the first key with the largest logit)
 *   gapToOneHot  1 − p_t = (Σ_{j≠t} eⱼ + e_b) / l, summed from the others
 *   topOdds   (1 − p_t) / p_t
 *   jacobianNorm ‖diag(p) − p pᵀ‖_F over the keys:
 *             Σⱼ pⱼ²(1 − pⱼ)² + 2 p_t² R₂ + (R₂² − R₄),  R_k = Σ_{j≠t} pⱼᵏ
 *   lse       ln l + m, so any key's weight is exp(xⱼ − lse)
 *
 * Every sum is of non-negative terms and is written around the row's largest
 * term, so nothing cancels near one-hot, the regime the lab is about: ln l is
 * log1p of the other terms, 1 − p_t is their sum (not 1 minus a number that
 * rounded to 1), and the textbook Σp² − 2Σp³ + (Σp²)², which loses every
 * digit once 1 − p_t < 1e-8, is not used. For two keys (1 − ε, ε) the norm is
 * 2ε(1 − ε). Adding a constant to every logit and the sink changes nothing,
 * so log-probabilities (ln 0 = −∞) give the figures of a probability row.
 *
 * Edge cases, by definition here:
 * - −∞ entries (masked keys) have weight exactly 0 and add nothing;
 * - a fully masked row (no key above −∞) has no key weight: maxProb 0,
 *   gapToOneHot 1, jacobianNorm 0, topOdds NaN, keys 0; its entropy is 0
 *   (all weight on the sink, or no distribution at all), its lse b or −∞;
 * - one key: maxProb 1 − p_b, entropy that of (p_t, p_b), jacobianNorm p_t·p_b;
 * - a sink joins the normaliser and the entropy, takes no part in maxProb or
 *   the Jacobian (it has no output), and its weight is `sinkWeight`; b = −∞ is
 *   no sink;
 * - a logit of +∞ or NaN gives NaN figures (nothing here is finite then).
 */
export interface SoftmaxRowStats {
  entropy: number;
  maxProb: number;
  gapToOneHot: number;
  topOdds: number;
  jacobianNorm: number;
  sinkWeight: number;
  lse: number;
  /** Keys above −∞. */
  keys: number;
}

export interface SoftmaxRowStatsOptions {
  /** First element of the row in `x` (default 0). */
  offset?: number;
  /** Elements in the row (default: the rest of x). */
  length?: number;
  /** The sink logit (default −∞: none). */
  sink?: number;
}

/** Entropy, max p, 1 − max p, the Jacobian norm and the sink's weight of softmax(x[offset .. offset + length)) with an optional sink; see above. */
export function softmaxRowStats(x: ArrayLike<number>, options: SoftmaxRowStatsOptions = {}): SoftmaxRowStats {
  const { offset = 0, sink = -Infinity } = options;
  const end = offset + (options.length ?? x.length - offset);
  let top = -1;
  let keys = 0;
  for (let j = offset; j < end; j++) {
    if (x[j] === -Infinity) continue;
    keys++;
    if (top < 0 || x[j] > x[top] || Number.isNaN(x[j])) top = j;
  }
  if (top < 0) {
    const sinkWeight = sink === -Infinity ? 0 : 1;
    return { entropy: Number.isNaN(sink) ? NaN : 0, maxProb: 0, gapToOneHot: 1, topOdds: NaN, jacobianNorm: 0, sinkWeight, lse: sink, keys: 0 };
  }
  const xt = x[top];
  const sinkLeads = sink > xt;
  const m = sinkLeads ? sink : xt;
  // others: every term of l but the largest (which is exactly 1); weighted: Σ e·(x − m) ≤ 0.
  let others = 0;
  let weighted = 0;
  let r2 = 0;
  let r4 = 0;
  let diag = 0;
  const eTop = Math.exp(xt - m);
  let rest = 0;
  for (let j = offset; j < end; j++) {
    if (j === top || x[j] === -Infinity) continue;
    const e = Math.exp(x[j] - m);
    others += e;
    rest += e;
    weighted += e * (x[j] - m);
  }
  const eSink = sink === -Infinity ? 0 : Math.exp(sink - m);
  if (sinkLeads) {
    others += eTop;
    weighted += eTop * (xt - m);
  } else if (eSink > 0) {
    others += eSink;
    weighted += eSink * (sink - m);
  }
  rest += eSink;
  const l = 1 + others;
  for (let j = offset; j < end; j++) {
    if (j === top || x[j] === -Infinity) continue;
    const p = Math.exp(x[j] - m) / l;
    r2 += p * p;
    r4 += p ** 4;
    diag += (p * (1 - p)) ** 2;
  }
  const pt = eTop / l;
  const gap = rest / l;
  diag += (pt * gap) ** 2;
  return {
    entropy: Math.log1p(others) - weighted / l,
    maxProb: pt,
    gapToOneHot: gap,
    topOdds: rest / eTop,
    jacobianNorm: Math.sqrt(diag + 2 * pt * pt * r2 + Math.max(r2 * r2 - r4, 0)),
    sinkWeight: eSink / l,
    lse: m + Math.log1p(others),
    keys,
  };
}
