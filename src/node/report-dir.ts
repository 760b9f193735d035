import { createHash } from 'node:crypto';
import {
  accessSync, constants, lstatSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, rmdirSync, statSync, writeFileSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ScaledotError } from '../tensor/index.js';
import { folderProblem, makeDirectories } from './output-file.js';

export interface ReportFile {
  name: string;
  content: string;
}

/**
 * A command (the lab, inspect) writes its report into a folder that may hold
 * the user's own files (`--out .` in a project). It may replace only files it
 * wrote itself, so it keeps a manifest (`owner.manifest`) listing each file it
 * wrote with its SHA-256. On a later run, a file counts as the command's only
 * if the manifest lists it and its bytes still match: a file the user wrote,
 * or changed after the command wrote it, is never overwritten (the run is
 * refused, before any work) and never deleted. Nothing else in the folder is touched.
 *
 * Each file is written whole (staged in a hidden folder inside the target,
 * then renamed into place). The manifest is first widened to list both the
 * old and the new files, so a run killed mid-way leaves every report-written
 * file recognisable to the next run.
 */
export interface PendingReport {
  target: string;
  commit(files: readonly ReportFile[]): void;
}

/** Who writes a report folder: the name in messages and the manifest's file name and `tool` field. */
export interface ReportOwner {
  /** The command, as messages start: 'lab', 'inspect'. */
  fn: string;
  /** The writer, as messages name it: 'the lab', 'scaledot inspect'. */
  who: string;
  /** The manifest's file name, e.g. scaledot-report.json. */
  manifest: string;
  /** The manifest's `tool`, e.g. 'scaledot lab': a manifest with another is not this command's. */
  tool: string;
}
/** What a report may ever hold (and so ever replace): plain visible file names. */
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** Staging folders a report makes inside the target: the pid tells whether the run that made one is still alive. */
const STAGING = /^\.scaledot-staging-(\d+)-[A-Za-z0-9]{6}$/;
/** The report files an older lab wrote into its `.<out>.tmp-XXXXXX` sibling folder (debris of an interrupted run). */
const LEGACY_REPORT_FILE = /^(index\.html|results\.json|C\d+-[a-z0-9-]+\.csv)$/;

interface ManifestEntry {
  name: string;
  sha256: string;
}

/**
 * Checks `--out` before any work: not empty, not a file, and the nearest
 * existing folder on its path writable. `plannedNames` are the files the run
 * will write: one that exists and is not the owner's is refused now, not after
 * the run. Nothing is created yet: the folder (and its parents, as `mkdir -p`)
 * is made at commit.
 */
export function prepareReportDir(owner: ReportOwner, out: string, plannedNames: readonly string[] = []): PendingReport {
  const { fn } = owner;
  if (out.trim() === '') throw new ScaledotError('E_OPTION', `${fn}: --out is empty; give the folder to write the report into (for example --out report)`);
  const target = resolve(out);
  checkWritablePath(fn, out, target);
  if (statOrNull(target)) refuseForeignFiles(owner, out, target, plannedNames);
  else {
    // Made and removed again, so a path that cannot be made (under /proc) fails now, not after the run.
    const problem = folderProblem(target);
    if (problem !== null) throw new ScaledotError('E_IO', `${fn}: cannot create --out ${out}: ${problem}`);
  }
  return {
    target,
    commit(files) {
      commitReport(owner, out, target, files);
    },
  };
}

function checkWritablePath(fn: string, out: string, target: string): void {
  let existing = target;
  while (!statOrNull(existing)) {
    const up = dirname(existing);
    if (up === existing) break;
    existing = up;
  }
  const stat = statOrNull(existing);
  if (stat && !stat.isDirectory()) {
    const what = existing === target ? `--out ${out} is a file` : `--out ${out} runs through ${existing}, which is a file`;
    throw new ScaledotError('E_IO', `${fn}: ${what}, not a folder; give a folder to write the report into`);
  }
  try {
    accessSync(existing, constants.W_OK);
  } catch {
    throw new ScaledotError('E_IO', `${fn}: cannot write the report to --out ${out}: ${existing} is not writable`);
  }
}

function commitReport(owner: ReportOwner, out: string, target: string, files: readonly ReportFile[]): void {
  const { fn, manifest } = owner;
  for (const file of files) {
    if (!FILE_NAME.test(file.name) || file.name === manifest) {
      throw new ScaledotError('E_IO', `${fn}: report file name ${JSON.stringify(file.name)} is not a plain file name ${owner.who} may write`);
    }
  }
  let created = false;
  try {
    if (!statOrNull(target)) {
      makeDirectories(target);
      created = true;
    }
  } catch (err) {
    throw new ScaledotError('E_IO', `${fn}: cannot create --out ${out}: ${(err as Error).message}`);
  }
  const owned = refuseForeignFiles(owner, out, target, files.map((f) => f.name));
  removeStaleDebris(target);
  const newEntries = files.map((f) => ({ name: f.name, sha256: sha256(f.content) }));
  const newNames = new Set(files.map((f) => f.name));
  // With no listener, SIGINT or SIGTERM kills the process at once, even in the
  // middle of the renames, and the staging folder stays behind. A listener makes
  // Node deliver the signal to the event loop, which runs only after this
  // synchronous commit has finished and cleaned up.
  const hold = (): void => {};
  process.on('SIGINT', hold);
  process.on('SIGTERM', hold);
  let staging: string | null = null;
  try {
    staging = mkdtempSync(join(target, `.scaledot-staging-${process.pid}-`));
    const stage = (name: string, content: string): string => {
      const path = join(staging as string, name);
      writeFileSync(path, content);
      return path;
    };
    const staged = files.map((f) => stage(f.name, f.content));
    renameSync(stage(manifest, manifestText(owner, [...owned, ...newEntries])), join(target, manifest));
    files.forEach((f, i) => renameSync(staged[i], join(target, f.name)));
    for (const old of owned) if (!newNames.has(old.name)) rmSync(join(target, old.name), { force: true });
    renameSync(stage(manifest, manifestText(owner, newEntries)), join(target, manifest));
  } catch (err) {
    if (created && readdirSync(target).every((n) => n === basename(staging ?? ''))) rmSync(target, { recursive: true, force: true });
    throw new ScaledotError('E_IO', `${fn}: writing the report to ${out} failed: ${(err as Error).message}; files ${owner.who} had not yet replaced are unchanged`);
  } finally {
    if (staging) rmSync(staging, { recursive: true, force: true });
    process.removeListener('SIGINT', hold);
    process.removeListener('SIGTERM', hold);
  }
}

