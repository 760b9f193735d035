import { softmax } from '../softmax/index.js';
import { Rng, ScaledotError, tensor } from '../tensor/index.js';
import type { NamesData } from './data/names.js';
import type { Transformer } from './transformer.js';

/**
 * Draws `count` names from a model trained on the names task: start from the
 * boundary, sample each next character from softmax(logits / temperature),
 * stop at the boundary or at `maxLength` characters. Seeded.
 */
export function sampleNames(model: Transformer, data: NamesData, count: number, seed: number, temperature = 1, maxLength = 20): string[] {
  if (!Number.isSafeInteger(count) || count < 0) throw new ScaledotError('E_OPTION', `sampleNames: count is ${count}; expected an integer >= 0`);
  if (!(temperature > 0)) throw new ScaledotError('E_OPTION', `sampleNames: temperature is ${temperature}; expected a number > 0`);
  const rng = new Rng(seed);
  const v = data.chars.length;
  const names: string[] = [];
  for (let n = 0; n < count; n++) {
    const ids = [0];
    while (ids.length <= maxLength) {
      const logits = model.forward(Int32Array.from(ids), 1, ids.length).data;
      const last = Array.from(logits.subarray((ids.length - 1) * v, ids.length * v), (x) => x / temperature);
      const p = softmax(tensor(last, [v], { dtype: 'float64' })).data;
      let u = rng.uniform();
      let next = v - 1;
      for (let j = 0; j < v; j++) {
        u -= p[j];
        if (u < 0) {
          next = j;
          break;
        }
      }
      if (next === 0) break;
      ids.push(next);
    }
    names.push(ids.slice(1).map((id) => data.chars[id]).join(''));
  }
  return names;
}
