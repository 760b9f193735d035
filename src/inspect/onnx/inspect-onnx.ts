import { ScaledotError } from '../../tensor/index.js';
import { readExactly, withFile } from '../stored.js';
import { analyzeHead, type HeadFigures } from '../figures.js';
import { headFindings, type Finding } from '../findings.js';
import { float16FromBits } from '../half.js';
import type { InspectResult, LayerSummary } from '../run.js';
import { assignInputs, readFeeds, type InputSpec } from './feeds.js';
import { inspectFusedLayer } from './fused-layer.js';
import { checkLogits, resolveSite, sharedKvHeads, type Captured } from './decomposed.js';
import { findAttention, findFusedAttention } from './pattern.js';
import { fusedCaptures } from './fused.js';
import type { OnnxLayerSummary } from './summary.js';
import { extraOutputsSuffix, readOnnxModel } from './proto.js';
import { loadRuntime, type OrtTensor, type RuntimeName } from './runtime.js';

export interface InspectOnnxOptions {
  model: string;
  inputs: readonly InputSpec[];
  runtime?: RuntimeName;
  onProgress?: (p: { layerIndex: number; layers: number; layer: string; head: number; heads: number }) => void;
}

export type { OnnxLayerSummary, ScaleFactorAt } from './summary.js';

export interface OnnxInspectResult extends InspectResult {
  model: string;
  runtime: RuntimeName;
  inputs: OnnxLayerSummary[];
}


function toFloats(name: string, t: OrtTensor, what: string): Captured {
  const dims = [...t.dims];
  if (t.type === 'float32' || t.type === 'float64') return { dims, data: t.data as unknown as Float32Array, type: t.type };
  if (t.type === 'float16') {
    // The runtime hands float16 back as its bits (Uint16Array), or as numbers where the engine has Float16Array.
    const out = new Float32Array(t.data.length);
    if (t.data instanceof Uint16Array) for (let i = 0; i < t.data.length; i++) out[i] = float16FromBits(t.data[i]);
    else for (let i = 0; i < t.data.length; i++) out[i] = Number(t.data[i]);
    return { dims, data: out, type: t.type };
  }
  throw new ScaledotError('E_DTYPE', `${what}: tensor ${name} is ${t.type}; inspect reads float attention tensors (float32, float64, float16)`);
}

