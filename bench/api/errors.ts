/**
 * The API-card library's one error class. Its message is one line that names the card file,
 * the call when there is one, and the problem, so the CLI can print it as is and exit 2
 * (a usage error: the card is input, like a flag).
 */
export class ApiCardError extends Error {
  readonly exitCode = 2;

  constructor(
    /** The card file as the user named it. */
    readonly file: string,
    /** The call's scenario name, or null for a problem with the card as a whole. */
    readonly call: string | null,
    /** What is wrong, one line. */
    readonly problem: string,
  ) {
    super(`api card ${file}: ${call === null ? '' : `call ${call}: `}${oneLine(problem)}`);
    this.name = 'ApiCardError';
  }

  /** Wrap any thrown value (protobufjs and @bufbuild/protobuf errors, I/O errors) for a card and call. */
  static from(err: unknown, file: string, call: string | null, context = ''): ApiCardError {
    if (err instanceof ApiCardError) return err;
    const text = err instanceof Error ? err.message : String(err);
    return new ApiCardError(file, call, context ? `${context}: ${text}` : text);
  }
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
