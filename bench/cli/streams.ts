/**
 * `npm run bench:streams`: a shortcut for the bench's stream scenarios, the
 * streaming methods on gRPC and on each of REST's ways to stream, side by
 * side in one run, measured per message (rows of results.json with unit
 * "message"; docs/streaming.md).
 *
 *   npm run bench:streams -- --ops running-sum,sum-stream,prefix-sums --streams 16 --messages 2000
 *   npm run bench:streams -- --ops running-sum --transport grpc,websocket
 *   npm run bench:streams -- --ops running-sum,sum-stream --rate 1000 --streams 16 --duration 5s
 *
 * Its flags are the bench's, but --rate is per stream here (as a stream's
 * pace is usually stated) and --ops defaults to every stream operation the
 * pacing applies to: the options layer resolves them once, as the command
 * 'streams' (bench/options/resolve.ts). Everything else (trials, --network,
 * --tls, --slo, segments) is `npm run bench -- --ops <stream ops> ...`.
 */
import { STREAM_OPERATIONS } from '../../servers/calculator.ts';
import { benchMain, runMain } from './bench.ts';
import { isMain } from './main.ts';

/**
 * bench:streams' arguments rewritten as the bench's: what this command did
 * before the options layer resolved it (parseBenchCommand(argv, ..., 'streams')).
 * @deprecated only test/run/streams-bench.test.ts still calls it; delete it
 * with that test's move to parseBenchCommand.
 */
export function benchArgsOfStreams(argv: readonly string[]): string[] {
  const args = [...argv];
  const valueOf = (flag: string): string | undefined => {
    const at = args.findIndex((arg) => arg === flag || arg.startsWith(`${flag}=`));
    if (at < 0) return undefined;
    return args[at]!.includes('=') ? args[at]!.slice(flag.length + 1) : args[at + 1];
  };
  const rateText = valueOf('--rate');
  if (rateText !== undefined) {
    // Per stream here, over all streams in the bench: the profile's streams unless --streams says.
    const streams = Number(valueOf('--streams') ?? (valueOf('--profile') === 'quick' ? 8 : 16));
    const at = args.findIndex((arg) => arg === '--rate' || arg.startsWith('--rate='));
    const total = Number(rateText) * streams;
    const replacement = Number.isFinite(total) && rateText.trim() !== '' ? String(total) : rateText;
    if (args[at]!.includes('=')) args[at] = `--rate=${replacement}`;
    else args[at + 1] = replacement;
  }
  if (valueOf('--ops') === undefined) {
    // Every stream operation the pacing applies to: a rate leaves out prefix-sums, a held run without a rate runs running-sum.
    const ops = STREAM_OPERATIONS.filter((op) => (rateText !== undefined ? op !== 'prefix-sums' : valueOf('--duration') === undefined || op === 'running-sum'));
    args.push('--ops', ops.join(','));
  }
  return args;
}

if (isMain(import.meta.url)) runMain(benchMain(process.argv.slice(2), 'streams'));
