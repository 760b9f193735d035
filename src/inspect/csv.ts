import type { Row } from '../lab/types.js';
import { toCsv } from '../lab/report/csv.js';
import type { HeadFigures } from './figures.js';
import type { Finding } from './findings.js';

/** heads[] flattened: nested fields joined with dots (fp16.scoreMaxAbs, whatIf.qkNorm.logitStd). */
export function headRows(heads: readonly HeadFigures[]): Row[] {
  return heads.map((h) => flatten(h as unknown as Record<string, unknown>, ''));
}

function flatten(value: Record<string, unknown>, prefix: string): Row {
  const row: Row = {};
  for (const [key, v] of Object.entries(value)) {
    if (typeof v === 'object' && v !== null) Object.assign(row, flatten(v as Record<string, unknown>, `${prefix}${key}.`));
    else row[`${prefix}${key}`] = v as string | number;
  }
  return row;
}

export const HEADS_CSV = 'inspect-heads.csv';
export const FINDINGS_CSV = 'inspect-findings.csv';
export const FINDINGS_HEADER = 'kind,layer,head,text';

/** How every heads CSV starts (also how --out recognises one it wrote). */
export const HEADS_HEADER_START = 'layer,head,queries,keys,headDim';

export function headsCsv(heads: readonly HeadFigures[]): string {
  return heads.length === 0 ? `${HEADS_HEADER_START}\n` : toCsv(headRows(heads));
}

export function findingsCsv(findings: readonly Finding[]): string {
  if (findings.length === 0) return `${FINDINGS_HEADER}\n`;
  return toCsv(findings.map((f) => ({ kind: f.kind, layer: f.layer, head: f.head, text: f.text })));
}
