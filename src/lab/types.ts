// The data types the lab's parts share: experiments make rows and chart specs,
// the charts read rows, the report writes both. Kept apart so that none of
// those modules imports another just for a type.

/** One cell of a table: the CSV and the charts read these. */
export type Cell = number | string | boolean | null;

/** One row of an experiment's table, by column name. */
export type Row = Record<string, Cell>;

/** A chart as plain Vega-Lite JSON: rendered to SVG in Node for the report, interactively on the web page. */
export type ChartSpec = Record<string, unknown>;
