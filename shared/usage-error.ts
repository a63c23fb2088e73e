/**
 * The one error for bad command-line input, in every command of the repository:
 * the bench's (bench/cli/), the servers' (servers/serve.ts,
 * servers/contenders/serve-contender.ts) and the scripts' (scripts/). It lives
 * here, below all three, because servers/ must not import bench/ and scripts/
 * import both; it imports nothing.
 *
 * A UsageError is thrown before anything runs. Its message names the flag and
 * what it accepts; the command prints it (on one line) and exits with
 * `exitCode`, 2. Errors of one syntax (a duration, an --slo expression, a
 * network spec) are subclasses, so a command catches this one type.
 */
export class UsageError extends Error {
  readonly exitCode = 2;

  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * node:util parseArgs' own refusals (an unknown option, a missing value, a
 * stray argument: codes ERR_PARSE_ARGS_*) as a UsageError of their first
 * sentence, which names the flag; the rest of node's text is advice on
 * quoting. Any other error is returned as it is.
 */
export function parseArgsUsageError(error: unknown, suffix = ''): unknown {
  if (!String((error as { code?: unknown } | null)?.code ?? '').startsWith('ERR_PARSE_ARGS')) return error;
  const first = (error as Error).message.split('\n')[0]!.split('. ')[0]!.replace(/\.$/, '');
  return new UsageError(`${first}${suffix}`);
}
