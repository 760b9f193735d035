/**
 * Chart specs for the lab, as plain Vega-Lite JSON. No Node-only imports: the
 * report renders these to SVG in Node (render-svg.ts) and the web page renders
 * the same specs interactively. Every chart puts the measured figures (points)
 * beside the theory (dashed lines), with labelled axes and log scales where
 * the theory is a power law.
 */
import type { ChartSpec, Row } from './types.js';

export interface Axis {
  field: string;
  title: string;
  log?: boolean;
  /** Symmetric log for data that crosses zero or spans many decades including 0. */
  symlog?: boolean;
  domain?: [number, number];
}

export interface ChartOptions {
  title: string;
  subtitle?: string;
  x: Axis;
  y: Axis;
  /** Measured points. */
  points: Row[];
  /** Theory curves, sharing the x/y fields and the series field with the points. */
  theory?: Row[];
  /** Field that tells series apart (colour); absent for a single series. */
  series?: string;
  seriesTitle?: string;
  /** Second nominal field, drawn as the point shape (e.g. unscaled vs scaled). */
  shape?: string;
  /** Fields holding the lower/upper ends of an error bar on y. */
  errorLow?: string;
  errorHigh?: string;
  /** Draw the measured points joined by a thin line (for curves sampled densely). */
  connect?: boolean;
  width?: number;
  height?: number;
}

const PALETTE = ['#1f5fa8', '#d1495b', '#2a9d8f', '#e09f3e', '#6a4c93', '#7a7a7a', '#3a86ff', '#8c564b'];

function axisEncoding(axis: Axis, type: 'x' | 'y'): Record<string, unknown> {
  const scale: Record<string, unknown> = {};
  if (axis.log) scale.type = 'log';
  if (axis.symlog) scale.type = 'symlog';
  if (axis.domain) scale.domain = axis.domain;
  if (!axis.log && !axis.symlog && type === 'y') scale.zero = false;
  return {
    field: axis.field,
    type: 'quantitative',
    title: axis.title,
    scale,
    axis: { grid: true, gridColor: '#eceff3', labelFlush: false, ...(axis.log ? { tickCount: 6, format: '~g', labelOverlap: 'greedy' } : {}) },
  };
}

/** Measured points and theory lines on shared axes. */
export function measuredVsTheoryChart(options: ChartOptions): ChartSpec {
  const { title, subtitle, x, y, points, theory = [], series, seriesTitle, width = 330, height = 230 } = options;
  // Series keep the order the experiment listed them in (n = 16 before n = 1024), not alphabetical order.
  const seriesOrder = series ? [...new Set([...points, ...theory].map((r) => String(r[series])))] : [];
  const colour = series
    ? { color: { field: series, type: 'nominal', title: seriesTitle ?? series, scale: { domain: seriesOrder, range: PALETTE } } }
    : {};
  const shapeOrder = options.shape ? [...new Set(points.map((r) => String(r[options.shape as string])))] : [];
  const shape = options.shape
    ? { shape: { field: options.shape, type: 'nominal', title: options.shape, scale: { domain: shapeOrder, range: ['circle', 'square', 'triangle-up', 'diamond'] } } }
    : {};
  const layers: Record<string, unknown>[] = [];
  if (theory.length > 0) {
    layers.push({
      data: { values: theory },
      mark: { type: 'line', strokeDash: [5, 4], strokeWidth: 1.6, opacity: 0.85, ...(series ? {} : { color: '#555' }) },
      encoding: { x: axisEncoding(x, 'x'), y: axisEncoding(y, 'y'), ...colour, ...(series ? { detail: { field: series } } : {}) },
    });
  }
  if (options.errorLow && options.errorHigh) {
    layers.push({
      data: { values: points },
      mark: { type: 'rule', strokeWidth: 1.2, ...(series ? {} : { color: PALETTE[0] }) },
      encoding: {
        x: axisEncoding(x, 'x'),
        y: { ...axisEncoding(y, 'y'), field: options.errorLow },
        y2: { field: options.errorHigh },
        ...colour,
      },
    });
  }
  if (options.connect) {
    layers.push({
      data: { values: points },
      mark: { type: 'line', strokeWidth: 1, opacity: 0.5, ...(series ? {} : { color: PALETTE[0] }) },
      encoding: { x: axisEncoding(x, 'x'), y: axisEncoding(y, 'y'), ...colour, ...(options.shape ? { detail: { field: options.shape } } : {}) },
    });
  }
  layers.push({
    data: { values: points },
    mark: { type: 'point', filled: true, size: 38, opacity: 0.95, ...(series ? {} : { color: PALETTE[0] }) },
    encoding: { x: axisEncoding(x, 'x'), y: axisEncoding(y, 'y'), ...colour, ...shape },
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: {
      text: title,
      subtitle: subtitle ?? (theory.length > 0 ? 'points: measured · dashed lines: theory' : 'points: measured'),
      anchor: 'start',
      fontSize: 13,
      subtitleFontSize: 11,
      subtitleColor: '#666',
    },
    width,
    height,
    layer: layers,
    config: {
      font: 'Helvetica, Arial, sans-serif',
      view: { stroke: '#d0d5dc' },
      axis: { labelFontSize: 10, titleFontSize: 11, titleFontWeight: 'normal', titleColor: '#333', labelColor: '#444' },
      legend: { labelFontSize: 10, titleFontSize: 10, orient: 'bottom', direction: 'horizontal', columns: 2, labelLimit: 200, symbolSize: 50 },
    },
  };
}

/** Geometric grid from lo to hi (both > 0) with `count` points: smooth theory lines on log axes. */
export function geomspace(lo: number, hi: number, count: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(lo * (hi / lo) ** (i / (count - 1)));
  return out;
}
