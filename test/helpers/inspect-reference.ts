/**
 * The inspect figures written as the plain definitions, in float64, for
 * small tensors: every score in a list, softmax by exp and a sum, the
 * Jacobian as an n × n matrix, the median by sorting, the std by two passes.
 * Nothing here is shared with src/inspect.
 */
export interface Dims {
  batch: number;
  hq: number;
  hkv: number;
  L: number;
  S: number;
  D: number;
}

/** q [batch, hq, L, D] and k [batch, hkv, S, D], row-major (bhld). */
export interface Case extends Dims {
  q: Float64Array;
  k: Float64Array;
}

export interface RefScaleFigures {
  logitStd: number;
  entropyRatioMean: number;
  maxProbMean: number;
  saturatedShare: number;
}

export interface RefHead extends RefScaleFigures {
  logitMax: number;
  jacobianNormMedian: number;
  firstKeyMass: number;
  scoreMaxAbs: number;
  overflowShare: number;
  whatIf: Record<'rsqrt' | 'inverse' | 'qkNorm' | 'softcap50', RefScaleFigures>;
}

const vec = (x: Float64Array, b: number, h: number, heads: number, len: number, i: number, D: number): number[] =>
  Array.from(x.subarray(((b * heads + h) * len + i) * D, ((b * heads + h) * len + i + 1) * D));

const dot = (a: number[], b: number[]): number => a.reduce((s, x, i) => s + x * b[i], 0);

function rmsNormalised(a: number[]): number[] {
  const rms = Math.sqrt(a.reduce((s, x) => s + x * x, 0) / a.length);
  return a.map((x) => x / rms);
}

function popStd(xs: number[]): number {
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  return Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length);
}

function softmaxPlain(xs: number[]): number[] {
  const m = Math.max(...xs);
  const e = xs.map((x) => Math.exp(x - m));
  const z = e.reduce((s, x) => s + x, 0);
  return e.map((x) => x / z);
}

function jacobianFrobenius(p: number[]): number {
  let sum = 0;
  for (let i = 0; i < p.length; i++) for (let j = 0; j < p.length; j++) sum += ((i === j ? p[i] : 0) - p[i] * p[j]) ** 2;
  return Math.sqrt(sum);
}

/** The rows (lists of logits of the unmasked keys) of head h under a logit function. */
function rows(c: Case, h: number, causal: boolean, logit: (q: number[], k: number[]) => number): number[][] {
  const g = Math.floor(h / (c.hq / c.hkv));
  const out: number[][] = [];
  for (let b = 0; b < c.batch; b++) {
    for (let i = 0; i < c.L; i++) {
      const row: number[] = [];
      for (let j = 0; j < c.S; j++) {
        if (causal && j > i + c.S - c.L) continue;
        row.push(logit(vec(c.q, b, h, c.hq, c.L, i, c.D), vec(c.k, b, g, c.hkv, c.S, j, c.D)));
      }
      out.push(row);
    }
  }
  return out;
}

function scaleFigures(logitRows: number[][]): RefScaleFigures & { probs: number[][] } {
  const multi = logitRows.filter((r) => r.length >= 2);
  const probs = multi.map(softmaxPlain);
  const entropy = (p: number[]): number => -p.reduce((s, x) => s + (x > 0 ? x * Math.log(x) : 0), 0);
  const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
  return {
    logitStd: popStd(logitRows.flat()),
    entropyRatioMean: mean(probs.map((p) => entropy(p) / Math.log(p.length))),
    maxProbMean: mean(probs.map((p) => Math.max(...p))),
    saturatedShare: probs.filter((p) => Math.max(...p) > 0.99).length / probs.length,
    probs,
  };
}

export function referenceHead(c: Case, h: number, scale: number, causal: boolean): RefHead {
  const rawRows = rows(c, h, causal, dot);
  const raw = rawRows.flat();
  const inUseRows = rawRows.map((r) => r.map((x) => scale * x));
  const inUse = scaleFigures(inUseRows);
  const norms = inUse.probs.map(jacobianFrobenius).sort((a, b) => a - b);
  const n = norms.length;
  const median = n % 2 === 1 ? norms[(n - 1) / 2] : (norms[n / 2 - 1] + norms[n / 2]) / 2;
  const strip = ({ logitStd, entropyRatioMean, maxProbMean, saturatedShare }: RefScaleFigures): RefScaleFigures => ({ logitStd, entropyRatioMean, maxProbMean, saturatedShare });
  return {
    ...strip(inUse),
    logitMax: Math.max(...inUseRows.flat()),
    jacobianNormMedian: median,
    firstKeyMass: inUse.probs.reduce((s, p) => s + p[0], 0) / inUse.probs.length,
    scoreMaxAbs: Math.max(...raw.map(Math.abs)),
    overflowShare: raw.filter((x) => Math.abs(x) > 65504).length / raw.length,
    whatIf: {
      rsqrt: strip(scaleFigures(rawRows.map((r) => r.map((x) => x / Math.sqrt(c.D))))),
      inverse: strip(scaleFigures(rawRows.map((r) => r.map((x) => x / c.D)))),
      qkNorm: strip(scaleFigures(rows(c, h, causal, (q, k) => dot(rmsNormalised(q), rmsNormalised(k)) / Math.sqrt(c.D)))),
      softcap50: strip(scaleFigures(inUseRows.map((r) => r.map((x) => 50 * Math.tanh(x / 50))))),
    },
  };
}
