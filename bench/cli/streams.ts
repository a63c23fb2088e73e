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
import { benchMain, runMain } from './bench.ts';
import { isMain } from './main.ts';

if (isMain(import.meta.url)) runMain(benchMain(process.argv.slice(2), 'streams'));
