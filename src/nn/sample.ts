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
 * stop at the boundary or at `maxLength` characters. Seeded: each name draws
 * from its own stream (seeded in turn from `seed`), so the same seed draws
 * the same names with or without the cache (up to float rounding at a
 * sampling threshold), and with the cache all names step through the decoder
 * together as one batch: one attention call and one product per weight for
 * all of them per character, not one per name.
 */
export function sampleNames(
  model: Transformer, data: NamesData, count: number, seed: number, temperature = 1, maxLength = 20, options: SampleOptions = {},
): string[] {
  if (!Number.isSafeInteger(count) || count < 0) throw new ScaledotError('E_OPTION', `sampleNames: count is ${count}; expected an integer >= 0`);
  if (!(temperature > 0)) throw new ScaledotError('E_OPTION', `sampleNames: temperature is ${temperature}; expected a number > 0`);
  const seeds = new Rng(seed);
  const streams = Array.from({ length: count }, () => new Rng(seeds.nextUint32()));
  const cached = (options.cache ?? true) && cacheableRule(model.config.scaleRule);
  if (cached) return sampleBatch(model, data, streams, temperature, maxLength);
  const v = data.chars.length;
  return streams.map((rng) => {
    const ids = [0];
    while (ids.length <= maxLength) {
      // The logits of the last position, everything so far through forward.
      const logits = model.forward(Int32Array.from(ids), 1, ids.length).data;
      const next = draw(logits, (ids.length - 1) * v, v, temperature, rng);
      if (next === 0) break;
      ids.push(next);
    }
    return ids.slice(1).map((id) => data.chars[id]).join('');
  });
}

/**
 * All names at once through one decoder of batch `streams.length`: each step
 * feeds every name's last character (a finished name keeps being fed the
 * boundary, its draws no longer taken) until all are done.
 */
function sampleBatch(model: Transformer, data: NamesData, streams: Rng[], temperature: number, maxLength: number): string[] {
  const batch = streams.length;
  if (batch === 0 || maxLength < 1) return streams.map(() => '');
  const v = data.chars.length;
  const decoder = model.decoder(batch, maxLength + 1);
  const ids: number[][] = streams.map(() => [0]);
  const done = new Uint8Array(batch);
  const step = new Int32Array(batch);
  for (let live = batch; live > 0;) {
    for (let b = 0; b < batch; b++) step[b] = done[b] ? 0 : ids[b][ids[b].length - 1];
    const logits = decoder.step(step, 1).data;
    for (let b = 0; b < batch; b++) {
      if (done[b]) continue;
      const next = draw(logits, b * v, v, temperature, streams[b]);
      if (next !== 0) ids[b].push(next);
      if (next === 0 || ids[b].length > maxLength) {
        done[b] = 1;
        live--;
      }
    }
  }
  return ids.map((row) => row.slice(1).map((id) => data.chars[id]).join(''));
}

/** A character drawn from softmax(logits[at, at + v) / temperature). */
function draw(logits: ArrayLike<number>, at: number, v: number, temperature: number, rng: Rng): number {
  const last = new Array<number>(v);
  for (let j = 0; j < v; j++) last[j] = logits[at + j] / temperature;
  const p = softmax(tensor(last, [v], { dtype: 'float64' })).data;
  let u = rng.uniform();
  for (let j = 0; j < v; j++) {
    u -= p[j];
    if (u < 0) return j;
  }
  return v - 1;
}
