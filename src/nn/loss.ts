import { logSoftmax } from '../softmax/index.js';
import { ScaledotError, formatShape } from '../tensor/index.js';
import { Var, allocLike, result, type Data } from './autograd.js';

/** Target id meaning "no prediction is scored here" (padding, context tokens). */
export const IGNORE = -1;

/**
 * crossEntropy(logits, targets) = −(1/N) Σₙ log softmax(logitsₙ)[targetₙ]
 * over the N rows whose target is not IGNORE; logits: [..., V].
 * d logitsₙ = (softmax(logitsₙ) − onehot(targetₙ)) / N.
 * log-softmax comes from the softmax layer (max-subtracted, so no overflow).
 */
export function crossEntropy(logits: Var, targets: Int32Array): Var {
  const fn = 'crossEntropy';
  const v = logits.shape[logits.shape.length - 1];
  const rows = logits.size / v;
  if (targets.length !== rows) {
    throw new ScaledotError('E_SHAPE', `${fn}: logits have shape ${formatShape(logits.shape)} (${rows} rows) but there are ${targets.length} targets`);
  }
  const logp = logSoftmax(logits.toTensor(), { axis: -1 }).data as Data;
  let count = 0;
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const t = targets[r];
    if (t === IGNORE) continue;
    if (!(t >= 0 && t < v)) throw new ScaledotError('E_ARG', `${fn}: target ${t} at row ${r} is outside [0, ${v})`);
    total -= logp[r * v + t];
    count++;
  }
  if (count === 0) throw new ScaledotError('E_ARG', `${fn}: every target is IGNORE; nothing to score`);
  const out = allocLike(logits.data, 1);
  out[0] = total / count;
  const y: Var = result(out, [], [logits], () => {
    const g = (y.grad as Data)[0] / count;
    const dl = logits.gradBuffer();
    for (let r = 0; r < rows; r++) {
      const t = targets[r];
      if (t === IGNORE) continue;
      for (let j = 0; j < v; j++) dl[r * v + j] += g * Math.exp(logp[r * v + j]);
      dl[r * v + t] -= g;
    }
  });
  return y;
}
