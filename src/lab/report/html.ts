import type { Check, ClaimResult } from '../experiment.js';
import { fmt } from '../experiment.js';
import { selectExperiments, type LabResults } from '../run.js';
import type { Verdict } from '../stats.js';

/**
 * The report page, from results.json and the charts' SVG only: every number
 * on it is read from the results, and the page needs no script and no network
 * (styles inline, charts inline SVG).
 */
export function renderHtml(results: LabResults, chartSvgs: ReadonlyMap<string, readonly string[]>): string {
  const { claims } = results;
  const count = (v: Verdict): number => claims.filter((c) => c.verdict === v).length;
  const tally = [`${count('holds')} hold`, `${count('fails')} fail`, `${count('inconclusive')} inconclusive`].join(', ');
  const sections = claims.map((claim) => claimSection(claim, chartSvgs.get(claim.id) ?? [])).join('\n');
  const ranAll = selectExperiments(results.mode).map((e) => e.id).join() === claims.map((c) => c.id).join();
  const only = ranAll ? '' : ` --only ${claims.map((c) => c.id).join(',')}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Why attention divides by √d_k — scaledot lab report</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<header>
  <p class="kicker">scaledot lab · report</p>
  <h1>Why attention divides by √d<sub>k</sub>, measured</h1>
  <p class="lede">Each claim below is a link in the usual argument for the scale in
  softmax(QKᵀ/√d<sub>k</sub>)V. Every figure was computed by scaledot in this run, every
  prediction comes from the theory stated beside it, and every verdict compares the two
  within a tolerance taken from the data's own sampling error.
  Of ${claims.length} claim${claims.length === 1 ? '' : 's'}: ${esc(tally)}.</p>
  <p class="meta">scaledot ${esc(results.version)} · seed ${results.seed} · ${esc(results.mode)} run · ${esc(results.generatedAt)}</p>
</header>

<section class="summary">
<h2>Summary</h2>
<div class="table-wrap"><table>
<thead><tr><th>Claim</th><th>Headline check</th><th class="num">Measured</th><th class="num">Predicted</th><th class="num">Tolerance</th><th>Checks</th><th>Verdict</th></tr></thead>
<tbody>
${claims.map(summaryRow).join('\n')}
</tbody>
</table></div>
<p class="rule"><strong>Decision rule.</strong> ${esc(results.verdictRule)}</p>
</section>

${sections}

<footer>
<h2>Reproduce</h2>
<p>Run <code>npm start -- --seed ${results.seed}${results.mode === 'quick' ? ' --quick' : results.mode === 'full' ? ' --full' : ''}${only}</code>
in a clone of scaledot (<code>npx scaledot lab …</code> once built; plain <code>npm start</code> for the defaults). The same seed gives the same <code>results.json</code>, byte for byte apart from
<code>generatedAt</code>. The figures behind each chart are in the CSV file named in its section.</p>
<p class="meta">Settings: d<sub>k</sub> ∈ {${results.settings.dims.join(', ')}}, n ∈ {${results.settings.keyCounts.join(', ')}}.</p>
</footer>
</main>
</body>
</html>
`;
}

function summaryRow(claim: ClaimResult): string {
  const head = claim.checks[0];
  const held = claim.checks.filter((c) => c.verdict === 'holds').length;
  return `<tr><td><a href="#${claim.id}">${claim.id}</a> ${esc(claim.title)}</td><td class="small">${esc(head.quantity)}</td>` +
    `<td class="num">${fmt(claim.measured)}</td><td class="num">${fmt(claim.predicted)}</td><td class="num">± ${fmt(claim.tolerance)}</td>` +
    `<td class="num">${held}/${claim.checks.length} hold</td><td>${badge(claim.verdict)}</td></tr>`;
}

function claimSection(claim: ClaimResult, svgs: readonly string[]): string {
  const findings = claim.findings.map((f) => `<aside class="finding"><strong>Finding.</strong> ${esc(f)}</aside>`).join('\n');
  return `<section class="claim" id="${claim.id}">
<h2><span class="id">${claim.id}</span> ${esc(claim.title)} ${badge(claim.verdict)}</h2>
<p class="statement">${esc(claim.statement)}</p>
<p><strong>Theory.</strong> ${esc(claim.theory)}</p>
<div class="charts">${svgs.map((svg) => `<figure>${svg}</figure>`).join('\n')}</div>
<p><strong>What it means.</strong> ${esc(claim.meaning)}</p>
${findings}
<div class="table-wrap"><table class="checks">
<thead><tr><th>Check</th><th>Prediction</th><th class="num">Measured</th><th class="num">Predicted</th><th class="num">Tolerance</th><th class="num">Alternative</th><th>Verdict</th></tr></thead>
<tbody>
${claim.checks.map(checkRow).join('\n')}
</tbody>
</table></div>
<p class="meta">Figures: <code>${claim.id}-${claim.slug}.csv</code> · ${esc(parameterText(claim))} · ran in ${fmt(claim.seconds)} s</p>
</section>`;
}

