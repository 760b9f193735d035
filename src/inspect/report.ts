import { renderSvg } from '../lab/render-svg.js';
import { headHeatmap, logitStdByDepth } from './charts.js';
import { FINDINGS_CSV, HEADS_CSV, findingsCsv, headsCsv } from './csv.js';
import { renderInspectHtml } from './html.js';
import type { InspectResult } from './run.js';
import { chosenHead, largeMapSvg, mapGridSvg, mapsCaption } from './map-svg.js';
import type { AttentionMap } from './maps.js';
import { REPORT_HTML } from './write.js';

/** The --out files: the page (charts as inline SVG, rendered by the lab's renderer; attention maps drawn directly) and the two CSVs. */
export async function reportFiles(r: InspectResult, maps: readonly AttentionMap[] = []): Promise<Record<string, string>> {
  const heatmap = r.heads.length > 0 ? await renderSvg(headHeatmap(r.heads), 'heads') : '<p>No head to show.</p>';
  const depth = r.heads.length > 0 ? await renderSvg(logitStdByDepth(r), 'depth') : '';
  const chosen = chosenHead(maps, r.heads);
  const attention = chosen === undefined
    ? '<p>No attention map: no head had figures to draw.</p>'
    : `<p class="small">${mapsCaption(maps)}</p>
<h3>Layer ${chosen.layer} · head ${chosen.head}</h3>
<p class="small">The head with the largest share of saturated rows (the first head where none saturates).</p>
<figure>${largeMapSvg(chosen)}</figure>
<h3>Every layer × head</h3>
<p class="small">Rows: layers in depth order (0 = first, as in the Layers section; hover for the name); columns: heads.</p>
<figure>${mapGridSvg(maps, r.inputs.map((i) => i.layer))}</figure>`;
  return {
    [REPORT_HTML]: renderInspectHtml(r, { heatmap, depth, attention }),
    [HEADS_CSV]: headsCsv(r.heads),
    [FINDINGS_CSV]: findingsCsv(r.findings),
  };
}
