/**
 * What every bench command's entry point shares: knowing it was started (not
 * imported), and turning an error into one line and an exit code.
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { ResultsInputError } from '../results/read.ts';
import { UsageError } from '../../shared/usage-error.ts';

/** Bad input (a UsageError, a ResultsInputError or a parseArgs error) → one line, 2; anything else is a bug → stack, 1. */
export function reportCliError(command: string, error: unknown): number {
  const usage = error instanceof UsageError || error instanceof ResultsInputError || String((error as { code?: unknown })?.code ?? '').startsWith('ERR_PARSE_ARGS');
  const message = error instanceof Error ? (usage ? error.message.split('\n')[0] : (error.stack ?? error.message)) : String(error);
  process.stderr.write(`${command}: ${message}\n`);
  return usage ? 2 : 1;
}

/** True when this module is the script node was started with (not imported). */
export function isMain(metaUrl: string): boolean {
  if (!process.argv[1]) return false;
  try {
    return metaUrl === pathToFileURL(realpathSync(process.argv[1])).href;
  } catch {
    return false;
  }
}