/** How the predicted column reads for each side of a claim: a law, a bound, or an effect to clear. */
const SIDE_MARK: Record<Check['side'], string> = { equal: '', 'at-least': '≥ ', 'at-most': '≤ ', above: '> ', below: '< ' };

function checkRow(check: Check): string {
  const kind = check.kind === 'implementation' ? '<div class="small"><strong>implementation check</strong>: the library against a closed form; it can fail only through a bug</div>' : '';
  const reason = check.reason === null ? '' : `<div class="small">${esc(check.reason)}</div>`;
  return `<tr><td>${check.id}</td><td>${esc(check.statement)}<div class="small">${esc(check.quantity)}; tolerance: ${esc(check.toleranceBasis)}</div>${kind}</td>` +
    `<td class="num">${fmt(check.measured)}</td><td class="num">${SIDE_MARK[check.side]}${fmt(check.predicted)}</td><td class="num">± ${fmt(check.tolerance)}</td>` +
    `<td class="num">${check.alternative === null ? '—' : fmt(check.alternative)}</td><td>${badge(check.verdict)}${reason}</td></tr>`;
}

function parameterText(claim: ClaimResult): string {
  return Object.entries(claim.parameters)
    .map(([k, v]) => `${k} = ${Array.isArray(v) ? `{${v.join(', ')}}` : String(v)}`)
    .join('; ');
}

function badge(verdict: Verdict): string {
  return `<span class="verdict ${verdict}">${verdict}</span>`;
}

function esc(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

const STYLE = `
:root { --ink: #1d2330; --muted: #5b6473; --rule: #dfe3ea; --accent: #1f5fa8; --bg: #fbfbfd; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink); font: 16px/1.55 Georgia, 'Times New Roman', serif; }
main { max-width: 1120px; margin: 0 auto; padding: 40px 36px 64px; background: #fff; box-shadow: 0 0 0 1px var(--rule); }
h1 { font-size: 34px; line-height: 1.15; margin: 4px 0 14px; font-weight: 600; }
h2 { font: 600 22px/1.3 Helvetica, Arial, sans-serif; margin: 0 0 10px; }
.kicker { font: 600 12px Helvetica, Arial, sans-serif; letter-spacing: .12em; text-transform: uppercase; color: var(--accent); margin: 0; }
.lede { font-size: 18px; color: #2c3442; max-width: 860px; }
.meta { font: 12px/1.5 Helvetica, Arial, sans-serif; color: var(--muted); }
.small { font: 12px/1.4 Helvetica, Arial, sans-serif; color: var(--muted); }
section { margin-top: 36px; padding-top: 24px; border-top: 1px solid var(--rule); }
.claim .id { color: var(--accent); margin-right: 4px; }
.statement { font-size: 18px; font-style: italic; border-left: 3px solid var(--accent); padding: 2px 0 2px 14px; margin: 12px 0 16px; }
table { border-collapse: collapse; width: 100%; font: 13px/1.4 Helvetica, Arial, sans-serif; margin: 12px 0; }
th { text-align: left; font-weight: 600; color: var(--muted); border-bottom: 2px solid var(--rule); padding: 6px 8px; }
td { border-bottom: 1px solid var(--rule); padding: 6px 8px; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
a { color: var(--accent); text-decoration: none; }
.verdict { display: inline-block; font: 600 11px/1 Helvetica, Arial, sans-serif; text-transform: uppercase; letter-spacing: .06em; padding: 4px 7px; border-radius: 10px; vertical-align: middle; }
.verdict.holds { background: #e3f4ea; color: #17663a; }
.verdict.fails { background: #fbe4e6; color: #a3202e; }
.verdict.inconclusive { background: #fdf1dc; color: #8a5a00; }
h2 .verdict { margin-left: 8px; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(480px, 100%), 1fr)); gap: 14px 22px; margin: 14px 0; align-items: start; }
figure { margin: 0; }
figure svg { width: 100%; max-width: 560px; height: auto; }
.finding { background: #f3f6fb; border-left: 3px solid #6a4c93; padding: 10px 14px; margin: 12px 0; font-size: 15px; }
.rule { font-size: 13px; color: var(--muted); }
code { font: 13px Menlo, Consolas, monospace; background: #f2f4f7; padding: 1px 4px; border-radius: 3px; }
/* A phone reads the page without scrolling it sideways: wide tables scroll inside their own box. */
.table-wrap { overflow-x: auto; }
code { overflow-wrap: anywhere; }
@media (max-width: 600px) { main { padding: 20px 14px 40px; } h1 { font-size: 26px; } .statement, .lede { font-size: 16px; } }
footer { margin-top: 40px; padding-top: 20px; border-top: 1px solid var(--rule); }
`;
