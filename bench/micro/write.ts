/**
 * Writes a micro-benchmark report to results/<timestamp>-micro/ as micro.json,
 * micro.md and micro.csv. Each file is written to a temporary name in the same
 * folder and renamed, so a reader never sees half a file.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { renderCsv, renderMarkdown } from './render.ts';
import type { MicroReport } from './report.ts';

export async function writeFileAtomic(file: string, content: string): Promise<void> {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(temp, content, { encoding: 'utf8', flag: 'wx' });
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** "2025-11-25T09-41-03Z": the run's start time, safe in a file name on every OS. */
export function runTimestamp(date: Date): string {
  return date.toISOString().replace(/\.\d+Z$/, 'Z').replaceAll(':', '-');
}

export interface WrittenFiles {
  dir: string;
  json: string;
  markdown: string;
  csv: string;
}

/** Creates a new <timestamp>-micro folder under `resultsDir` (suffixed if it exists) and writes the three files. */
export async function writeMicroReport(report: MicroReport, resultsDir: string): Promise<WrittenFiles> {
  const base = path.join(resultsDir, `${runTimestamp(new Date(report.environment.date))}-micro`);
  let dir = base;
  for (let attempt = 2; ; attempt++) {
    try {
      await mkdir(path.dirname(dir), { recursive: true });
      await mkdir(dir);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 100) throw error;
      dir = `${base}-${attempt}`;
    }
  }
  const files: WrittenFiles = {
    dir,
    json: path.join(dir, 'micro.json'),
    markdown: path.join(dir, 'micro.md'),
    csv: path.join(dir, 'micro.csv'),
  };
  await writeFileAtomic(files.json, `${JSON.stringify(report, null, 2)}\n`);
  await writeFileAtomic(files.markdown, renderMarkdown(report));
  await writeFileAtomic(files.csv, renderCsv(report));
  return files;
}
