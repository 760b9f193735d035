import { renderSvg } from '../lab/render-svg.js';
import { headHeatmap, logitStdByDepth } from './charts.js';
import { FINDINGS_CSV, HEADS_CSV, findingsCsv, headsCsv } from './csv.js';
import { renderInspectHtml } from './html.js';
import type { InspectResult } from './run.js';
import { REPORT_HTML } from './write.js';

/** The --out files: the page (charts as inline SVG, rendered by the lab's renderer) and the two CSVs. */
export async function reportFiles(r: InspectResult): Promise<Record<string, string>> {
  const heatmap = r.heads.length > 0 ? await renderSvg(headHeatmap(r.heads), 'heads') : '<p>No head to show.</p>';
  const depth = r.heads.length > 0 ? await renderSvg(logitStdByDepth(r), 'depth') : '';
  return {
    [REPORT_HTML]: renderInspectHtml(r, { heatmap, depth }),
    [HEADS_CSV]: headsCsv(r.heads),
    [FINDINGS_CSV]: findingsCsv(r.findings),
  };
}
