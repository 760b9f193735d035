import { ScaledotError } from '../../tensor/index.js';
import { scoreEinsum, valuesEinsum } from './einsum.js';
import { fusedSite, isOpenedFused, type FusedSite } from './fused.js';
import { scalarValue, type OnnxModel, type OnnxNode } from './proto.js';

/**
 * Finds the decomposed attention that torch.onnx, tf2onnx and paddle2onnx
 * write, around each Softmax:
 *
 *   q ─[Mul|Div s]─┐
 *                  MatMul ─[Mul|Div s]─[Div c, Tanh, Mul c]─[Add|Sub|Where mask]─ Softmax(last axis) ─ MatMul(·, v)
 *   kᵀ ─[Mul|Div s]┘
 *
 * Every scalar Mul/Div on the way is a factor of the scale (found through
 * reshapes and transposes); which side it sits on is recorded, and the raw
 * q·k is the MatMul's product divided by the q and k factors. Where a factor is computed
 * in the graph (torch's SDPA export: Mul(q, Sqrt(scale))), both operands are
 * captured and the one-element one is taken as the factor at run time.
 */

/** Where a factor of the scale sits: on q, on kᵀ, or on the scores (before or after a Tanh soft-cap). */
export type FactorSide = 'q' | 'k' | 'scores' | 'softcap';

export interface FactorNode {
  side: FactorSide;
  node: string;
  op: 'Mul' | 'Div';
  /** The operand the tensor flows through, where the graph says (the other is a constant). */
  path: string | null;
  inputs: [string, string];
  /** The constant factor (a Div's divisor as is), where it is a constant of the graph. */
  value: number | null;
}

export interface AttentionSite {
  layer: string;
  softmax: OnnxNode;
  scoreMatMul: OnnxNode;
  /** q and kᵀ as they enter the score MatMul (a quantized one: as they enter its DynamicQuantizeLinears). */
  q: string;
  kT: string;
  logits: string;
  probs: string;
  /** Outward from the MatMul on q and k; in graph order on the scores. */
  factors: FactorNode[];
  /** Ops between the MatMul and the Softmax, in graph order (Mul, Tanh, Add, Where, ...). */
  scoreOps: string[];
  /** An Einsum's operands as captured → [batch…, L, D] (q) and [batch…, D, S] (k), the layout a MatMul of q and kᵀ takes; null for a MatMul. */
  qPerm: number[] | null;
  kPerm: number[] | null;
  /** The Softmax's axis: its attribute, or the opset's default (1 before opset 13, which normalises every axis from there on together; −1 since). */
  softmaxAxis: number;
}

/** Fused attention ops this tool recognises by name but cannot open (their logits never leave the kernel). */
const FUSED = new Set(['Attention', 'MultiHeadAttention', 'GroupQueryAttention', 'PackedAttention', 'PackedMultiHeadAttention', 'DecoderMaskedMultiHeadAttention',
  'DecoderMaskedSelfAttention', 'LongformerAttention', 'SparseAttention', 'PagedAttention', 'QAttention', 'DecoderAttention']);

const PASS = new Set(['Cast', 'Identity']);
/**
 * onnxruntime's dynamic quantization (transformers.js' `model_quantized.onnx`) turns q·kᵀ and p·v into
 * DynamicQuantizeLinear on each operand, MatMulInteger, Cast, and a Mul by the two operands' scales
 * (or one com.microsoft MatMulIntegerToFloat). q and k are then the float tensors quantized; that Mul
 * undoes the quantization and is no factor of the attention's scale.
 */
const QUANT_MATMUL = new Set(['MatMulInteger', 'MatMulIntegerToFloat']);
/** Ops that move values without changing them: a scale is found through them (BART scales q before its reshape to heads). */
const SHAPE = new Set(['Reshape', 'Transpose', 'Squeeze', 'Unsqueeze', 'Flatten', 'Expand', 'Gather']);
const MAX_DEPTH = 12;

