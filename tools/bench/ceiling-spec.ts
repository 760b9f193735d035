import { renameSync, writeFileSync } from 'node:fs';
import { renderSvg } from '../../src/lab/render-svg.js';
import type { ChartSpec } from '../../src/lab/types.js';

/** One bar: a row's median rate at a shape. */
export interface RateBar { shape: string; series: string; rate: number }
/** A shape's measured ceiling, drawn as a dashed line over its bars. */
export interface ShapeCeiling { shape: string; ceiling: number; label: string }

/**
 * The benchmark charts' one shape (docs/performance.md): grouped bars of each
 * row's rate per shape, with the ceiling measured in the same run as a dashed
 * line and its label over each shape. ceiling-chart.ts (GFLOP/s against the
 * SIMD multiply-add ceiling) and decode-chart.ts (GB/s against the read
 * ceiling) differ only in what they put in.
 */
export function ceilingChartSpec(o: {
  title: string; subtitle: string; xTitle: string; yTitle: string; seriesTitle: string;
  shapes: string[]; bars: RateBar[]; ceilings: ShapeCeiling[];
}): ChartSpec {
  const series = [...new Set(o.bars.map((b) => b.series))];
  const palette = ['#1f5fa8', '#7fb2e5', '#d9822b', '#f2c14e', '#b2473e', '#e6968f', '#5b8c5a', '#9a9a9a', '#6c4f9c'];
  const { shapes } = o;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: o.title, subtitle: o.subtitle, anchor: 'start', fontSize: 13, subtitleFontSize: 10, subtitleColor: '#666' },
    width: 620,
    height: 260,
    layer: [
      {
        data: { values: o.bars },
        mark: { type: 'bar' },
        encoding: {
          x: { field: 'shape', type: 'nominal', title: o.xTitle, sort: shapes, axis: { labelAngle: 0 } },
          xOffset: { field: 'series', type: 'nominal', sort: series },
          y: { field: 'rate', type: 'quantitative', title: o.yTitle },
          color: { field: 'series', type: 'nominal', title: o.seriesTitle, sort: series, scale: { domain: series, range: palette } },
        },
      },
      {
        data: { values: o.ceilings },
        mark: { type: 'rule', color: '#222', strokeDash: [6, 4], strokeWidth: 1.5 },
        encoding: {
          x: { field: 'shape', type: 'nominal', sort: shapes, bandPosition: 0.05 },
          x2: { field: 'shape', bandPosition: 0.95 },
          y: { field: 'ceiling', type: 'quantitative' },
        },
      },
      {
        data: { values: o.ceilings },
        mark: { type: 'text', dy: -7, fontSize: 10, color: '#222' },
        encoding: { x: { field: 'shape', type: 'nominal', sort: shapes }, y: { field: 'ceiling', type: 'quantitative' }, text: { field: 'label' } },
      },
    ],
    config: {
      font: 'Helvetica, Arial, sans-serif',
      view: { stroke: '#d0d5dc' },
      axis: { labelFontSize: 10, titleFontSize: 11, titleFontWeight: 'normal' },
      legend: { labelFontSize: 10, titleFontSize: 10, orient: 'bottom', direction: 'horizontal', columns: 4, labelLimit: 200 },
    },
  };
}

/** Renders `spec` to SVG and writes it to `output` whole (a temporary file, then a rename). */
export async function writeChart(spec: ChartSpec, name: string, output: string): Promise<void> {
  const svg = await renderSvg(spec, name);
  const tmp = `${output}.${process.pid}.tmp`;
  writeFileSync(tmp, svg);
  renameSync(tmp, output);
}
