import type { HeadFigures } from './figures.js';
import type { InspectResult } from './run.js';

const COLUMNS: [string, (h: HeadFigures) => number | string][] = [
  ['logitStd', (h) => h.logitStd],
  ['logitMax', (h) => h.logitMax],
  ['entropy/ln n', (h) => h.entropyRatioMean],
  ['max p', (h) => h.maxProbMean],
  ['sat', (h) => h.saturatedShare],
  ['|J| med', (h) => h.jacobianNormMedian],
  ['key0', (h) => h.firstKeyMass],
  // The key taking the most mean weight, and that weight: a sink that is not key 0 (a separator, padding).
  ['top key', (h) => String(h.topKey.position)],
  ['top mass', (h) => h.topKey.mass],
  ['max|qk|', (h) => h.fp16.scoreMaxAbs],
  ['fp16 ovf', (h) => h.fp16.overflowShare],
  ['sat 1/d', (h) => h.whatIf.inverse.saturatedShare],
  ['sat qkN', (h) => h.whatIf.qkNorm.saturatedShare],
  ['sat cap', (h) => h.whatIf.softcap50.saturatedShare],
];

export function cell(x: number | string): string {
  if (typeof x === 'string') return x;
  if (!Number.isFinite(x)) return Number.isNaN(x) ? '—' : String(x);
  return Math.abs(x) >= 1e4 || (x !== 0 && Math.abs(x) < 1e-3) ? x.toExponential(2) : x.toFixed(4);
}

/** The figures as a plain table for people (stdout), one block per layer, then the findings. */
export function formatTable(r: InspectResult): string {
  const lines: string[] = [];
  // From an .onnx model each layer's scale and masks are the graph's own (inspect-onnx.ts).
  const setting = 'model' in r ? `logits, scale and masks as ${String(r.model)} computes them` : `scale ${r.scale === null ? '1/sqrt(headDim) per layer' : cell(r.scale)} · ${r.causal ? 'causal' : 'no mask'}`;
  lines.push(`scaledot inspect ${r.version} · ${setting} · ${r.inputs.length} layer(s), ${r.heads.length} head(s) reported`);
  for (const input of r.inputs) {
    lines.push('');
    lines.push(`${input.layer}  (Q ${input.q.dtype} [${input.q.shape.join(',')}], K ${input.k.dtype} [${input.k.shape.join(',')}], ${input.heads}/${input.kvHeads} heads, headDim ${input.headDim}, scale ${cell(input.scale)})`);
    lines.push(['head'.padStart(5), ...COLUMNS.map(([name]) => name.padStart(13))].join(''));
    for (const h of r.heads.filter((x) => x.layer === input.layer)) {
      lines.push([String(h.head).padStart(5), ...COLUMNS.map(([, get]) => cell(get(h)).padStart(13))].join(''));
    }
  }
  lines.push('');
  if (r.findings.length === 0) lines.push('findings: none (no saturated, sink, float16-risk or non-finite head)');
  else {
    lines.push('findings:');
    for (const f of r.findings) lines.push(`  - ${f.text}`);
  }
  return `${lines.join('\n')}\n`;
}
