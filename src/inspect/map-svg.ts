import type { HeadFigures } from './figures.js';
import { GRID_CELLS, MAP_CELLS, poolMap, type AttentionMap } from './maps.js';

/** Pixels of a small map in the grid, and of the large one's side at most. */
const SMALL = 48;
const LARGE = 384;
const EMPTY = '#e4e7ec';

/**
 * White (weight 0) to dark blue (the map's largest weight), every map on its own
 * range and by the square root: a causal map's first row holds a weight of 1,
 * which on a linear scale leaves every longer row near white.
 */
function shade(w: number, max: number): string {
  const t = max > 0 ? Math.sqrt(Math.min(1, w / max)) : 0;
  const mix = (a: number, b: number): number => Math.round(a + (b - a) * t);
  return `rgb(${mix(255, 8)},${mix(255, 48)},${mix(255, 107)})`;
}

function maxOf(map: AttentionMap): number {
  let max = 0;
  for (const w of map.weights) if (w > max) max = w;
  return max;
}

function range(start: number, block: number, end: number): string {
  const last = Math.min(start + block, end) - 1;
  return last === start ? String(start) : `${start}–${last}`;
}

/** One map's cells at (x, y), `px` wide; empty blocks (all masked or padding) keep the grey background. */
function cellsSvg(map: AttentionMap, x: number, y: number, px: number, titles: boolean): string {
  const w = px / map.cols;
  const h = px / map.rows;
  const max = maxOf(map);
  const out = [`<rect x="${x}" y="${y}" width="${px}" height="${px}" fill="${EMPTY}"/>`];
  for (let r = 0; r < map.rows; r++) {
    for (let c = 0; c < map.cols; c++) {
      const v = map.weights[r * map.cols + c];
      if (Number.isNaN(v)) continue;
      const rect = `<rect x="${+(x + c * w).toFixed(2)}" y="${+(y + r * h).toFixed(2)}" width="${+w.toFixed(2)}" height="${+h.toFixed(2)}" fill="${shade(v, max)}"`;
      out.push(titles
        ? `${rect}><title>q ${range(r * map.rowBlock, map.rowBlock, map.queries)} · k ${range(c * map.colBlock, map.colBlock, map.keys)}: ${v.toPrecision(6)}</title></rect>`
        : `${rect}/>`);
    }
  }
  return out.join('');
}

/** The head drawn large: the one with the largest share of saturated rows, or the first where none saturates. */
export function chosenHead(maps: readonly AttentionMap[], heads: readonly HeadFigures[]): AttentionMap | undefined {
  let best: HeadFigures | undefined;
  for (const h of heads) if (h.saturatedShare > (best?.saturatedShare ?? 0)) best = h;
  return (best === undefined ? undefined : maps.find((m) => m.layer === best.layer && m.head === best.head)) ?? maps[0];
}

/** Layers (rows, depth order) × heads (columns) of small maps, as BertViz's model view, without script. */
export function mapGridSvg(maps: readonly AttentionMap[], layers: readonly string[]): string {
  const heads = Math.max(...maps.map((m) => m.head + 1));
  const gap = 6;
  const left = 34;
  const top = 18;
  const width = left + heads * (SMALL + gap);
  const height = top + layers.length * (SMALL + gap);
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" class="map-grid" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="10" fill="#444">`];
  // Each head number has a whole map's width, so 96 heads' labels do not overlap.
  for (let h = 0; h < heads; h++) parts.push(`<text x="${left + h * (SMALL + gap) + SMALL / 2}" y="12" text-anchor="middle">h${h}</text>`);
  layers.forEach((layer, row) => {
    const y = top + row * (SMALL + gap);
    parts.push(`<text x="${left - 6}" y="${y + SMALL / 2 + 4}" text-anchor="end"><title>${esc(layer)}</title>${row}</text>`);
    for (const map of maps.filter((m) => m.layer === layer)) {
      const x = left + map.head * (SMALL + gap);
      parts.push(`<g class="map" data-layer="${esc(layer)}" data-head="${map.head}"><title>${esc(layer)} · head ${map.head}</title>${cellsSvg(poolMap(map, GRID_CELLS), x, y, SMALL, false)}</g>`);
    }
  });
  parts.push('</svg>');
  return parts.join('');
}

/** One head's map, large, each cell titled with its queries, keys and weight. */
export function largeMapSvg(map: AttentionMap): string {
  const px = Math.min(LARGE, Math.max(map.rows, map.cols) * 24);
  const left = 30;
  const top = 18;
  const size = left + px + 4;
  return `<svg xmlns="http://www.w3.org/2000/svg" class="map-large" data-layer="${esc(map.layer)}" data-head="${map.head}" width="${size}" height="${top + px + 4}" viewBox="0 0 ${size} ${top + px + 4}" font-family="Helvetica, Arial, sans-serif" font-size="10" fill="#444">`
    + `<text x="${left}" y="12">keys →</text><text x="${left - 4}" y="${top + 10}" text-anchor="end">q ↓</text>`
    + `${cellsSvg(map, left, top, px, true)}</svg>`;
}

/** What the maps show, in words, for the page. */
export function mapsCaption(maps: readonly AttentionMap[]): string {
  const m = maps[0];
  const pooled = maps.some((x) => x.rowBlock > 1 || x.colBlock > 1);
  return `Batch element ${m.sample} (--sample). Each map's colour runs from white (weight 0) to dark blue (its own largest weight) by the square root of the weight, so small weights still show; grey cells are masked or padding. `
    + (pooled ? `Sequences past ${MAP_CELLS} are pooled: a large-map cell is the mean weight over a block of ${m.rowBlock} queries × ${m.colBlock} keys (hover for the ranges); ` : 'Each large-map cell is one query and one key (hover for its weight); ')
    + `the small maps are pooled again to at most ${GRID_CELLS}×${GRID_CELLS}, each cell the mean of its block.`;
}

function esc(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}
