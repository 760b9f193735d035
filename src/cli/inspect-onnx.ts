import { inspectOnnx, type InspectOnnxOptions, type OnnxInspectResult } from '../inspect/onnx/inspect-onnx.js';
import { parseInputSpec, type InputSpec } from '../inspect/onnx/feeds.js';
import { RUNTIMES, type RuntimeName } from '../inspect/onnx/runtime.js';
import { ScaledotError } from '../tensor/index.js';
import type { NamedPath } from './output-paths.js';

/** The flags that inspect MODEL.onnx reads; the tensor-file flags mean nothing to a graph. */
export interface OnnxFlags {
  input?: string[];
  runtime?: string;
  captureBudget?: string;
}

const TENSOR_ONLY = ['q', 'k', 'heads', 'kvHeads', 'scale', 'causal', 'qPrescaled', 'keyLengths', 'qkv'] as const;
const FLAG_NAMES: Record<(typeof TENSOR_ONLY)[number], string> = {
  q: '--q', k: '--k', heads: '--heads', kvHeads: '--kv-heads', scale: '--scale', causal: '--causal', qPrescaled: '--q-prescaled', keyLengths: '--key-lengths', qkv: '--qkv',
};

export const isOnnxModel = (files: readonly string[]): boolean => files.some((f) => /\.onnx$/i.test(f));

/** Checks the flags of an .onnx run and names its input files (the model and each --input), before any work. */
export function onnxPlan(files: readonly string[], flags: OnnxFlags & Record<string, unknown>): { model: string; inputs: InputSpec[]; runtime?: RuntimeName; captureBudget?: number; paths: NamedPath[] } {
  if (files.length !== 1) throw new ScaledotError('E_ARG', `inspect: an .onnx model is inspected alone; got ${files.length} files (${files.join(', ')})`);
  for (const key of TENSOR_ONLY) {
    if (flags[key] !== undefined && flags[key] !== false) {
      throw new ScaledotError('E_OPTION', `inspect: ${FLAG_NAMES[key]} is for Q/K tensor files; with an .onnx model the graph says the heads, scale and mask`);
    }
  }
  if (flags.layout !== undefined && flags.layout !== 'bhld') throw new ScaledotError('E_OPTION', 'inspect: --layout is for Q/K tensor files; an .onnx graph says its own layout');
  if (flags.runtime !== undefined && !(RUNTIMES as readonly string[]).includes(flags.runtime)) {
    throw new ScaledotError('E_OPTION', `inspect: --runtime is ${JSON.stringify(flags.runtime)}; expected ${RUNTIMES.join(' or ')}`);
  }
  const budget = flags.captureBudget;
  if (budget !== undefined && !(/^\d+(\.\d+)?$/.test(budget.trim()) && Number(budget) > 0)) {
    throw new ScaledotError('E_OPTION', `inspect: --capture-budget is ${JSON.stringify(budget)}; expected the MiB of captured tensors to hold at once, a number > 0`);
  }
  const inputs = (flags.input ?? []).map(parseInputSpec);
  return {
    model: files[0], inputs, runtime: flags.runtime as RuntimeName | undefined, captureBudget: budget === undefined ? undefined : Number(budget) * 2 ** 20,
    paths: [{ flag: 'model', path: files[0] }, ...inputs.map((i) => ({ flag: `--input${i.name ? ` ${i.name}` : ''}`, path: i.path }))],
  };
}

export function runOnnx(plan: ReturnType<typeof onnxPlan>, version: string, more: Pick<InspectOnnxOptions, 'sample' | 'maps' | 'onProgress'>): Promise<OnnxInspectResult> {
  return inspectOnnx({ model: plan.model, inputs: plan.inputs, runtime: plan.runtime, captureBudget: plan.captureBudget, ...more }, version);
}
