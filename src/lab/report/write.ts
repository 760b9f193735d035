import { prepareReportDir as prepareOwnedDir, type PendingReport, type ReportFile, type ReportOwner } from '../../node/report-dir.js';

export type { PendingReport, ReportFile };

/** The lab's report folder: scaledot-report.json lists what it wrote (see node/report-dir.ts). */
export const LAB_REPORT: ReportOwner = { fn: 'lab', who: 'the lab', manifest: 'scaledot-report.json', tool: 'scaledot lab' };

/** Checks `--out` for the lab before any work; the report is written at commit (node/report-dir.ts). */
export function prepareReportDir(out: string, plannedNames: readonly string[] = []): PendingReport {
  return prepareOwnedDir(LAB_REPORT, out, plannedNames);
}
