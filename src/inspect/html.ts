import type { HeadFigures } from './figures.js';
import type { InspectResult } from './run.js';
import { cell } from './table.js';
import { FINDINGS_CSV, HEADS_CSV } from './csv.js';

/** The tag by which --out recognises a page it wrote (and may replace). */
export const HTML_MARKER = '<meta name="generator" content="scaledot inspect">';

const COLUMNS: [string, (h: HeadFigures) => number | string][] = [
  ['logitStd', (h) => h.logitStd],
  ['logitMax', (h) => h.logitMax],
  ['entropyRatioMean', (h) => h.entropyRatioMean],
  ['maxProbMean', (h) => h.maxProbMean],
  ['saturatedShare', (h) => h.saturatedShare],
  ['jacobianNormMedian', (h) => h.jacobianNormMedian],
  ['firstKeyMass', (h) => h.firstKeyMass],
  ['topKey', (h) => String(h.topKey.position)],
  ['topKey mass', (h) => h.topKey.mass],
  ['fp16 scoreMaxAbs', (h) => h.fp16.scoreMaxAbs],
  ['fp16 overflowShare', (h) => h.fp16.overflowShare],
  ['saturated at 1/√d', (h) => h.whatIf.rsqrt.saturatedShare],
  ['at 1/d', (h) => h.whatIf.inverse.saturatedShare],
  ['QK-norm', (h) => h.whatIf.qkNorm.saturatedShare],
  ['softcap 50', (h) => h.whatIf.softcap50.saturatedShare],
];

/** The report page from the result and the charts' SVG: every number on it is read from the result. */
export function renderInspectHtml(r: InspectResult, charts: { heatmap: string; depth: string; attention: string }): string {
  const findings = r.findings.length === 0
    ? '<p>Nothing stands out: no saturated head, no attention sink, no float16 risk, no NaN or Infinity.</p>'
    : `<ul>${r.findings.map((f) => `<li><strong>${esc(f.kind)}</strong> ${esc(f.text)}</li>`).join('\n')}</ul>`;
  const layers = r.inputs.map((input) => {
    const rows = r.heads.filter((h) => h.layer === input.layer)
      .map((h) => `<tr><td>${h.head}</td>${COLUMNS.map(([, get]) => `<td class="num">${cell(get(h))}</td>`).join('')}</tr>`).join('\n');
    return `<section>
<h3>${esc(input.layer)}</h3>
<p class="meta">Q ${esc(input.q.file)} · ${esc(input.q.name)} · ${esc(input.q.dtype)} [${input.q.shape.join(', ')}] — K ${esc(input.k.file)} · ${esc(input.k.name)} · ${esc(input.k.dtype)} [${input.k.shape.join(', ')}] — ${input.heads} query heads, ${input.kvHeads} key heads, headDim ${input.headDim}, scale ${cell(input.scale)}</p>
<div class="scroll"><table><thead><tr><th>head</th>${COLUMNS.map(([name]) => `<th class="num">${breakable(name)}</th>`).join('')}</tr></thead>
<tbody>
${rows}
</tbody></table></div>
</section>`;
  }).join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
${HTML_MARKER}
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>scaledot inspect — attention figures per head</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<p class="kicker">scaledot inspect · report</p>
<h1>Attention figures per layer and head</h1>
<p class="meta">scaledot ${esc(r.version)} · ${'model' in r ? `logits, scale and masks as ${esc(String(r.model))} computes them` : `scale ${r.scale === null ? '1/√headDim per layer' : cell(r.scale)} · ${r.causal ? 'causal (bottom-right)' : 'no mask'} · layout ${r.layout}`} · ${r.inputs.length} layer(s), ${r.heads.length} head(s) reported · figures in <code>${HEADS_CSV}</code> and <code>${FINDINGS_CSV}</code></p>
<h2>Findings</h2>
${findings}
<h2>Charts</h2>
<div class="charts"><figure>${charts.depth}</figure><figure>${charts.heatmap}</figure></div>
<h2>Attention maps</h2>
${charts.attention}
<h2>Layers</h2>
<p class="small">Rows with a single unmasked key are left out of the row figures. The last four columns: the share of saturated rows (max p &gt; 0.99) if the logits were scaled by 1/√d, by 1/d, QK-normed, or soft-capped at 50.</p>
${layers}
</main>
</body>
</html>
`;
}

/** A header that may wrap between the words of its camelCase name (entropy·Ratio·Mean), so the 15 columns fit 1280 px. */
function breakable(name: string): string {
  return esc(name).replace(/([a-z])([A-Z])/g, '$1<wbr>$2');
}

function esc(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

const STYLE = `
body { margin: 0; background: #fbfbfd; color: #1d2330; font: 15px/1.5 Helvetica, Arial, sans-serif; }
main { max-width: 1240px; margin: 0 auto; padding: 32px; background: #fff; }
h1 { font: 600 28px/1.2 Georgia, serif; margin: 4px 0 10px; }
h2 { font-size: 20px; margin: 28px 0 8px; border-top: 1px solid #dfe3ea; padding-top: 16px; }
h3 { font-size: 16px; margin: 20px 0 4px; }
.kicker { font-weight: 600; font-size: 12px; letter-spacing: .12em; text-transform: uppercase; color: #1f5fa8; margin: 0; }
.meta, .small { font-size: 12px; color: #5b6473; }
table { border-collapse: collapse; width: 100%; font-size: 12px; margin: 6px 0; }
th { text-align: left; color: #5b6473; border-bottom: 2px solid #dfe3ea; padding: 4px 6px; }
td { border-bottom: 1px solid #dfe3ea; padding: 4px 6px; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
th.num { white-space: normal; vertical-align: bottom; }
.charts { display: flex; flex-wrap: wrap; gap: 20px; align-items: flex-start; }
figure, .scroll { margin: 0; max-width: 100%; overflow-x: auto; }
.meta { overflow-wrap: anywhere; }
@media (max-width: 600px) { main { padding: 16px 12px; } h1 { font-size: 22px; } }
li { margin: 4px 0; }
code { font: 12px Menlo, Consolas, monospace; background: #f2f4f7; padding: 1px 4px; }
`;
