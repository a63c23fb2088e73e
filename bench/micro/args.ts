/** Command-line flags of `npm run bench:micro`, parsed and validated. */
import { parseShapes, parseSizes, type ValueShape } from '../scenario/payloads.ts';

export interface MicroArgs {
  quick: boolean;
  sizes?: number[];
  shapes?: ValueShape[];
  /** Parent folder of the <timestamp>-micro result folder. */
  resultsDir: string;
  /** Skip writing files (print only). */
  write: boolean;
  help: boolean;
}

export const MICRO_USAGE = `Usage: npm run bench:micro -- [options]
  --quick               a few seconds, rough figures (for tests and smoke checks)
  --sizes 1,10,100      numbers of values for Numbers (default 1,10,100,1000,10000,100000)
  --shapes int,double   value shapes: int, money, double (default all)
  --results-dir DIR     where the <timestamp>-micro folder goes (default results)
  --no-write            print the table only
  --help                this text`;

/** Parses argv (without node and script). Throws an Error with a one-line message on bad input. */
export function parseMicroArgs(argv: readonly string[]): MicroArgs {
  const args: MicroArgs = { quick: false, resultsDir: 'results', write: true, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const inline = arg.startsWith('--') && eq > 0 ? arg.slice(eq + 1) : undefined;
    const value = (): string => {
      if (inline !== undefined) return inline;
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw new Error(`${flag} needs a value`);
      i++;
      return next;
    };
    const noValue = (): void => {
      if (inline !== undefined) throw new Error(`${flag} takes no value`);
    };
    switch (flag) {
      case '--quick':
        noValue();
        args.quick = true;
        break;
      case '--sizes':
        args.sizes = parseSizes(value());
        break;
      case '--shapes':
        args.shapes = parseShapes(value());
        break;
      case '--results-dir':
        args.resultsDir = value();
        break;
      case '--no-write':
        noValue();
        args.write = false;
        break;
      case '--help':
      case '-h':
        args.help = true;
        break;
      default:
        throw new Error(`unknown option "${arg}" (see --help)`);
    }
  }
  return args;
}
