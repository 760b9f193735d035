import { ScaledotError } from '../tensor/index.js';
import { analyzeHead, type HeadFigures } from './figures.js';
import { headFindings, type Finding } from './findings.js';
import { fileFormat, listTensors } from './files.js';
import { fileLayerName, pairByNames, pairTensors, type LayerInput } from './pairing.js';
import type { StoredTensor } from './stored.js';
import { KEY_LENGTHS_TENSOR, checkLengths, readLengthsTensor, readNpyNumbers } from './lengths.js';
import { attentionMap, type AttentionMap } from './maps.js';
import { findPacked, packedShapes } from './qkv.js';
import { checkPair, headsShape, type HeadsShape, type Layout } from './view.js';

export interface InspectOptions {
  files: readonly string[];
  /** Tensor names inside `files`, or, with no files, the .npy files of Q and K. */
  q?: string;
  k?: string;
  layout: Layout;
  /** Q's heads, for rank-3 (batch, length, heads·headDim) tensors; K's default to the same. */
  heads?: number;
  kvHeads?: number;
  /** Default 1/√headDim. */
  scale?: number;
  causal: boolean;
  /** A fused qkv tensor (qkv.ts: its packing order): a name in the files (or a suffix: every layer's), or with no files a .npy file. */
  qkv?: string;
  /** q was stored already multiplied by this (its scale): the raw q·k is q·k / qPrescaled, and the scale in use qPrescaled · (scale ?? 1). */
  qPrescaled?: number;
  /** A .npy of one length per batch element (padding after it is left out); by default a file's own key_lengths tensor. */
  keyLengths?: string;
  /** The batch element whose attention maps are drawn (default 0); checked against every layer's batch. */
  sample?: number;
  /** Where given, the attention map of every head for `sample` is pushed here (maps.ts: at most MAP_CELLS per side). */
  maps?: AttentionMap[];
  /** Progress: called before each head, with the layer's place among the layers and the head's among its heads. */
  onProgress?: (p: { layerIndex: number; layers: number; layer: string; head: number; heads: number }) => void;
}

export interface TensorInput {
  file: string;
  name: string;
  dtype: string;
  shape: number[];
}

export interface LayerSummary {
  layer: string;
  q: TensorInput;
  k: TensorInput;
  heads: number;
  kvHeads: number;
  headDim: number;
  scale: number;
  /** Where q came already scaled (--q-prescaled), the factor. */
  qPrescaled?: number;
  /** Each batch element's length, where padding is left out (--key-lengths or the file's key_lengths). */
  keyLengths?: number[];
}

/** The --json document (its field names are a contract). */
export interface InspectResult {
  tool: 'scaledot inspect';
  version: string;
  /** The scale used; null only when it was not given and the layers' head dims differ (each layer then used 1/√its headDim). */
  scale: number | null;
  layout: Layout;
  causal: boolean;
  inputs: LayerSummary[];
  heads: HeadFigures[];
  findings: Finding[];
}

/** A layer as named; `packed` where q and k are one fused qkv tensor (then q = k = it). */
type NamedLayer = LayerInput & { lengths?: StoredTensor; packed?: boolean };

interface PlannedLayer extends LayerSummary {
  input: NamedLayer;
  /** Where K starts inside a packed qkv's values. */
  kOffset: number;
  qShape: HeadsShape;
  kShape: HeadsShape;
}

