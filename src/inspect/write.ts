import { closeSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { folderProblem, makeDirectories, writeFileWhole } from '../lab/report/output-file.js';
import { ScaledotError } from '../tensor/index.js';
import { FINDINGS_CSV, FINDINGS_HEADER, HEADS_CSV, HEADS_HEADER_START } from './csv.js';
import { HTML_MARKER } from './html.js';

export const REPORT_HTML = 'inspect.html';

/**
 * --out writes three files of its own into DIR and nothing else: it never
 * deletes, and it replaces a file only if that file is one it wrote before
 * (recognised by its marker: the page's generator tag, the CSVs' header line).
 */
const OWN_FILES: Record<string, (text: string) => boolean> = {
  [REPORT_HTML]: (text) => text.includes(HTML_MARKER),
  [HEADS_CSV]: (text) => text.startsWith(HEADS_HEADER_START),
  [FINDINGS_CSV]: (text) => text.startsWith(`${FINDINGS_HEADER}\n`),
};

/** Before any work: DIR is (or can be) a directory, and none of the files we would write belongs to someone else. */
/** The names of the report's files inside --out, for the CLI's check that no output is also an input. */
export const REPORT_FILE_NAMES: readonly string[] = Object.keys(OWN_FILES);

export function checkOutDir(dir: string): void {
  const existing = statOrNull(dir);
  if (existing !== null && !existing.isDirectory()) throw new ScaledotError('E_IO', `inspect: --out ${dir} is a file; give a directory`);
  if (existing === null) {
    const problem = folderProblem(dir);
    if (problem !== null) throw new ScaledotError('E_IO', `inspect: cannot create --out ${dir}: ${problem}`);
    return;
  }
  for (const [name, isOwn] of Object.entries(OWN_FILES)) {
    const path = join(dir, name);
    const st = statOrNull(path);
    if (st === null) continue;
    const head = st.isFile() ? firstBytes(path, 4096) : '';
    if (!isOwn(head)) throw new ScaledotError('E_IO', `inspect: --out ${dir}: ${name} exists and was not written by scaledot inspect; refusing to replace it`);
  }
}

export function writeReport(dir: string, files: Record<string, string>): void {
  checkOutDir(dir);
  try {
    makeDirectories(dir);
  } catch (err) {
    throw new ScaledotError('E_IO', `inspect: cannot create --out ${dir}: ${(err as Error).message}`);
  }
  for (const [name, content] of Object.entries(files)) {
    if (!(name in OWN_FILES)) throw new ScaledotError('E_IO', `inspect: ${name} is not one of the report's own files`);
    writeFileWhole(join(dir, name), content, 'inspect: --out');
  }
}

/** The start of a file, as text: enough for a marker, without reading a large file whole. */
function firstBytes(path: string, count: number): string {
  const fd = openSync(path, 'r');
  try {
    const bytes = new Uint8Array(count);
    const n = readSync(fd, bytes, 0, count, 0);
    return new TextDecoder().decode(bytes.subarray(0, n));
  } finally {
    closeSync(fd);
  }
}

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path, { throwIfNoEntry: false }) ?? null;
  } catch {
    return null; // e.g. a path through a file
  }
}
