import { ScaledotError } from '../tensor/index.js';

/**
 * How attention logits are scaled, the one knob the training experiment turns:
 *
 *   rsqrt       q·k / √d_k                       (Vaswani et al.; the default)
 *   none        q·k                              (no scale: logits grow like √d_k)
 *   inverse     q·k / d_k                        (μP)
 *   qk-norm     τ_h · q̂·k̂, q̂ = q/‖q‖, k̂ = k/‖k‖   (ViT-22B style; τ_h learnt per head, starting at √d_k)
 *   log-length  q·k · log₅₁₂(n) / √d_k            (Su's entropy-invariant scale; n = sequence length)
 *   softcap     c · tanh(q·k / (√d_k c))           (Gemma 2: scaled, then capped at c = 50)
 */
export const SCALE_RULES = ['rsqrt', 'none', 'inverse', 'qk-norm', 'log-length', 'softcap'] as const;
export type ScaleRule = (typeof SCALE_RULES)[number];

/** Gemma 2's attention logit cap. */
export const DEFAULT_SOFTCAP = 50;

/** `rule` if it names a scale rule; otherwise an E_OPTION ScaledotError from `fn` that lists the rules. */
export function checkScaleRule(fn: string, rule: unknown): ScaleRule {
  if (typeof rule === 'string' && (SCALE_RULES as readonly string[]).includes(rule)) return rule as ScaleRule;
  throw new ScaledotError('E_OPTION', `${fn}: scale rule ${JSON.stringify(rule)} is unknown; expected one of ${SCALE_RULES.join(', ')}`);
}

/**
 * The number that multiplies q·k under a rule, for head dim d and sequence
 * length n. For qk-norm it is 1: the learnt temperature is applied to q̂
 * inside the model, so it can be trained.
 */
export function ruleScale(rule: ScaleRule, headDim: number, seqLen: number): number {
  switch (rule) {
    case 'rsqrt':
    case 'softcap':
      return 1 / Math.sqrt(headDim);
    case 'none':
      return 1;
    case 'inverse':
      return 1 / headDim;
    case 'qk-norm':
      return 1;
    case 'log-length':
      return Math.log(seqLen) / Math.log(512) / Math.sqrt(headDim);
  }
}
