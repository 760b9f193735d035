import { softmax } from '../softmax/index.js';
import { Rng, ScaledotError, tensor } from '../tensor/index.js';
import type { NamesData } from './data/names.js';
import type { Transformer } from './transformer.js';
import { cacheableRule } from './attention-layer.js';

export interface SampleOptions {
  /**
   * Feed each new character alone through the model's decoder (a KV cache
   * per layer: O(n) positions per name of n characters) rather than the whole
   * name so far through forward (O(n²)). Default true; the log-length and
   * ssmax rules always take the full forward, since their scale depends on the
   * length and so changes every earlier position's logits as the name grows.
   */
  cache?: boolean;
}

/**
 * Draws `count` names from a model trained on the names task: start from the
 * boundary, sample each next character from softmax(logits / temperature),
 * stop at the boundary or at `maxLength` characters. Seeded: the same seed
 * draws the same names with or without the cache (up to float rounding at a
 * sampling threshold).
 */
export function sampleNames(
  model: Transformer, data: NamesData, count: number, seed: number, temperature = 1, maxLength = 20, options: SampleOptions = {},
): string[] {
  if (!Number.isSafeInteger(count) || count < 0) throw new ScaledotError('E_OPTION', `sampleNames: count is ${count}; expected an integer >= 0`);
  if (!(temperature > 0)) throw new ScaledotError('E_OPTION', `sampleNames: temperature is ${temperature}; expected a number > 0`);
  const rng = new Rng(seed);
  const v = data.chars.length;
  const names: string[] = [];
  const cached = (options.cache ?? true) && cacheableRule(model.config.scaleRule);
  const decoder = cached ? model.decoder(1, maxLength + 1) : null;
  for (let n = 0; n < count; n++) {
    decoder?.reset();
    const ids = [0];
    while (ids.length <= maxLength) {
      // The logits of the last position: the new character alone through the decoder, or everything through forward.
      const logits = decoder
        ? decoder.step(Int32Array.of(ids[ids.length - 1]), 1).data
        : model.forward(Int32Array.from(ids), 1, ids.length).data.subarray((ids.length - 1) * v);
      const last = Array.from(logits.subarray(0, v), (x) => x / temperature);
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
