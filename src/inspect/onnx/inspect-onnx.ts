import { ScaledotError } from '../../tensor/index.js';
import { readExactly, withFile } from '../stored.js';
import { analyzeHead, type HeadFigures } from '../figures.js';
import { headFindings, type Finding } from '../findings.js';
import { float16FromBits } from '../half.js';
import type { InspectResult } from '../run.js';
import { attentionMap, modelWeightsMap, type AttentionMap } from '../maps.js';
import { assignInputs, readFeeds, type InputSpec } from './feeds.js';
import { inspectFusedLayer } from './fused-layer.js';
import { checkLogits, resolveSite, sharedKvHeads, type Captured } from './decomposed.js';
import { findAttention, findFusedAttention, type AttentionSite } from './pattern.js';
import { fusedCaptures, type FusedSite } from './fused.js';
import type { OnnxLayerSummary } from './summary.js';
import { extraOutputsSuffix, readOnnxModel } from './proto.js';
import { loadRuntime, type OrtSession, type OrtTensor, type RuntimeName } from './runtime.js';

export interface InspectOnnxOptions {
  model: string;
  inputs: readonly InputSpec[];
  runtime?: RuntimeName;
  /** The batch element whose attention maps are drawn (default 0); checked against every layer's batch. */
  sample?: number;
  /** Where given, every head's attention map for `sample` is pushed here. */
  maps?: AttentionMap[];
  /** Bytes of captured tensors per run (default CAPTURE_BUDGET). */
  captureBudget?: number;
  onProgress?: (p: { layerIndex: number; layers: number; layer: string; head: number; heads: number }) => void;
}

export type { OnnxLayerSummary, ScaleFactorAt } from './summary.js';

