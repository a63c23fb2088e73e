/**
 * Reading a results file for the renderers and the comparison: a run folder
 * (results/<timestamp>, results/latest, results/baseline) or a results.json.
 * Checks just enough of the contract (bench/results/record.ts, schema versions READABLE_SCHEMA_VERSIONS) that
 * later code can trust the fields it reads; anything else is a ResultsInputError
 * whose message fits on one line (the CLIs print it and exit 2).
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { READABLE_SCHEMA_VERSIONS, SCHEMA_VERSION, type ResultsFile, type RunRecord } from './record.ts';

export class ResultsInputError extends Error {
  readonly exitCode = 2;
}

export interface LoadedResults {
  /** The results.json that was read. */
  file: string;
  /** The folder holding it (where report.html and charts/ go). */
  dir: string;
  results: ResultsFile;
}

/** Resolves a folder or a results.json path to the results.json file. */
export function resolveResultsFile(input: string): string {
  let stat;
  try {
    stat = statSync(input);
  } catch {
    throw new ResultsInputError(`${input}: no such file or folder`);
  }
  if (stat.isDirectory()) {
    const file = path.join(input, 'results.json');
    try {
      if (statSync(file).isFile()) return file;
    } catch {
      // fall through
    }
    throw new ResultsInputError(`${input}: folder has no results.json`);
  }
  return input;
}

export function loadResults(input: string): LoadedResults {
  const file = resolveResultsFile(input);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ResultsInputError(`${file}: cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new ResultsInputError(`${file}: not JSON (${(error as Error).message.split('\n')[0]})`);
  }
  return { file, dir: path.dirname(file), results: checkResults(data, file) };
}

/** Checks the shape the renderers rely on; returns the same object, typed. */
export function checkResults(data: unknown, label = 'results'): ResultsFile {
  if (!isObject(data)) throw new ResultsInputError(`${label}: not a results object`);
  if (!READABLE_SCHEMA_VERSIONS.includes(data.schemaVersion as number)) {
    throw new ResultsInputError(`${label}: schemaVersion ${JSON.stringify(data.schemaVersion)} is not ${READABLE_SCHEMA_VERSIONS.join(' or ')} (current: ${SCHEMA_VERSION})`);
  }
  if (!isObject(data.environment)) throw new ResultsInputError(`${label}: no environment`);
  if (!Array.isArray(data.runs)) throw new ResultsInputError(`${label}: runs is not an array`);
  data.runs.forEach((run, index) => checkRun(run, `${label}: runs[${index}]`));
  return data as unknown as ResultsFile;
}

function checkRun(run: unknown, label: string): asserts run is RunRecord {
  if (!isObject(run)) throw new ResultsInputError(`${label} is not an object`);
  for (const key of ['scenario', 'protocol', 'driver', 'operation', 'status'] as const) {
    if (typeof run[key] !== 'string') throw new ResultsInputError(`${label}.${key} is not a string`);
  }
  for (const key of ['concurrency', 'trial', 'rps'] as const) {
    if (typeof run[key] !== 'number' || !Number.isFinite(run[key])) {
      throw new ResultsInputError(`${label}.${key} is not a number`);
    }
  }
  if (run.latencyMs !== null && !isObject(run.latencyMs)) throw new ResultsInputError(`${label}.latencyMs is not an object or null`);
  if (!isObject(run.wire)) throw new ResultsInputError(`${label}.wire is not an object`);
  if (!isObject(run.body)) throw new ResultsInputError(`${label}.body is not an object`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
