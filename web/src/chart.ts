import embed from 'vega-embed';
import type { TopLevelSpec } from 'vega-lite';
import type { View } from 'vega';

/** A row of a chart's named dataset. */
export type Datum = Record<string, number | string | boolean | null>;

/**
 * A Vega-Lite chart embedded once, on its first data, whose named datasets are
 * then swapped in place: re-embedding on every slider step would rebuild the
 * whole view (tens of ms) and flicker; changing the data re-runs only the
 * dataflow. Embedding with the first data inlined (as `datasets`) rather than
 * empty keeps Vega from warning about infinite scale extents.
 *
 * A chart whose datasets are all empty is not drawn at all: an empty Vega
 * view has no extent (a lone "0" tick, and an "Infinite extent" warning on
 * every run), so it says "no data yet" instead. For the same reason a layer
 * whose dataset is empty is left out of the spec (the validation points
 * before the first validation): the chart is embedded again only when the
 * set of empty datasets changes. For screen readers the
 * chart is one image (role="img") whose label summarises what it shows.
 */
export class LiveChart {
  private view: View | null = null;
  private width = -1;
  /** The datasets that had rows when the view was embedded. */
  private present = '';
  private readonly canvas: HTMLDivElement;
  private readonly placeholder: HTMLParagraphElement;

  constructor(
    private readonly element: HTMLElement,
    private readonly spec: TopLevelSpec,
    private readonly name: string = chartTitle(spec),
  ) {
    element.setAttribute('role', 'img');
    element.setAttribute('aria-label', `${name}: no data yet`);
    this.canvas = document.createElement('div');
    this.placeholder = document.createElement('p');
    this.placeholder.className = 'chart-empty';
    this.placeholder.textContent = 'no data yet';
    this.placeholder.dataset.testid = 'chart-empty';
    element.replaceChildren(this.canvas, this.placeholder);
  }

  /** Draws `data`; `summary` (the figures a sighted reader takes from the chart) becomes its label. */
  async show(data: Record<string, Datum[]>, summary: string): Promise<void> {
    const empty = Object.values(data).every((values) => values.length === 0);
    this.element.setAttribute('aria-label', `${this.name}: ${empty ? 'no data yet' : summary}`);
    this.element.dataset.empty = String(empty);
    this.placeholder.hidden = !empty;
    // Not `hidden`: vega-embed's own stylesheet sets display on its container.
    this.canvas.style.display = empty ? 'none' : '';
    if (empty) return;
    const present = Object.keys(data).filter((name) => data[name].length > 0).join();
    if (this.view === null || present !== this.present) {
      this.view?.finalize();
      const withData = { ...withoutEmptyLayers(this.spec, data), datasets: data } as TopLevelSpec;
      const result = await embed(this.canvas, withData, { actions: false, renderer: 'svg', tooltip: true });
      this.view = result.view;
      this.present = present;
      this.width = this.element.clientWidth;
      return;
    }
    // Only the datasets the embedded spec reads: an empty one's layer was left out.
    for (const [name, values] of Object.entries(data)) if (values.length > 0) this.view.data(name, values);
    // The container may have changed width (phone rotation, first layout); resizing
    // only then spares a layout pass on every slider step.
    if (this.element.clientWidth !== this.width) this.view.resize();
    this.width = this.element.clientWidth;
    await this.view.runAsync();
  }

  /** Forgets the data: the chart says "no data yet" until the next show. */
  clear(): Promise<void> {
    const names = Object.fromEntries(datasetNames(this.spec).map((name) => [name, [] as Datum[]]));
    return this.show(names, '');
  }
}

function chartTitle(spec: TopLevelSpec): string {
  const title = (spec as { title?: unknown }).title;
  return typeof title === 'string' ? title : 'Chart';
}

/** The named datasets a spec reads (top level and its layers). */
function datasetNames(spec: TopLevelSpec): string[] {
  const names = new Set<string>();
  const visit = (node: unknown): void => {
    if (node === null || typeof node !== 'object') return;
    const { data, layer } = node as { data?: { name?: string }; layer?: unknown[] };
    if (data?.name !== undefined) names.add(data.name);
    layer?.forEach(visit);
  };
  visit(spec);
  return [...names];
}

/** The spec without the layers that would read an empty dataset. */
function withoutEmptyLayers(spec: TopLevelSpec, data: Record<string, Datum[]>): TopLevelSpec {
  const { layer, data: top } = spec as { layer?: { data?: { name?: string } }[]; data?: { name?: string } };
  if (layer === undefined) return spec;
  const has = (name: string | undefined): boolean => name === undefined || (data[name]?.length ?? 0) > 0;
  return { ...spec, layer: layer.filter((l) => has(l.data?.name ?? top?.name)) } as TopLevelSpec;
}
