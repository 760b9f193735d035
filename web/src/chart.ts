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
 */
export class LiveChart {
  private view: View | null = null;

  constructor(
    private readonly element: HTMLElement,
    private readonly spec: TopLevelSpec,
  ) {}

  async show(data: Record<string, Datum[]>): Promise<void> {
    if (this.view === null) {
      const withData = { ...this.spec, datasets: data } as TopLevelSpec;
      const result = await embed(this.element, withData, { actions: false, renderer: 'svg', tooltip: true });
      this.view = result.view;
      return;
    }
    for (const [name, values] of Object.entries(data)) this.view.data(name, values);
    // The container may have changed width (phone rotation, first layout).
    this.view.resize();
    await this.view.runAsync();
  }
}
