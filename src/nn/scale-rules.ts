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
 *   ssmax       q·k · s_h ln n / √d_k              (SSMax, Nakanishi 2025; s_h learnt per head, from 1/ln 512)
 *   softmax1    q·k / √d_k, softmax with a +1 in its denominator (Miller's "off by one": a sink at logit 0)
 *   sink        q·k / √d_k, softmax with a learnt sink logit b_h per head (Xiao et al.'s attention sink, as a parameter)
 */
export const ATTENTION_RULES = ['rsqrt', 'none', 'inverse', 'qk-norm', 'log-length', 'softcap', 'ssmax', 'softmax1', 'sink'] as const;
export type ScaleRule = (typeof ATTENTION_RULES)[number];
/** The six rules that differ only in how q·k is scaled or capped (what C8 compares); ssmax and the sinks came later (C10, C12). */
export const SCALE_RULES = ['rsqrt', 'none', 'inverse', 'qk-norm', 'log-length', 'softcap'] as const satisfies readonly ScaleRule[];

/** ssmax's s at initialisation: 1/ln 512, so that it starts equal to the log-length rule. */
export const SSMAX_INIT_S = 1 / Math.log(512);

/** Gemma 2's attention logit cap. */
export const DEFAULT_SOFTCAP = 50;

/** `rule` if it names a scale rule; otherwise an E_OPTION ScaledotError from `fn` that lists the rules. */
export function checkScaleRule(fn: string, rule: unknown): ScaleRule {
  if (typeof rule === 'string' && (ATTENTION_RULES as readonly string[]).includes(rule)) return rule as ScaleRule;
  throw new ScaledotError('E_OPTION', `${fn}: scale rule ${JSON.stringify(rule)} is unknown; expected one of ${ATTENTION_RULES.join(', ')}`);
}

/**
 * The number that multiplies q·k under a rule, for head dim d and sequence
 * length n. For qk-norm it is 1 and for ssmax ln n/√d_k: the learnt
 * temperature (τ_h, s_h) is applied to q inside the model, so it can be trained.
 */
export function ruleScale(rule: ScaleRule, headDim: number, seqLen: number): number {
  switch (rule) {
    case 'rsqrt':
    case 'softcap':
    case 'softmax1':
    case 'sink':
      return 1 / Math.sqrt(headDim);
    case 'ssmax':
      return Math.log(seqLen) / Math.sqrt(headDim);
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