/** Runs the model once on the inputs with every attention site's tensors as extra outputs, and reports each head. */
export async function inspectOnnx(opts: InspectOnnxOptions, version: string): Promise<OnnxInspectResult> {
  const what = opts.model;
  // One buffer for the model, with room after it for the extra outputs (at most 1 MiB of names).
  const room = 1 << 20;
  const { buffer, size } = withFile(opts.model, (fd, bytes) => {
    const b = new Uint8Array(bytes + room);
    readExactly(fd, b.subarray(0, bytes), 0, () => `inspect: ${opts.model}`);
    return { buffer: b, size: bytes };
  });
  const model = readOnnxModel(buffer.subarray(0, size), `inspect: ${what}`);
  const sites = findAttention(model, `inspect: ${what}`);
  const fusedSites = findFusedAttention(model, `inspect: ${what}`);
  if (sites.length === 0 && fusedSites.length === 0) {
    throw new ScaledotError('E_ARG', `inspect: ${what} has no attention this tool recognises: no Softmax whose input comes from a MatMul (through scale, mask and soft-cap ops) and whose output multiplies the values; ` +
      `its ${model.nodes.length} nodes hold ${model.nodes.filter((n) => n.opType === 'Softmax').length} Softmax(es)`);
  }
  const feeds = readFeeds(assignInputs(opts.inputs, model.inputs, what), model.inputs);
  const { name: runtime, ort } = loadRuntime(opts.runtime);

  const fed = new Map(feeds.map((f) => [f.name, f]));
  const declared = new Set(model.outputs.map((o) => o.name));
  const wanted = new Set<string>();
  for (const s of sites) {
    for (const n of [s.q, s.kT, s.logits, s.probs]) wanted.add(n);
    for (const f of s.factors) if (f.value === null) for (const i of f.inputs) if (!model.initializers.has(i)) wanted.add(i);
  }
  for (const s of fusedSites) for (const n of fusedCaptures(s)) wanted.add(n); // initializers too: the runtime hands them back
  const extra = [...wanted].filter((n) => !declared.has(n) && !fed.has(n));
  let outputs: Record<string, OrtTensor>;
  try {
    const suffix = extraOutputsSuffix(extra);
    if (suffix.length > room) throw new ScaledotError('E_SIZE', `inspect: ${what}: the ${extra.length} tensors to capture have names longer than ${room} bytes together`);
    buffer.set(suffix, size);
    const session = await ort.InferenceSession.create(buffer.subarray(0, size + suffix.length), { graphOptimizationLevel: 'disabled' });
    outputs = await session.run(Object.fromEntries(feeds.map((f) => [f.name, new ort.Tensor(f.type, f.data, f.dims)])));
    await session.release();
  } catch (err) {
    if (err instanceof ScaledotError) throw err;
    throw new ScaledotError('E_ARG', `inspect: ${runtime} could not run ${what} on these inputs: ${(err as Error).message.split('\n')[0]}`);
  }
  const tensor = (name: string): Captured | null => {
    const f = fed.get(name);
    if (f !== undefined) return f.type.startsWith('float') ? { dims: f.dims, data: f.data as Float32Array, type: f.type } : null;
    const t = outputs[name];
    return t === undefined ? null : toFloats(name, t, `inspect: ${what}`);
  };
  const ints = (name: string): { dims: number[]; values: number[]; type: string } | null => {
    const f = fed.get(name);
    const t = f !== undefined ? { dims: f.dims, data: f.data } : outputs[name] === undefined ? null : { dims: [...outputs[name].dims], data: outputs[name].data };
    return t === null ? null : { dims: t.dims, values: Array.from(t.data as ArrayLike<number | bigint | boolean>, Number), type: f?.type ?? outputs[name].type };
  };

  const layers: OnnxLayerSummary[] = [];
  const heads: HeadFigures[] = [];
  const findings: Finding[] = [];
  const used = new Set<string>();
  for (const [index, site] of sites.entries()) {
    let layer = site.layer;
    for (let n = 2; used.has(layer); n++) layer = `${site.layer}#${n}`;
    used.add(layer);
    const r = resolveSite(site, tensor, feeds[0]?.dims[0], `inspect: ${what}: layer ${layer}`);
    for (let h = 0; h < r.q.heads; h++) {
      opts.onProgress?.({ layerIndex: index, layers: sites.length + fusedSites.length, layer, head: h, heads: r.q.heads });
      const outcome = analyzeHead(layer, r.q, r.k, h, r.scale, false, { data: r.logits });
      if (outcome.kind === 'figures') heads.push(outcome.figures);
      findings.push(...headFindings(outcome));
    }
    const check = checkLogits(r);
    layers.push({
      layer,
      q: { file: opts.model, name: r.qName, dtype: r.qType, shape: r.qDims },
      k: { file: opts.model, name: `${r.kName} (kᵀ: …, headDim, keys)`, dtype: r.kType, shape: r.kDims },
      heads: r.q.heads, kvHeads: sharedKvHeads(r.k, r.q.heads), headDim: r.q.dim, scale: r.scale,
      softmaxNode: site.softmax.name, scoreMatMulNode: site.scoreMatMul.name,
      scaleAt: r.factors, softcap: r.softcap, scoreOps: site.scoreOps, logitsFrom: 'graph', ...check,
    });
  }
  for (const [index, site] of fusedSites.entries()) {
    let layer = site.layer;
    for (let n = 2; used.has(layer); n++) layer = `${site.layer}#${n}`;
    used.add(layer);
    const done = sites.length + index;
    const got = inspectFusedLayer(site, layer, opts.model, tensor, ints, `inspect: ${what}: layer ${layer}`,
      (head, count) => opts.onProgress?.({ layerIndex: done, layers: sites.length + fusedSites.length, layer, head, heads: count }));
    layers.push(got.summary);
    heads.push(...got.heads);
    findings.push(...got.findings);
  }
  const scales = new Set(layers.map((l) => l.scale));
  return {
    tool: 'scaledot inspect', version, model: opts.model, runtime,
    scale: scales.size === 1 ? [...scales][0] : null, layout: 'bhld', causal: false,
    inputs: layers, heads, findings,
  };
}
