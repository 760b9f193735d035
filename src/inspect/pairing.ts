import { basename } from 'node:path';
import { ScaledotError } from '../tensor/index.js';
import type { StoredTensor } from './stored.js';

/** One layer to inspect: its name and its Q and K tensors. */
export interface LayerInput {
  layer: string;
  q: StoredTensor;
  k: StoredTensor;
}

const Q_SUFFIXES = ['q', 'query', 'q_proj'];
const K_SUFFIXES = ['k', 'key', 'k_proj'];
const SEPARATORS = ['.', '/', '_'];

/**
 * Pairs the tensors of one file by name: PREFIX + sep + (q | query | q_proj)
 * with PREFIX + sep + (k | key | k_proj), sep one of . / _; PREFIX names the
 * layer. Bare q/k (or query/key, q_proj/k_proj) are one layer named after the
 * file. Tensors that are neither (values, weights) are ignored. A K named in
 * the query's own style wins (q → k, query → key) when several would fit.
 */
export function pairTensors(file: string, tensors: readonly StoredTensor[]): LayerInput[] {
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const layers: LayerInput[] = [];
  for (const t of tensors) {
    const split = splitQueryName(t.name);
    if (split === null) continue;
    const { prefix, sep, suffix } = split;
    const own = K_SUFFIXES[Q_SUFFIXES.indexOf(suffix)];
    const candidates = [own, ...K_SUFFIXES.filter((s) => s !== own)].map((s) => `${prefix}${sep}${s}`).filter((name) => byName.has(name));
    if (candidates.length === 0) {
      const expected = K_SUFFIXES.map((s) => `${prefix}${sep}${s}`).join(', ');
      throw new ScaledotError('E_ARG', `inspect: ${file}: tensor ${t.name} is a query by its name but no key pairs with it (looked for ${expected})`);
    }
    layers.push({ layer: prefix === '' ? fileLayerName(file) : prefix, q: t, k: byName.get(candidates[0]) as StoredTensor });
  }
  // A key no query took is as much a mistake as a query with no key: say so rather than leave it out.
  const taken = new Set(layers.map((l) => l.k.name));
  for (const t of tensors) {
    const split = splitName(t.name, K_SUFFIXES);
    if (split === null || taken.has(t.name)) continue;
    const expected = Q_SUFFIXES.map((s) => `${split.prefix}${split.sep}${s}`).join(', ');
    throw new ScaledotError('E_ARG', `inspect: ${file}: tensor ${t.name} is a key by its name but no query pairs with it (looked for ${expected})`);
  }
  return layers;
}

function splitQueryName(name: string): { prefix: string; sep: string; suffix: string } | null {
  return splitName(name, Q_SUFFIXES);
}

function splitName(name: string, suffixes: readonly string[]): { prefix: string; sep: string; suffix: string } | null {
  if (suffixes.includes(name)) return { prefix: '', sep: '', suffix: name };
  // Longest suffix first, so the prefix is the shortest that fits.
  for (const suffix of [...suffixes].sort((a, b) => b.length - a.length)) {
    for (const sep of SEPARATORS) {
      const tail = sep + suffix;
      if (name.length > tail.length && name.endsWith(tail)) return { prefix: name.slice(0, -tail.length), sep, suffix };
    }
  }
  return null;
}

/** A layer named after a file: its name without the extension. */
export function fileLayerName(file: string): string {
  return basename(file).replace(/\.(safetensors|npy|npz)$/i, '');
}

/** --q NAME --k NAME inside the given files: the one tensor of each name; the layer is the query's name. */
export function pairByNames(files: readonly { file: string; tensors: readonly StoredTensor[] }[], qName: string, kName: string): LayerInput {
  const find = (name: string, flag: string): StoredTensor => {
    const found = files.flatMap((f) => f.tensors.filter((t) => t.name === name));
    if (found.length === 1) return found[0];
    const where = files.map((f) => f.file).join(', ');
    if (found.length === 0) throw new ScaledotError('E_ARG', `inspect: ${flag} ${name}: no tensor of that name in ${where}`);
    throw new ScaledotError('E_ARG', `inspect: ${flag} ${name}: ${found.length} tensors of that name in ${where}; give one file`);
  };
  return { layer: qName, q: find(qName, '--q'), k: find(kName, '--k') };
}