export interface OnnxInspectResult extends InspectResult {
  model: string;
  runtime: RuntimeName;
  inputs: OnnxLayerSummary[];
  /** How many times the model ran: once per group of layers whose captured tensors fit the budget. */
  runs: number;
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

/**
 * The most bytes of captured tensors held at once: layers are captured in
 * groups sized to it (at least one layer a run), so memory is bounded by one
 * group's q, kᵀ, logits and probabilities, not by every layer's. The first
 * run captures one layer alone, to learn what a layer weighs. The CLI's
 * --capture-budget MiB sets it.
 */
export const CAPTURE_BUDGET = 256 * 2 ** 20;

type Job = { layer: string; names: string[] } & ({ kind: 'graph'; site: AttentionSite } | { kind: 'fused'; site: FusedSite });

/** The graph's attention sites, each named uniquely with the tensors to capture, from one read of the model (not kept). */
function plan(opts: InspectOnnxOptions, what: string): { jobs: Job[]; declared: Set<string>; batch: number | undefined; feeds: ReturnType<typeof readFeeds> } {
  const model = readOnnxModel(readModel(opts.model, 0), `inspect: ${what}`);
  const sites = findAttention(model, `inspect: ${what}`);
  const fusedSites = findFusedAttention(model, `inspect: ${what}`);
  if (sites.length === 0 && fusedSites.length === 0) {
    throw new ScaledotError('E_ARG', `inspect: ${what} has no attention this tool recognises: no Softmax whose input comes from a MatMul (through scale, mask and soft-cap ops) and whose output multiplies the values; ` +
      `its ${model.nodes.length} nodes hold ${model.nodes.filter((n) => n.opType === 'Softmax').length} Softmax(es)`);
  }
  const feeds = readFeeds(assignInputs(opts.inputs, model.inputs, what), model.inputs);
  const fed = new Set(feeds.map((f) => f.name));
  const captured = (names: (string | null)[]): string[] => [...new Set(names)].filter((n): n is string => n !== null && !model.initializers.has(n) && !fed.has(n));
  const used = new Set<string>();
  const unique = (name: string): string => {
    let layer = name;
    for (let n = 2; used.has(layer); n++) layer = `${name}#${n}`;
    used.add(layer);
    return layer;
  };
  const jobs: Job[] = [
    ...sites.map((site): Job => ({
      kind: 'graph', site, layer: unique(site.layer),
      names: captured([site.q, site.kT, site.logits, site.probs, ...site.factors.flatMap((f) => (f.value === null ? f.inputs : []))]),
    })),
    ...fusedSites.map((site): Job => ({
      kind: 'fused', site, layer: unique(site.layer),
      // Initializers too (a packed Attention's weights and bias): the runtime hands them back.
      names: [...new Set(fusedCaptures(site))].filter((n) => !fed.has(n)),
    })),
  ];
  const names = new Set(jobs.flatMap((j) => j.names));
  if (extraOutputsSuffix([...names]).length > ROOM) throw new ScaledotError('E_SIZE', `inspect: ${what}: the ${names.size} tensors to capture have names longer than ${ROOM} bytes together`);
  return { jobs, declared: new Set(model.outputs.map((o) => o.name)), batch: feeds[0]?.dims[0], feeds };
}

/** Room after the model's bytes for the extra outputs' names (at most 1 MiB). */
const ROOM = 1 << 20;

/** The model file read into a buffer with `room` bytes free after it. */
function readModel(path: string, room: number): Uint8Array {
  return withFile(path, (fd, bytes) => {
    const b = new Uint8Array(bytes + room);
    readExactly(fd, b.subarray(0, bytes), 0, () => `inspect: ${path}`);
    return b.subarray(0, bytes);
  });
}

/**
 * The model with `extra` added as graph outputs: a second GraphProto appended
 * after the file's bytes, which protobuf merges into the first. The file is
 * read again for each group's session rather than kept: the runtime keeps its
 * own copy of the weights, and ours is garbage once the session exists
 * (keeping one buffer for every session measured a higher peak: docs/inspect.md).
 */
function modelWithOutputs(path: string, extra: readonly string[]): Uint8Array {
  const bytes = readModel(path, ROOM);
  const suffix = extraOutputsSuffix(extra);
  const whole = new Uint8Array(bytes.buffer, 0, bytes.length + suffix.length);
  whole.set(suffix, bytes.length);
  return whole;
}

/**
 * Runs the model once per group of layers, each time in a session whose graph
 * has only that group's tensors added as outputs: ONNX Runtime holds every
 * graph output of a run until the run ends, fetched or not, so one session
 * with every layer's outputs would hold them all at once. Each group's tensors
 * are reduced to figures (and maps) and dropped before the next.
 */
export async function inspectOnnx(opts: InspectOnnxOptions, version: string): Promise<OnnxInspectResult> {
  const what = opts.model;
  const { jobs, declared, batch, feeds } = plan(opts, what);
  const { name: runtime, ort } = loadRuntime(opts.runtime);
  const fed = new Map(feeds.map((f) => [f.name, f]));
  const failed = (err: unknown): never => {
    if (err instanceof ScaledotError) throw err;
    throw new ScaledotError('E_ARG', `inspect: ${runtime} could not run ${what} on these inputs: ${(err as Error).message.split('\n')[0]}`);
  };
  const ortFeeds = Object.fromEntries(feeds.map((f) => [f.name, new ort.Tensor(f.type, f.data, f.dims)]));
  const capture = async (fetches: string[]): Promise<Record<string, OrtTensor>> => {
    let session: OrtSession | null = null;
    try {
      session = await ort.InferenceSession.create(modelWithOutputs(opts.model, fetches.filter((n) => !declared.has(n))), { graphOptimizationLevel: 'disabled' });
      return await session.run(ortFeeds, fetches);
    } catch (err) {
      return failed(err);
    } finally {
      await session?.release();
    }
  };
  const sample = opts.sample ?? 0;
  const layers: OnnxLayerSummary[] = [];
  const heads: HeadFigures[] = [];
  const findings: Finding[] = [];
  let runs = 0;
  let perRun = 1;
  for (let next = 0; next < jobs.length;) {
    const group = jobs.slice(next, next + perRun);
    const fetches = [...new Set(group.flatMap((j) => j.names))];
    const outputs = fetches.length === 0 ? {} : await capture(fetches);
    if (fetches.length > 0) runs++;
    let bytes = 0;
    for (const t of Object.values(outputs)) bytes += (t.data as unknown as ArrayBufferView).byteLength ?? 0;
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
    for (const [i, job] of group.entries()) {
      const index = next + i;
      const progress = (head: number, count: number): void => opts.onProgress?.({ layerIndex: index, layers: jobs.length, layer: job.layer, head, heads: count });
      const at = `inspect: ${what}: layer ${job.layer}`;
      if (job.kind === 'graph') {
        const r = resolveSite(job.site, tensor, batch, at);
        checkSample(sample, r.q.batch, job.layer);
        for (let h = 0; h < r.q.heads; h++) {
          progress(h, r.q.heads);
          const outcome = analyzeHead(job.layer, r.q, r.k, h, r.scale, false, { data: r.logits });
          if (outcome.kind === 'figures') heads.push(outcome.figures);
          // The map is the model's own Softmax output, over the keys its logits leave unmasked.
          if (outcome.kind === 'figures' && opts.maps !== undefined) opts.maps.push(modelWeightsMap(job.layer, h, sample, { heads: r.q.heads, queries: r.q.length, keys: r.k.length }, r.probs, r.logits));
          findings.push(...headFindings(outcome));
        }
        layers.push({
          layer: job.layer,
          q: { file: opts.model, name: r.qName, dtype: r.qType, shape: r.qDims },
          k: { file: opts.model, name: `${r.kName} (kᵀ: …, headDim, keys)`, dtype: r.kType, shape: r.kDims },
          heads: r.q.heads, kvHeads: sharedKvHeads(r.k, r.q.heads), headDim: r.q.dim, scale: r.scale,
          softmaxNode: job.site.softmax.name, scoreMatMulNode: job.site.scoreMatMul.name,
          scaleAt: r.factors, softcap: r.softcap, scoreOps: job.site.scoreOps, logitsFrom: 'graph', ...checkLogits(r),
        });
      } else {
        const got = inspectFusedLayer(job.site, job.layer, opts.model, tensor, ints, at, progress);
        const r = got.resolved;
        checkSample(sample, r.q.batch, job.layer);
        layers.push(got.summary);
        heads.push(...got.heads);
        findings.push(...got.findings);
        // A fused op's weights never leave its kernel: its map is the softmax of the logits computed by the op's definition.
        if (opts.maps !== undefined) for (const h of got.heads) opts.maps.push(attentionMap(job.layer, r.q, r.k, h.head, sample, r.scale, false, { data: r.logits }));
      }
    }
    next += group.length;
    perRun = Math.max(1, Math.floor((opts.captureBudget ?? CAPTURE_BUDGET) / Math.max(1, bytes / group.length)));
  }
  const scales = new Set(layers.map((l) => l.scale));
  return {
    tool: 'scaledot inspect', version, model: opts.model, runtime, runs,
    scale: scales.size === 1 ? [...scales][0] : null, layout: 'bhld', causal: false,
    inputs: layers, heads, findings,
  };
}

function checkSample(sample: number, batch: number, layer: string): void {
  if (!(Number.isSafeInteger(sample) && sample >= 0 && sample < batch)) {
    throw new ScaledotError('E_OPTION', `inspect: --sample is ${sample}; layer ${layer} has a batch of ${batch}, so expected an integer from 0 to ${batch - 1}`);
  }
}