/**
 * Throws if any of `names` exists in `target` and is not the owner's; returns
 * the manifest's entries that are still its own (listed, and unchanged).
 */
function refuseForeignFiles(owner: ReportOwner, out: string, target: string, names: readonly string[]): ManifestEntry[] {
  const { fn } = owner;
  const manifest = readManifest(owner, join(target, owner.manifest));
  if (manifest === 'foreign') {
    throw new ScaledotError('E_IO', `${fn}: --out ${out} holds a ${owner.manifest} that ${owner.who} did not write; refusing to overwrite it: move it or choose another --out`);
  }
  const owned = (manifest ?? []).filter((e) => sameBytes(join(target, e.name), e.sha256));
  const ownedNames = new Set(owned.map((e) => e.name));
  const foreign = names.filter((name) => !ownedNames.has(name) && lstatOrNull(join(target, name)) !== null);
  if (foreign.length > 0) {
    // Each file is said once, with its own reason: changed since the owner wrote it, or never written by it.
    const listed = new Set((manifest ?? []).map((e) => e.name));
    const changed = foreign.filter((n) => listed.has(n));
    const other = foreign.filter((n) => !listed.has(n));
    const parts = [
      ...(changed.length > 0 ? [`${changed.join(', ')} (changed since ${owner.who} wrote ${changed.length === 1 ? 'it' : 'them'})`] : []),
      ...(other.length > 0 ? [`${other.join(', ')} (not written by ${owner.who})`] : []),
    ];
    throw new ScaledotError(
      'E_IO',
      `${fn}: --out ${out} already holds ${parts.join(' and ')}; ` +
        `refusing to overwrite: move ${foreign.length === 1 ? 'it' : 'them'} or choose another --out`,
    );
  }
  return owned;
}

/** The manifest's entries; null when there is none; 'foreign' when a file of that name is not this owner's manifest. */
function readManifest(owner: ReportOwner, path: string): ManifestEntry[] | null | 'foreign' {
  const stat = lstatOrNull(path);
  if (!stat) return null;
  if (!stat.isFile()) return 'foreign';
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as { tool?: unknown; files?: unknown };
    if (parsed.tool !== owner.tool || !Array.isArray(parsed.files)) return 'foreign';
    const entries = parsed.files as ManifestEntry[];
    const valid = entries.every((e) => typeof e?.name === 'string' && FILE_NAME.test(e.name) && e.name !== owner.manifest && typeof e.sha256 === 'string');
    return valid ? entries : 'foreign';
  } catch {
    return 'foreign';
  }
}

function manifestText(owner: ReportOwner, entries: readonly ManifestEntry[]): string {
  const files = entries.map((e) => ({ name: e.name, sha256: e.sha256 }));
  return `${JSON.stringify({ tool: owner.tool, about: `The files ${owner.tool} wrote here. A later run replaces or removes only these, and only while their bytes are unchanged.`, files }, null, 2)}\n`;
}

/**
 * Removes what an interrupted run left, and nothing else: staging
 * folders inside the target whose process is gone, and the `.<out>.tmp-XXXXXX`
 * siblings an older version made, when they hold only report files.
 */
function removeStaleDebris(target: string): void {
  for (const name of readdirSync(target)) {
    const match = STAGING.exec(name);
    if (match && !processAlive(Number(match[1]))) removeIfOnly(join(target, name), (entry) => FILE_NAME.test(entry));
  }
  const parent = dirname(target);
  if (parent === target) return;
  const legacy = new RegExp(`^\\.${escapeRegExp(basename(target))}\\.tmp-[A-Za-z0-9]{6}$`);
  for (const name of safeReaddir(parent)) {
    if (legacy.test(name)) removeIfOnly(join(parent, name), (entry) => LEGACY_REPORT_FILE.test(entry));
  }
}

function removeIfOnly(dir: string, allowed: (name: string) => boolean): void {
  const stat = lstatOrNull(dir);
  if (!stat?.isDirectory()) return;
  const entries = safeReaddir(dir);
  if (!entries.every((e) => allowed(e) && lstatOrNull(join(dir, e))?.isFile())) return;
  for (const e of entries) rmSync(join(dir, e), { force: true });
  try {
    rmdirSync(dir);
  } catch {
    // another process may be writing into it; leave it
  }
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function sameBytes(path: string, sha: string): boolean {
  const stat = lstatOrNull(path);
  if (!stat?.isFile()) return false;
  try {
    return sha256(readFileSync(path)) === sha;
  } catch {
    return false;
  }
}

const sha256 = (content: string | Buffer): string => createHash('sha256').update(content).digest('hex');
const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function statOrNull(path: string): ReturnType<typeof statSync> | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

function lstatOrNull(path: string): ReturnType<typeof lstatSync> | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}
