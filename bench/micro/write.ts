/**
 * Writes a micro-benchmark report to results/<timestamp>-micro/ as micro.json,
 * micro.md and micro.csv. Each file is written to a temporary name in the same
 * folder and renamed, so a reader never sees half a file.
 */
import path from 'node:path';
import { createRunFolder, writeFileAtomic } from '../results/write.ts';
import { renderCsv, renderMarkdown } from './render.ts';
import type { MicroReport } from './report.ts';

export interface WrittenFiles {
  dir: string;
  json: string;
  markdown: string;
  csv: string;
}

/** Creates a new <timestamp>-micro folder under `resultsDir` (suffixed if it exists) and writes the three files. */
export function writeMicroReport(report: MicroReport, resultsDir: string): WrittenFiles {
  const dir = createRunFolder(resultsDir, new Date(report.environment.date), '-micro');
  const files: WrittenFiles = {
    dir,
    json: path.join(dir, 'micro.json'),
    markdown: path.join(dir, 'micro.md'),
    csv: path.join(dir, 'micro.csv'),
  };
  writeFileAtomic(files.json, `${JSON.stringify(report, null, 2)}\n`);
  writeFileAtomic(files.markdown, renderMarkdown(report));
  writeFileAtomic(files.csv, renderCsv(report));
  return files;
}
