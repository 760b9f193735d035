import type { Cell, Row } from '../types.js';

/** One CSV (RFC 4180) from long-format rows: the columns are the union of the rows' keys, in first-seen order. */
export function toCsv(rows: readonly Row[]): string {
  const columns: string[] = [];
  for (const row of rows) for (const key of Object.keys(row)) if (!columns.includes(key)) columns.push(key);
  const lines = [columns.map(quote).join(',')];
  for (const row of rows) lines.push(columns.map((c) => quote(cellText(row[c]))).join(','));
  return lines.join('\n') + '\n';
}

function cellText(cell: Cell | undefined): string {
  if (cell === undefined || cell === null) return '';
  if (typeof cell === 'number') return Number.isFinite(cell) ? String(cell) : cell > 0 ? 'Infinity' : cell < 0 ? '-Infinity' : 'NaN';
  return String(cell);
}

function quote(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
