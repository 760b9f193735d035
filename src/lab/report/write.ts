import { chmodSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ScaledotError } from '../../tensor/index.js';

export interface ReportFile {
  name: string;
  content: string;
}

/**
 * A report directory is replaced whole or not at all. `prepareReportDir`
 * checks the target and creates a temporary sibling before any work, so a bad
 * --out fails fast; `commit` fills the temporary directory and swaps it in
 * with renames; `abandon` deletes it. The previous report stays untouched
 * until the final rename, so a run that fails leaves it as it was.
 */
export interface PendingReport {
  target: string;
  commit(files: readonly ReportFile[]): void;
  abandon(): void;
}

const FILE_NAME = /^[A-Za-z0-9._-]+$/;

export function prepareReportDir(out: string): PendingReport {
  const fn = 'lab';
  const target = resolve(out);
  const existing = statOrNull(target);
  if (existing && !existing.isDirectory()) {
    throw new ScaledotError('E_IO', `${fn}: --out ${out} is a file, not a directory; give a directory to write the report into`);
  }
  if (existing) {
    const entries = readdirSync(target);
    // Replacing a directory deletes what is in it: only ever replace an earlier report.
    if (entries.length > 0 && !entries.includes('results.json')) {
      throw new ScaledotError('E_IO', `${fn}: --out ${out} is a non-empty directory that holds no earlier report (no results.json); refusing to replace it`);
    }
  }
  const parent = dirname(target);
  let temp: string;
  try {
    temp = mkdtempSync(join(parent, `.${basename(target)}.tmp-`));
    chmodSync(temp, 0o755); // mkdtemp makes it private; a report is meant to be read
  } catch (err) {
    throw new ScaledotError('E_IO', `${fn}: cannot write the report to --out ${out}: ${(err as Error).message}`);
  }
  let done = false;
  return {
    target,
    commit(files) {
      if (done) throw new ScaledotError('E_IO', `${fn}: the report for ${out} was already committed or abandoned`);
      let parked: string | null = null; // where the previous report waits during the swap
      try {
        for (const file of files) {
          if (!FILE_NAME.test(file.name)) throw new ScaledotError('E_IO', `${fn}: report file name ${JSON.stringify(file.name)} is not a plain file name`);
          writeFileSync(join(temp, file.name), file.content);
        }
        if (statOrNull(target)) {
          parked = mkdtempSync(join(parent, `.${basename(target)}.old-`));
          renameSync(target, join(parked, 'report'));
        }
        renameSync(temp, target);
        done = true;
        if (parked) rmSync(parked, { recursive: true, force: true });
      } catch (err) {
        if (parked && !statOrNull(target) && statOrNull(join(parked, 'report'))) renameSync(join(parked, 'report'), target);
        if (parked) rmSync(parked, { recursive: true, force: true });
        this.abandon();
        if (err instanceof ScaledotError) throw err;
        throw new ScaledotError('E_IO', `${fn}: writing the report to ${out} failed: ${(err as Error).message}; the previous report, if any, is unchanged`);
      }
    },
    abandon() {
      done = true;
      rmSync(temp, { recursive: true, force: true });
    },
  };
}

function statOrNull(path: string): ReturnType<typeof statSync> | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}