/** The layers named by the files and --q/--k, by name only: no tensor is read. */
export async function resolveLayers(opts: InspectOptions): Promise<NamedLayer[]> {
  if (opts.qkv !== undefined) {
    if (opts.q !== undefined || opts.k !== undefined) throw new ScaledotError('E_OPTION', 'inspect: --qkv is a fused tensor of q, k and v; give it instead of --q and --k, not with them');
    const listed: { file: string; tensors: StoredTensor[] }[] = [];
    for (const file of opts.files.length > 0 ? opts.files : [opts.qkv]) listed.push({ file, tensors: await listTensors(file) });
    if (opts.files.length === 0 && listed[0].tensors.length !== 1) throw new ScaledotError('E_ARG', `inspect: --qkv ${opts.qkv} holds ${listed[0].tensors.length} tensors; give the file as an argument and --qkv NAME`);
    const found = opts.files.length > 0 ? findPacked(listed, opts.qkv) : [{ layer: fileLayerName(opts.qkv), qkv: listed[0].tensors[0] }];
    return found.map(({ layer, qkv }) => ({ layer, q: qkv, k: qkv, packed: true, lengths: listed.find((l) => l.file === qkv.file)?.tensors.find((t) => t.name === KEY_LENGTHS_TENSOR) }));
  }
  if ((opts.q === undefined) !== (opts.k === undefined)) throw new ScaledotError('E_OPTION', 'inspect: --q and --k go together; give both or neither');
  if (opts.files.length === 0) {
    if (opts.q === undefined || opts.k === undefined) throw new ScaledotError('E_OPTION', 'inspect: give a file (.safetensors, .npz) or --q FILE --k FILE (.npy)');
    const single = async (path: string, flag: string): Promise<StoredTensor> => {
      const tensors = await listTensors(path);
      if (tensors.length !== 1) throw new ScaledotError('E_ARG', `inspect: ${flag} ${path} holds ${tensors.length} tensors; name one with ${flag} NAME and give the file as an argument`);
      return tensors[0];
    };
    return [{ layer: fileLayerName(opts.q), q: await single(opts.q, '--q'), k: await single(opts.k, '--k') }];
  }
  // A .npy holds one tensor, so positional .npy files cannot pair: say which flags take them.
  const npys = opts.files.filter((file) => fileFormat(file) === 'npy');
  if (npys.length > 0 && opts.q === undefined) {
    const hint = npys.length === 2 ? `--q ${npys[0]} --k ${npys[1]}` : '--q Q.npy --k K.npy';
    throw new ScaledotError('E_ARG', `inspect: ${npys.join(' and ')} ${npys.length === 1 ? 'is a .npy, which holds' : 'are .npy files, each holding'} one tensor; give a query and a key as ${hint}`);
  }
  const listed = [];
  for (const file of opts.files) listed.push({ file, tensors: await listTensors(file) });
  if (opts.q !== undefined && opts.k !== undefined) {
    const lengths = listed.length === 1 ? listed[0].tensors.find((t) => t.name === KEY_LENGTHS_TENSOR) : undefined;
    return [{ ...pairByNames(listed, opts.q, opts.k), lengths }];
  }
  const layers: NamedLayer[] = [];
  for (const { file, tensors } of listed) {
    const lengths = tensors.find((t) => t.name === KEY_LENGTHS_TENSOR);
    const found = pairTensors(file, tensors).map((l) => ({ ...l, lengths }));
    if (found.length === 0) {
      throw new ScaledotError('E_ARG', `inspect: ${file} holds no Q/K pair by name (PREFIX.q and PREFIX.k, or query/key, q_proj/k_proj, after . / _); name them with --q NAME --k NAME`);
    }
    layers.push(...found);
  }
  return layers;
}

/** Reads every layer's headers and checks shapes, dtypes and options before any values are read. */
async function plan(opts: InspectOptions, layers: NamedLayer[]): Promise<PlannedLayer[]> {
  const given = opts.keyLengths === undefined ? undefined : readNpyNumbers(opts.keyLengths, `inspect: --key-lengths ${opts.keyLengths}`);
  const seen = new Map<string, NamedLayer>();
  const planned: PlannedLayer[] = [];
  for (const input of layers) {
    const other = seen.get(input.layer);
    if (other !== undefined && other.q.file === input.q.file) {
      throw new ScaledotError('E_ARG', `inspect: ${input.q.file} pairs two Q/K sets as layer ${input.layer} (${other.q.name}/${other.k.name} and ${input.q.name}/${input.k.name}); name one with --q NAME --k NAME`);
    }
    if (other !== undefined) throw new ScaledotError('E_ARG', `inspect: layer ${input.layer} is in both ${other.q.file} and ${input.q.file}; give the files one at a time`);
    seen.set(input.layer, input);
    const describe = async (t: StoredTensor, role: 'Q' | 'K', packed = false): Promise<[TensorInput, HeadsShape]> => {
      const h = await t.header();
      const what = `${t.file}: tensor ${t.name} (${role})`;
      if (h.dtype === null) throw new ScaledotError('E_DTYPE', `inspect: ${what} has dtype ${h.fileDType}; expected a float: F64, F32, F16, BF16 (safetensors) or <f8, <f4, <f2 (NumPy)`);
      // K's heads default to Q's only where they must be given (rank 3); a rank-4 K says its own (GQA).
      const heads = role === 'Q' ? opts.heads : opts.kvHeads ?? (h.shape.length === 3 ? opts.heads : undefined);
      const input = { file: t.file, name: t.name, dtype: h.fileDType, shape: h.shape };
      if (packed) return [input, null as unknown as HeadsShape]; // split by packedShapes
      const shape = headsShape(`inspect: ${what}`, h.shape, opts.layout, heads, role === 'Q' ? '--heads' : opts.kvHeads === undefined ? '--kv-heads (default --heads)' : '--kv-heads');
      return [input, shape];
    };
    let [q, qShape] = await describe(input.q, 'Q', input.packed);
    let [k, kShape] = [q, qShape];
    let kOffset = 0;
    if (input.packed) ({ q: qShape, k: kShape, kOffset } = packedShapes(`inspect: ${q.file}: tensor ${q.name} (--qkv)`, q.shape, opts.heads, opts.kvHeads));
    else [k, kShape] = await describe(input.k, 'K');
    checkPair(input.layer, `${q.file}: ${q.name} (Q)`, `${k.file}: ${k.name} (K)`, qShape, kShape, opts.causal);
    const stored = given ?? (input.lengths === undefined ? undefined : await readLengthsTensor(input.lengths));
    const where = given !== undefined ? `--key-lengths ${opts.keyLengths}` : `${input.lengths?.file}: tensor ${KEY_LENGTHS_TENSOR}`;
    const keyLengths = stored === undefined ? undefined : checkLengths(stored, where, input.layer, qShape.batch, kShape.length);
    // A pre-scaled q carries its scale: the rest of it (--scale) defaults to 1, not 1/√d.
    const scale = opts.qPrescaled !== undefined ? opts.qPrescaled * (opts.scale ?? 1) : opts.scale ?? 1 / Math.sqrt(qShape.dim);
    planned.push({
      layer: input.layer, q, k, heads: qShape.heads, kvHeads: kShape.heads, headDim: qShape.dim,
      scale, ...(opts.qPrescaled !== undefined ? { qPrescaled: opts.qPrescaled } : {}), ...(keyLengths !== undefined ? { keyLengths } : {}), input, qShape, kShape, kOffset,
    });
  }
  // Depth order: layer names sorted with their numbers read as numbers (layers.10 after layers.9).
  const collator = new Intl.Collator('en', { numeric: true });
  return planned.sort((a, b) => collator.compare(a.layer, b.layer));
}

