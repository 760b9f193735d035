import type { LayerSummary } from '../run.js';
import type { FactorSide } from './pattern.js';

/** One factor of a layer's scale, where the graph applies it. */
export interface ScaleFactorAt {
  /** `fused`: the scale attribute (or default) of a fused attention op. */
  side: FactorSide | 'fused';
  node: string;
  op: string;
  /** What the tensor is multiplied by (a Div's 1/divisor). */
  factor: number;
}

export interface OnnxLayerSummary extends LayerSummary {
  /** The graph's nodes: Softmax, and the MatMul of q and kᵀ. */
  softmaxNode: string;
  scoreMatMulNode: string;
  /** Every factor of `scale` (its product, a soft-cap's c included), where it sat: on q, k, the scores, or after the Tanh. */
  scaleAt: ScaleFactorAt[];
  /** c of c·tanh(x / c), where the graph soft-caps its logits. */
  softcap: number | null;
  /** `graph`: the Softmax input the model computed; `computed`: a fused op's logits, computed here by its definition (fused.ts). */
  logitsFrom: 'graph' | 'computed';
  /** Σ logit·(q·k) / Σ (q·k)² over unmasked keys: the scale the logits show (null under a soft-cap, and for a fused op). */
  scaleMeasured: number | null;
  /** The largest |logit − what the graph's scale (and soft-cap) gives from q·k| over unmasked keys: the model's other additive terms (null for a fused op). */
  logitResidualMax: number | null;
  /** The share of (query, key) pairs the model masks. */
  maskedShare: number;
  /** The largest |model's softmax − softmax of its logits| (float64), a check that these logits are the ones it normalised (null for a fused op). */
  softmaxResidualMax: number | null;
  /** Ops between the score MatMul and the Softmax, in graph order. */
  scoreOps: string[];
}
