import { join } from 'node:path';
import type { Command } from 'commander';
import {
  LAYOUTS, REPORT_FILE_NAMES, checkInspectOptions, checkOutDir, formatTable, inspect, reportFiles, writeReport,
  type InspectOptions, type Layout,
} from '../inspect/index.js';
import type { AttentionMap } from '../inspect/maps.js';
import { outputFileProblem, writeFileWhole } from '../node/output-file.js';
import { ScaledotError } from '../tensor/index.js';
import { isOnnxModel, onnxPlan, runOnnx, type OnnxFlags } from './inspect-onnx.js';
import { refuseOverlappingPaths, type NamedPath } from './output-paths.js';
import { packageVersion } from './version.js';

interface InspectFlags extends OnnxFlags {
  q?: string;
  k?: string;
  layout: string;
  heads?: string;
  kvHeads?: string;
  scale?: string;
  causal?: boolean;
  qPrescaled?: string;
  keyLengths?: string;
  qkv?: string;
  json?: string;
  out?: string;
  sample?: string;
}

function positiveInt(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw.trim()) || Number(raw) <= 0) throw new ScaledotError('E_OPTION', `inspect: ${flag} is ${JSON.stringify(raw)}; expected a positive integer`);
  return Number(raw);
}

export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description("Report how a model's own attention behaves, per layer and head, from its Q and K (.safetensors, .npy, .npz) or by running it (.onnx).")
    .argument('[files...]', '.safetensors or .npz files whose Q/K pairs are found by name (PREFIX.q + PREFIX.k, query/key, q_proj/k_proj), or one MODEL.onnx run on --input')
    .option('--q <name>', 'the query: a tensor name in the files, or with no files a .npy file')
    .option('--k <name>', 'the key: a tensor name in the files, or with no files a .npy file')
    .option('--layout <layout>', `rank-4 layout: ${LAYOUTS.join(' | ')} (batch, heads, length, headDim or batch, length, heads, headDim)`, 'bhld')
    .option('--heads <h>', "Q's heads, to split rank-3 (batch, length, heads*headDim) tensors")
    .option('--kv-heads <h>', "K's heads where K has fewer than Q (GQA; default --heads)")
    .option('--scale <x>', 'the scale of q.k (default 1/sqrt(headDim))')
    .option('--causal', 'mask key j > i + S - L (bottom-right, as the library)')
    .option('--qkv <name>', 'a fused q|k|v tensor (timm qkv, GPT-2 c_attn, in_proj): a name or name suffix in the files, or with no files a .npy; needs --heads (docs/inspect.md: packing order)')
    .option('--q-prescaled <s>', 'q was saved already multiplied by s (its scale): raw q.k is q.k / s, and --scale (default 1) is what the model applies besides')
    .option('--key-lengths <file>', "a .npy of each batch element's length: later keys and queries are padding, left out (default: a file's key_lengths tensor)")
    .option('--input <file>', 'MODEL.onnx: a model input as .npy, NAME=FILE.npy where the model has several (repeat for each)', (v: string, all: string[]) => [...all, v], [])
    .option('--runtime <name>', 'MODEL.onnx: onnxruntime-node or onnxruntime-web (default: the first installed)')
    .option('--capture-budget <MiB>', "MODEL.onnx: the captured tensors held at once; layers are run in groups that fit it (default 256)")
    .option('--json <file>', 'write the figures as JSON (- for stdout)')
    .option('--out <dir>', 'write an HTML report and CSV files into this directory')
    .option('--sample <n>', "--out: the batch element whose attention maps the report draws (default 0)")
    .action(async (files: string[], flags: InspectFlags) => runInspect(files, flags));
}