/** Every attention site of the graph, in graph order; a fused attention op is refused by name. */
export function findAttention(model: OnnxModel, what: string): AttentionSite[] {
  const producer = new Map<string, OnnxNode>();
  const consumers = new Map<string, OnnxNode[]>();
  for (const n of model.nodes) {
    for (const o of n.outputs) producer.set(o, n);
    for (const i of n.inputs) (consumers.get(i) ?? consumers.set(i, []).get(i)!).push(n);
  }
  const fused = model.nodes.filter((n) => FUSED.has(n.opType) && !isOpenedFused(n));
  if (fused.length > 0) {
    const ops = [...new Set(fused.map((n) => `${n.domain || 'ai.onnx'}.${n.opType}`))].join(', ');
    throw new ScaledotError('E_ARG', `${what}: the graph computes attention in ${fused.length} fused op(s) (${ops}, first ${JSON.stringify(fused[0].name)}), whose inputs are not q and k as attention multiplies them; ` +
      'inspect reads com.microsoft Attention, MultiHeadAttention and GroupQueryAttention and ai.onnx Attention; otherwise export the model without fused attention (for example torch.onnx.export without onnxruntime\'s transformer optimizer), or save Q and K and run inspect on the tensor files');
  }
  const constant = (name: string): number | null => {
    const init = model.initializers.get(name);
    if (init !== undefined) return scalarValue(init);
    const p = producer.get(name);
    if (p?.opType === 'Constant') {
      const a = p.attributes.get('value');
      if (a?.t !== undefined) return scalarValue(a.t);
      const f = p.attributes.get('value_float');
      if (f?.f !== undefined) return f.f;
    }
    return null;
  };
  const isConstant = (name: string): boolean => model.initializers.has(name) || producer.get(name)?.opType === 'Constant';
  const quantizer = (name: string): OnnxNode | null => (producer.get(name)?.opType === 'DynamicQuantizeLinear' ? producer.get(name)! : null);
  const equation = (n: OnnxNode): string => n.attributes.get('equation')?.s ?? '';
  const isScoreMatMul = (p: OnnxNode): boolean => p.opType === 'MatMul' || (QUANT_MATMUL.has(p.opType) && quantizer(p.inputs[0]) !== null && quantizer(p.inputs[1]) !== null) ||
    (p.opType === 'Einsum' && p.inputs.length === 2 && scoreEinsum(equation(p)) !== null);

  /** Walks back from a MatMul input through scalar Mul/Div, outward. */
  const operandFactors = (start: string, side: FactorSide): FactorNode[] => {
    const out: FactorNode[] = [];
    let name = start;
    for (let depth = 0; depth < MAX_DEPTH; depth++) {
      const p = producer.get(name);
      if (p === undefined) break;
      if (PASS.has(p.opType) || SHAPE.has(p.opType)) { name = p.inputs[0]; continue; }
      // Paddle's scale op (x·s + b) exports as Mul then Add of the bias: a bias of 0 changes nothing, and the Mul is the scale.
      const zero = p.opType === 'Add' || p.opType === 'Sub' ? p.inputs.findIndex((i) => isConstant(i) && constant(i) === 0) : -1;
      if (zero === 1 || (zero === 0 && p.opType === 'Add')) { name = p.inputs[1 - zero]; continue; }
      if (p.opType !== 'Mul' && p.opType !== 'Div') break;
      const [a, b] = p.inputs as [string, string];
      const path = isConstant(b) ? a : p.opType === 'Mul' && isConstant(a) ? b : null;
      const other = path === a ? b : a;
      if (path !== null && constant(other) === null) break; // a constant tensor, not a scalar: not a scale
      out.push({ side, node: p.name, op: p.opType, path, inputs: [a, b], value: path === null ? null : constant(other) });
      if (path === null) break; // decided at run time; nothing beyond it is walked
      name = path;
    }
    return out;
  };

  /** From the Softmax's input back to a MatMul through mask, scale and soft-cap ops: the ops, outward. */
  const toMatMul = (name: string, depth: number): OnnxNode[] | null => {
    const p = producer.get(name);
    if (p === undefined || depth > MAX_DEPTH) return null;
    if (isScoreMatMul(p)) return [p];
    const tries: string[] = [];
    if (PASS.has(p.opType) || p.opType === 'Tanh' || p.opType === 'Reshape' || p.opType === 'Squeeze' || p.opType === 'Unsqueeze') tries.push(p.inputs[0]);
    else if (p.opType === 'Add' || p.opType === 'Mul') tries.push(...p.inputs.filter((i) => !isConstant(i)));
    else if (p.opType === 'Sub' || p.opType === 'Div') tries.push(p.inputs[0]);
    else if (p.opType === 'Where') tries.push(...p.inputs.slice(1).filter((i) => !isConstant(i)));
    for (const t of tries) {
      const rest = toMatMul(t, depth + 1);
      if (rest !== null) return [p, ...rest];
    }
    return null;
  };

  /** Whether the Softmax's output reaches a MatMul as its left operand (through Cast, Dropout, Identity, Where). */
  const feedsValues = (name: string, depth: number): boolean => (consumers.get(name) ?? []).some((c) =>
    (c.opType === 'MatMul' && c.inputs[0] === name) ||
    (c.opType === 'Einsum' && c.inputs.length === 2 && valuesEinsum(equation(c), c.inputs.indexOf(name))) ||
    (c.opType === 'DynamicQuantizeLinear' && (consumers.get(c.outputs[0]) ?? []).some((m) => QUANT_MATMUL.has(m.opType) && m.inputs[0] === c.outputs[0])) ||
    (depth < 3 && ['Cast', 'Dropout', 'Identity', 'Where'].includes(c.opType) && c.outputs.length > 0 && feedsValues(c.outputs[0], depth + 1)));

  const opset = model.opsets.get('') ?? model.opsets.get('ai.onnx') ?? 13;
  const sites: AttentionSite[] = [];
  for (const [index, softmax] of model.nodes.entries()) {
    if (softmax.opType !== 'Softmax' || softmax.domain !== '') continue;
    if (!feedsValues(softmax.outputs[0], 0)) continue;
    const chain = toMatMul(softmax.inputs[0], 0);
    if (chain === null) continue;
    const matmul = chain[chain.length - 1];
    const between = chain.slice(0, -1).reverse(); // graph order, MatMul → Softmax
    // A quantized product's operands are the float tensors its DynamicQuantizeLinears read; the Mul by their scales is no factor.
    const einsum = matmul.opType === 'Einsum' ? scoreEinsum(equation(matmul))! : null;
    const quantized = QUANT_MATMUL.has(matmul.opType);
    const [q, kT] = quantized ? [quantizer(matmul.inputs[0])!.inputs[0], quantizer(matmul.inputs[1])!.inputs[0]]
      : einsum !== null ? [matmul.inputs[einsum.qInput], matmul.inputs[1 - einsum.qInput]] : [matmul.inputs[0], matmul.inputs[1]];
    const quantScales = new Set(quantized ? [quantizer(matmul.inputs[0])!.outputs[1], quantizer(matmul.inputs[1])!.outputs[1]] : []);
    const dequantizes = (name: string): boolean => quantScales.has(name) || (producer.get(name)?.opType === 'Mul' && producer.get(name)!.inputs.every((i) => quantScales.has(i)));
    const factors: FactorNode[] = [...operandFactors(q, 'q'), ...operandFactors(kT, 'k')];
    let afterTanh = false;
    for (const n of between) {
      if (n.opType === 'Tanh') afterTanh = true;
      if (n.opType !== 'Mul' && n.opType !== 'Div') continue;
      const [a, b] = n.inputs as [string, string];
      const onPath = between.some((m) => m.outputs[0] === a) || a === matmul.outputs[0] ? a : b;
      const other = onPath === a ? b : a;
      if (n.opType === 'Mul' && dequantizes(other)) continue;
      if (n.opType === 'Div' && onPath !== a) continue;
      factors.push({ side: afterTanh ? 'softcap' : 'scores', node: n.name, op: n.opType, path: onPath, inputs: [a, b], value: constant(other) });
    }
    sites.push({
      layer: layerName(softmax.name, index),
      softmax, scoreMatMul: matmul, q, kT,
      logits: softmax.inputs[0], probs: softmax.outputs[0], factors,
      scoreOps: between.map((n) => n.opType), softmaxAxis: softmax.attributes.get('axis')?.i ?? (opset < 13 ? 1 : -1),
      qPerm: einsum?.qPerm ?? null, kPerm: einsum?.kPerm ?? null,
    });
  }
  return sites;
}

/** The fused attention nodes inspect opens (fused.ts), in graph order (those it cannot follow are refused by fusedSite). */
export function findFusedAttention(model: OnnxModel, what: string): FusedSite[] {
  return model.nodes.flatMap((n, index) => (isOpenedFused(n) ? [fusedSite(n, layerName(n.name, index), what)] : []));
}

/** "/encoder/layer.0/attention/self/Softmax" → "encoder/layer.0/attention/self"; unnamed: "softmax@NODE_INDEX". */
function layerName(nodeName: string, index: number): string {
  const scope = nodeName.replace(/^\/+/, '').replace(/\/?[^/]*$/, '');
  return scope !== '' ? scope : nodeName !== '' ? nodeName : `softmax@${index}`;
}
