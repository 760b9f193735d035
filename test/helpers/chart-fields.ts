/**
 * The fields a Vega-Lite spec encodes that its own data rows lack, as
 * "layer i: channel → field (row j)" lines: a chart that names a field its
 * rows do not hold renders empty without any error, so tests look for this.
 * Walks single views and layers; only inline data (data.values) is checked.
 */
export function missingChartFields(spec: unknown): string[] {
  const problems: string[] = [];
  const visit = (view: Record<string, unknown>, path: string, inherited: unknown[] | null): void => {
    const values = ((view.data as { values?: unknown[] } | undefined)?.values ?? inherited) as Record<string, unknown>[] | null;
    const encoding = view.encoding as Record<string, { field?: unknown }> | undefined;
    if (encoding !== undefined) {
      if (values === null) problems.push(`${path}: encodes fields but has no inline data`);
      else {
        for (const [channel, def] of Object.entries(encoding)) {
          if (typeof def?.field !== 'string') continue;
          const at = values.findIndex((row) => row[def.field as string] === undefined);
          if (at >= 0) problems.push(`${path}: ${channel} → ${def.field} (missing in row ${at} of ${values.length})`);
        }
      }
    }
    const layers = view.layer as Record<string, unknown>[] | undefined;
    layers?.forEach((layer, i) => visit(layer, `${path}layer ${i} `, values));
  };
  visit(spec as Record<string, unknown>, '', null);
  return problems;
}