async function runInspect(files: string[], flags: InspectFlags): Promise<void> {
  if (!(LAYOUTS as readonly string[]).includes(flags.layout)) {
    throw new ScaledotError('E_OPTION', `inspect: --layout is ${JSON.stringify(flags.layout)}; expected one of ${LAYOUTS.join(', ')}`);
  }
  const scale = flags.scale === undefined ? undefined : Number(flags.scale);
  if (flags.scale !== undefined && (flags.scale.trim() === '' || Number.isNaN(scale))) throw new ScaledotError('E_OPTION', `inspect: --scale is ${JSON.stringify(flags.scale)}; expected a number`);
  const qPrescaled = flags.qPrescaled === undefined ? undefined : Number(flags.qPrescaled);
  if (flags.qPrescaled !== undefined && (flags.qPrescaled.trim() === '' || Number.isNaN(qPrescaled))) throw new ScaledotError('E_OPTION', `inspect: --q-prescaled is ${JSON.stringify(flags.qPrescaled)}; expected a number`);
  if (flags.sample !== undefined && !/^\d+$/.test(flags.sample.trim())) throw new ScaledotError('E_OPTION', `inspect: --sample is ${JSON.stringify(flags.sample)}; expected a batch element's index, an integer from 0`);
  const maps: AttentionMap[] = [];
  const tty = process.stderr.isTTY === true;
  const opts: InspectOptions = {
    files, q: flags.q, k: flags.k, layout: flags.layout as Layout,
    heads: positiveInt('--heads', flags.heads), kvHeads: positiveInt('--kv-heads', flags.kvHeads), scale, causal: flags.causal === true,
    qPrescaled, keyLengths: flags.keyLengths, qkv: flags.qkv,
    sample: flags.sample === undefined ? undefined : Number(flags.sample), maps: flags.out !== undefined ? maps : undefined,
    onProgress: tty ? (p) => process.stderr.write(`\rinspect: layer ${p.layerIndex + 1}/${p.layers} ${p.layer} · head ${p.head + 1}/${p.heads}`.slice(0, 79).padEnd(80)) : undefined,
  };
  const onnx = isOnnxModel(files) ? onnxPlan(files, { ...flags, layout: flags.layout }) : null;
  if (onnx === null && (flags.input ?? []).length > 0) throw new ScaledotError('E_OPTION', 'inspect: --input feeds an .onnx model; give the model as the file');
  if (onnx === null && flags.captureBudget !== undefined) throw new ScaledotError('E_OPTION', 'inspect: --capture-budget bounds what an .onnx run captures; tensor files are read one layer at a time already');
  if (onnx === null) checkInspectOptions(opts);
  refuseOverlappingPaths('inspect', outputPaths(flags), onnx?.paths ?? inputPaths(files, flags));
  // Outputs are checked before any tensor is read, and written only once every figure is in.
  const jsonProblem = flags.json !== undefined && flags.json !== '-' ? outputFileProblem(flags.json) : null;
  if (jsonProblem !== null) throw new ScaledotError('E_IO', `inspect: --json ${flags.json} ${jsonProblem === 'is a folder' ? 'is a directory; give a file' : `cannot be written: ${jsonProblem}`}`);
  if (flags.out !== undefined) checkOutDir(flags.out);
  const result = onnx !== null ? await runOnnx(onnx, packageVersion(), { sample: opts.sample, maps: opts.maps, onProgress: opts.onProgress }) : await inspect(opts, packageVersion());
  if (tty) process.stderr.write(`\r${' '.repeat(80)}\r`);
  if (flags.json === '-') process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else if (flags.json !== undefined) writeFileWhole(flags.json, `${JSON.stringify(result, null, 2)}\n`, 'inspect: --json');
  if (flags.out !== undefined) writeReport(flags.out, await reportFiles(result, maps));
  if (flags.json === undefined && flags.out === undefined) process.stdout.write(formatTable(result));
  else if (flags.json !== '-') process.stderr.write(`inspect: ${result.heads.length} head(s) of ${result.inputs.length} layer(s), ${result.findings.length} finding(s)${flags.json ? `; JSON in ${flags.json}` : ''}${flags.out ? `; report in ${flags.out}` : ''}\n`);
}

/** The files inspect reads: the positional files, or with none, the .npy files --q and --k name. */
function inputPaths(files: readonly string[], flags: InspectFlags): NamedPath[] {
  const lengths = flags.keyLengths === undefined ? [] : [{ flag: '--key-lengths', path: flags.keyLengths }];
  if (files.length > 0) return [...files.map((path) => ({ flag: 'file', path })), ...lengths];
  return [...[['--q', flags.q], ['--k', flags.k], ['--qkv', flags.qkv]].flatMap(([flag, path]) => (path === undefined ? [] : [{ flag: flag as string, path }])), ...lengths];
}

/** The files inspect writes: --json (unless stdout) and the report's files inside --out. */
function outputPaths(flags: InspectFlags): NamedPath[] {
  const paths: NamedPath[] = [];
  if (flags.json !== undefined && flags.json !== '-') paths.push({ flag: '--json', path: flags.json });
  if (flags.out !== undefined) for (const name of REPORT_FILE_NAMES) paths.push({ flag: '--out', path: join(flags.out, name) });
  return paths;
}
