import { FLOAT16_MAX, SATURATED, type HeadFigures, type HeadOutcome } from './figures.js';

/** What stands out about one head, in words, with the figures behind it. */
export interface Finding {
  kind: 'non-finite' | 'saturated' | 'sink' | 'fp16-overflow' | 'fp16-near-overflow';
  layer: string;
  head: number;
  text: string;
  figures: Record<string, number>;
}

/** A head is called saturated when at least this share of its rows put more than 0.99 on one key. */
export const SATURATED_HEAD_SHARE = 0.5;
/** A sink: key 0 takes at least this mean weight, and at least SINK_OVER_UNIFORM times what uniform rows would give it. */
export const SINK_MASS = 0.5;
export const SINK_OVER_UNIFORM = 2;
/** float16 risk: the largest |q·k| is within this factor of 65504. */
export const FP16_NEAR = 0.25;

const pct = (x: number): string => `${(100 * x).toPrecision(3)}%`;
const num = (x: number): string => (Number.isFinite(x) ? x.toPrecision(4) : String(x));

/** The findings of one head (none when nothing stands out). */
export function headFindings(outcome: HeadOutcome): Finding[] {
  if (outcome.kind === 'non-finite') {
    const { layer, head, qCount, kCount } = outcome;
    return [{
      kind: 'non-finite', layer, head,
      text: `${layer} head ${head}: ${qCount} NaN/Infinity value(s) in its Q and ${kCount} in the K it reads; the head is left out of the figures`,
      figures: { qNonFinite: qCount, kNonFinite: kCount },
    }];
  }
  const h: HeadFigures = outcome.figures;
  const where = `${h.layer} head ${h.head}`;
  const out: Finding[] = [];
  if (h.saturatedShare >= SATURATED_HEAD_SHARE) {
    const w = h.whatIf;
    out.push({
      kind: 'saturated', layer: h.layer, head: h.head,
      text: `${where} is saturated: ${pct(h.saturatedShare)} of its rows put more than ${SATURATED} on one key ` +
        `(mean max p ${num(h.maxProbMean)}, entropy ${num(h.entropyRatioMean)} of uniform, logit std ${num(h.logitStd)}, median Jacobian norm ${num(h.jacobianNormMedian)}); ` +
        `saturated rows under 1/√d ${pct(w.rsqrt.saturatedShare)}, 1/d ${pct(w.inverse.saturatedShare)}, QK-norm ${pct(w.qkNorm.saturatedShare)}, softcap 50 ${pct(w.softcap50.saturatedShare)}`,
      figures: {
        saturatedShare: h.saturatedShare, maxProbMean: h.maxProbMean, entropyRatioMean: h.entropyRatioMean, logitStd: h.logitStd, jacobianNormMedian: h.jacobianNormMedian,
        rsqrtSaturatedShare: w.rsqrt.saturatedShare, inverseSaturatedShare: w.inverse.saturatedShare, qkNormSaturatedShare: w.qkNorm.saturatedShare, softcap50SaturatedShare: w.softcap50.saturatedShare,
      },
    });
  }
  if (h.firstKeyMass >= SINK_MASS && h.firstKeyMass >= SINK_OVER_UNIFORM * outcome.uniformFirstKeyMass) {
    out.push({
      kind: 'sink', layer: h.layer, head: h.head,
      text: `${where} is an attention sink: key 0 takes ${pct(h.firstKeyMass)} of the weight on average, where uniform rows would give it ${pct(outcome.uniformFirstKeyMass)}`,
      figures: { firstKeyMass: h.firstKeyMass, uniformFirstKeyMass: outcome.uniformFirstKeyMass },
    });
  }
  if (h.fp16.overflowShare > 0) {
    out.push({
      kind: 'fp16-overflow', layer: h.layer, head: h.head,
      text: `${where} overflows float16 if q·k is computed before the scale: ${pct(h.fp16.overflowShare)} of its pairs have |q·k| > ${FLOAT16_MAX} (largest ${num(h.fp16.scoreMaxAbs)}); scale q (or q and k) before the matmul`,
      figures: { overflowShare: h.fp16.overflowShare, scoreMaxAbs: h.fp16.scoreMaxAbs },
    });
  } else if (h.fp16.scoreMaxAbs >= FP16_NEAR * FLOAT16_MAX) {
    out.push({
      kind: 'fp16-near-overflow', layer: h.layer, head: h.head,
      text: `${where} comes within ${num(FLOAT16_MAX / h.fp16.scoreMaxAbs)}× of float16's largest value: the largest |q·k| before the scale is ${num(h.fp16.scoreMaxAbs)} (float16 max ${FLOAT16_MAX})`,
      figures: { scoreMaxAbs: h.fp16.scoreMaxAbs },
    });
  }
  return out;
}
