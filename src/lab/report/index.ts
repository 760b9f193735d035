import { EXPERIMENTS } from '../experiments/index.js';
import { renderSvg } from '../render-svg.js';
import type { LabResults } from '../run.js';
import { toCsv } from './csv.js';
import { renderHtml } from './html.js';
import { resultsJson } from './json.js';
import type { ReportFile } from './write.js';

export { prepareReportDir, type PendingReport, type ReportFile } from './write.js';
export { toCsv } from './csv.js';
export { renderHtml } from './html.js';
export { resultsJson } from './json.js';

/** The report's files: index.html (charts rendered to inline SVG), results.json and one CSV per claim. */
export async function buildReportFiles(results: LabResults): Promise<ReportFile[]> {
  const svgs = new Map<string, string[]>();
  for (const claim of results.claims) {
    const experiment = EXPERIMENTS.find((e) => e.id === claim.id);
    const specs = experiment ? experiment.charts(claim) : [];
    const rendered: string[] = [];
    for (const [i, spec] of specs.entries()) rendered.push(await renderSvg(spec, `${claim.id.toLowerCase()}-${i}`));
    svgs.set(claim.id, rendered);
  }
  return [
    { name: 'index.html', content: renderHtml(results, svgs) },
    { name: 'results.json', content: resultsJson(results) },
    ...results.claims.map((claim) => ({ name: `${claim.id}-${claim.slug}.csv`, content: toCsv(claim.rows) })),
  ];
}
