// Typed reads of report rows. Charts are drawn from a claim's rows (as
// results.json holds them), so a chart reads each field it needs through
// these: a row without the field, or with another type in it, is an error
// that names both, rather than a silently empty chart. They read a claim's
// parameters the same way.

type Fields = Readonly<Record<string, unknown>>;

function fieldError(row: Fields, field: string, expected: string): Error {
  return new Error(`lab rows: ${field} is ${JSON.stringify(row[field])} in ${JSON.stringify(row)}; expected ${expected}`);
}

/** row[field] as a number. */
export function numberField(row: Fields, field: string): number {
  const value = row[field];
  if (typeof value !== 'number') throw fieldError(row, field, 'a number');
  return value;
}

/** row[field] as a number or null (a figure that could not be measured). */
export function nullableNumberField(row: Fields, field: string): number | null {
  const value = row[field];
  if (value !== null && typeof value !== 'number') throw fieldError(row, field, 'a number or null');
  return value as number | null;
}

/** row[field] as a string. */
export function stringField(row: Fields, field: string): string {
  const value = row[field];
  if (typeof value !== 'string') throw fieldError(row, field, 'a string');
  return value;
}