export function checkInspectOptions(opts: InspectOptions): void {
  for (const [flag, v] of [['--heads', opts.heads], ['--kv-heads', opts.kvHeads]] as const) {
    if (v !== undefined && !(Number.isSafeInteger(v) && v > 0)) throw new ScaledotError('E_OPTION', `inspect: ${flag} is ${v}; expected a positive integer`);
  }
  // A typed 1e400 arrives as Infinity: say it is past float64's range rather than echo a value nobody typed.
  if (opts.scale === Infinity || opts.scale === -Infinity) {
    throw new ScaledotError('E_OPTION', `inspect: --scale is past float64's range (±1.8e308), so it reads as ${opts.scale}; expected a finite number > 0`);
  }
  if (opts.scale !== undefined && !(Number.isFinite(opts.scale) && opts.scale > 0)) {
    throw new ScaledotError('E_OPTION', `inspect: --scale is ${opts.scale}; expected a finite number > 0`);
  }
  if (opts.qPrescaled !== undefined && !(Number.isFinite(opts.qPrescaled) && opts.qPrescaled > 0)) {
    throw new ScaledotError('E_OPTION', `inspect: --q-prescaled is ${opts.qPrescaled}; expected the finite factor > 0 that q was multiplied by`);
  }
}

/**
 * Inspects every layer: headers and shapes first (bad input fails before any
 * values are read), then one layer at a time, so memory holds one Q/K pair.
 */
export async function inspect(opts: InspectOptions, version: string): Promise<InspectResult> {
  checkInspectOptions(opts);
  const layers = await plan(opts, await resolveLayers(opts));
  const sample = opts.sample ?? 0;
  for (const l of layers) {
    if (!(Number.isSafeInteger(sample) && sample >= 0 && sample < l.qShape.batch)) {
      throw new ScaledotError('E_OPTION', `inspect: --sample is ${sample}; layer ${l.layer} has a batch of ${l.qShape.batch}, so expected an integer from 0 to ${l.qShape.batch - 1}`);
    }
  }
  const heads: HeadFigures[] = [];
  const findings: Finding[] = [];
  for (const [done, layer] of layers.entries()) {
    const stored = await layer.input.q.read();
    let qData = stored;
    if (layer.qPrescaled !== undefined) qData = Float64Array.from(qData, (x) => x / (layer.qPrescaled as number)); // the raw q, before its scale
    const q = { ...layer.qShape, data: qData };
    const kData = layer.input.packed ? stored.subarray(layer.kOffset) : await layer.input.k.read();
    const k = { ...layer.kShape, data: kData };
    for (let h = 0; h < layer.heads; h++) {
      opts.onProgress?.({ layerIndex: done, layers: layers.length, layer: layer.layer, head: h, heads: layer.heads });
      const outcome = analyzeHead(layer.layer, q, k, h, layer.scale, opts.causal, undefined, layer.keyLengths);
      if (outcome.kind === 'figures') heads.push(outcome.figures);
      if (outcome.kind === 'figures' && opts.maps !== undefined) opts.maps.push(attentionMap(layer.layer, q, k, h, sample, layer.scale, opts.causal, undefined, layer.keyLengths));
      findings.push(...headFindings(outcome));
    }
  }
  const scales = new Set(layers.map((l) => l.scale));
  return {
    tool: 'scaledot inspect',
    version,
    scale: scales.size === 1 ? [...scales][0] : null,
    layout: opts.layout,
    causal: opts.causal,
    inputs: layers.map(({ layer, q, k, heads: hq, kvHeads, headDim, scale, qPrescaled, keyLengths }) => ({
      layer, q, k, heads: hq, kvHeads, headDim, scale, ...(qPrescaled !== undefined ? { qPrescaled } : {}), ...(keyLengths !== undefined ? { keyLengths } : {}),
    })),
    heads,
    findings,
  };
}
