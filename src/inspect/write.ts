import { prepareReportDir } from '../node/report-dir.js';
import type { ReportOwner } from '../node/report-dir.js';
import { ScaledotError } from '../tensor/index.js';
import { FINDINGS_CSV, HEADS_CSV } from './csv.js';

export const REPORT_HTML = 'inspect.html';

/**
 * --out writes its files into DIR and nothing else, as the lab does: a
 * manifest (scaledot-inspect.json) lists each file it wrote with its SHA-256,
 * and a later run replaces a file only if the manifest lists it and its bytes
 * are unchanged. A file the user wrote, or edited after inspect wrote it, is
 * refused before any work and never deleted (node/report-dir.ts).
 */
export const INSPECT_REPORT: ReportOwner = { fn: 'inspect', who: 'scaledot inspect', manifest: 'scaledot-inspect.json', tool: 'scaledot inspect' };
const OWN_FILES = [REPORT_HTML, HEADS_CSV, FINDINGS_CSV];
/** The names of the report's files inside --out, for the CLI's check that no output is also an input. */
export const REPORT_FILE_NAMES: readonly string[] = OWN_FILES;

/** Before any work: DIR is (or can be) a folder, and none of the files we would write belongs to someone else. */
export function checkOutDir(dir: string): void {
  prepareReportDir(INSPECT_REPORT, dir, OWN_FILES);
}

/** Writes the report's files whole, with the manifest; refuses a file that is not one of them. */
export function writeReport(dir: string, files: Record<string, string>): void {
  for (const name of Object.keys(files)) {
    if (!OWN_FILES.includes(name)) throw new ScaledotError('E_IO', `inspect: ${name} is not one of the report's own files`);
  }
  prepareReportDir(INSPECT_REPORT, dir, OWN_FILES).commit(Object.entries(files).map(([name, content]) => ({ name, content })));
}
