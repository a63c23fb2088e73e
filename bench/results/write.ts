/**
 * Writing a run's folder: results/<timestamp>/{results.json,report.md,results.csv}.
 * Every file is written to a temporary name and renamed, so a reader (or an
 * interrupted bench) never sees half a file; `latest` is a symlink to the newest run.
 */
import { mkdirSync, renameSync, rmdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ResultsFile } from './record.ts';

export function writeFileAtomic(file: string, text: string): void {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    writeFileSync(temp, text);
    renameSync(temp, file);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

/** "2024-05-01T12-30-05Z": sortable, no colons (safe on every file system). */
export function runFolderName(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/:/g, '-');
}

/**
 * Creates <outDir>/<timestamp><kind>/ (with a numeric suffix if it exists) and
 * returns its path; `kind` (e.g. "-drivers") tells other run types apart.
 */
export function createRunFolder(outDir: string, date: Date, kind = ''): string {
  mkdirSync(outDir, { recursive: true });
  const base = path.join(outDir, `${runFolderName(date)}${kind}`);
  for (let i = 0; ; i++) {
    const dir = i === 0 ? base : `${base}-${i}`;
    try {
      mkdirSync(dir);
      return dir;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}

/** Removes a run folder that is still empty (the bench stopped before writing into it); anything else is left alone. */
export function removeEmptyRunFolder(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // not empty, or already gone
  }
}

export function writeResultsJson(dir: string, results: ResultsFile): string {
  const file = path.join(dir, 'results.json');
  writeFileAtomic(file, `${JSON.stringify(results, null, 2)}\n`);
  return file;
}

/** Points <outDir>/latest at `dir` (relative link, replaced atomically). */
export function linkLatest(outDir: string, dir: string): void {
  const link = path.join(outDir, 'latest');
  const temp = path.join(outDir, `.latest.${process.pid}.tmp`);
  rmSync(temp, { force: true });
  symlinkSync(path.relative(outDir, dir), temp);
  renameSync(temp, link);
}
