import { ScaledotError, formatShape } from '../tensor/index.js';
import { fileLayerName } from './pairing.js';
import type { StoredTensor } from './stored.js';
import type { HeadsShape } from './view.js';

/**
 * A fused projection: one tensor holding q, k and v of every head, as timm's
 * ViT `qkv`, GPT-2's `c_attn` and PyTorch MultiheadAttention's `in_proj`
 * write it. Packing order, along the last axis of (batch, length, width):
 *
 *   [ q: head 0 … head H−1 | k: head 0 … head Hkv−1 | v: head 0 … head Hkv−1 ],  each head headDim wide
 *
 * so width = (H + 2·Hkv)·headDim. Rank 5 (batch, length, 3, heads, headDim),
 * timm's reshape before its permute, is the same memory with Hkv = H.
 */
export interface PackedLayer {
  layer: string;
  qkv: StoredTensor;
}

/** The tensors named by --qkv: NAME itself, or every tensor whose name ends in . / _ + NAME (one layer each, named by the rest). */
export function findPacked(files: readonly { file: string; tensors: readonly StoredTensor[] }[], name: string): PackedLayer[] {
  const found: PackedLayer[] = [];
  for (const { file, tensors } of files) {
    for (const t of tensors) {
      if (t.name === name) found.push({ layer: files.length === 1 && tensors.length === 1 ? fileLayerName(file) : t.name, qkv: t });
      else for (const sep of ['.', '/', '_']) if (t.name.endsWith(sep + name)) found.push({ layer: t.name.slice(0, -(sep.length + name.length)), qkv: t });
    }
  }
  if (found.length === 0) {
    throw new ScaledotError('E_ARG', `inspect: --qkv ${name}: no tensor of that name, or ending in .${name}, in ${files.map((f) => f.file).join(', ')}`);
  }
  return found;
}

/** Q's and K's views into one packed tensor, and where K starts. */
export function packedShapes(what: string, shape: readonly number[], heads: number | undefined, kvHeads: number | undefined): { q: HeadsShape; k: HeadsShape; kOffset: number } {
  if (heads === undefined) throw new ScaledotError('E_OPTION', `${what} is a fused qkv tensor of shape ${formatShape(shape)}; give --heads (and --kv-heads where K has fewer) to split it`);
  let B: number;
  let L: number;
  let W: number;
  if (shape.length === 3) [B, L, W] = shape;
  else if (shape.length === 5 && shape[2] === 3 && shape[3] === heads && (kvHeads ?? heads) === heads) {
    [B, L] = shape;
    W = 3 * shape[3] * shape[4];
  } else {
    throw new ScaledotError('E_SHAPE', `${what} has shape ${formatShape(shape)}; a fused qkv is (batch, length, (heads + 2·kvHeads)·headDim) or (batch, length, 3, heads, headDim)`);
  }
  const hkv = kvHeads ?? heads;
  const units = heads + 2 * hkv;
  if (W % units !== 0 || W === 0) {
    throw new ScaledotError('E_SHAPE', `${what} has shape ${formatShape(shape)}: its width ${W} is not (heads ${heads} + 2 × kvHeads ${hkv}) × headDim for a whole headDim`);
  }
  const D = W / units;
  const view = (h: number): HeadsShape => ({ batch: B, heads: h, length: L, dim: D, strideB: L * W, strideH: D, strideL: W });
  return { q: view(heads), k: view(hkv), kOffset: heads * D };
}
