/**
 * Vega-Lite spec → SVG text, in Node, without a browser or canvas (vega's
 * headless renderer 'none' + toSVG). Kept apart from charts.ts so the web page
 * can import the specs without pulling in this Node-side rendering.
 */
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';
import type { ChartSpec } from './types.js';

/**
 * Renders one chart. `idPrefix` makes the SVG's element ids (clip paths,
 * gradients) unique, because several charts inlined in one HTML page would
 * otherwise share ids and clip each other's marks.
 */
export async function renderSvg(spec: ChartSpec, idPrefix: string): Promise<string> {
  // Silent: vega-lite's notes (e.g. that two legends were merged) would otherwise land in the CLI's output.
  const logger = vega.logger(vega.None);
  const compiled = vegaLite.compile(spec as unknown as vegaLite.TopLevelSpec, { logger }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logLevel: vega.None });
  try {
    const svg = await view.toSVG();
    return svg.replace(/id="([^"]+)"/g, `id="${idPrefix}-$1"`).replace(/url\(#([^)]+)\)/g, `url(#${idPrefix}-$1)`);
  } finally {
    view.finalize();
  }
}
