/**
 * `npm run serve`: starts the gRPC and REST calculator servers (or one, with
 * --only). Each prints one line with the address it bound once it is ready;
 * SIGINT/SIGTERM let in-flight calls finish, then exit 0.
 *
 *   npm run serve -- --host 127.0.0.1 --grpc-port 50051 --rest-port 3000
 */
import { parseArgs } from 'node:util';
import * as grpcJs from '@grpc/grpc-js';
import { startGrpcServer } from './grpc-server.ts';
import { startRestServer } from './rest-server.ts';
import {
  DEFAULT_GRPC_PORT,
  DEFAULT_HOST,
  DEFAULT_REST_PORT,
  type RunningServer,
} from './server-options.ts';
import { createSelfSignedTls } from './tls.ts';
import { createCallCounter, reportCallsOnSignal } from './call-counter.ts';
import { durationMs } from '../shared/duration.ts';
import { parseArgsUsageError, UsageError } from '../shared/usage-error.ts';
import { loadGeneratedApi } from './generated/api.ts';
import { startGeneratedGrpcServer } from './generated/grpc.ts';
import { startGeneratedRestServer } from './generated/rest.ts';

const USAGE = `usage: serve [--only grpc|rest] [--host ${DEFAULT_HOST}] [--grpc-port ${DEFAULT_GRPC_PORT}] [--rest-port ${DEFAULT_REST_PORT}] [--tls]
             [--max-connection-age D] [--max-connection-calls N] [--api CARD]
  port 0 picks a free port; --tls serves both over TLS with a certificate generated at start
  --api CARD                serve the API of a card (docs/your-api.md) instead of the calculator:
                            servers generated from its .proto, answering each call's response:
  --max-connection-age D    close each client connection once it is D old (30s, 500ms, 1m):
                            gRPC sends GOAWAY, REST answers the next request with connection: close
  --max-connection-calls N  close each client connection after N calls on it, the same way`;

export interface ServeOptions {
  only: 'grpc' | 'rest' | null;
  host: string;
  grpcPort: number;
  restPort: number;
  tls: boolean;
  /** --max-connection-age in ms; null: no limit. */
  maxConnectionAgeMs: number | null;
  /** --max-connection-calls; null: no limit. */
  maxConnectionCalls: number | null;
  /** --api: the card whose generated servers to start instead of the calculator's; null: the calculator. */
  api: string | null;
}

export function parseServeArgs(argv: string[]): ServeOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        only: { type: 'string' },
        host: { type: 'string', default: DEFAULT_HOST },
        'grpc-port': { type: 'string', default: String(DEFAULT_GRPC_PORT) },
        'rest-port': { type: 'string', default: String(DEFAULT_REST_PORT) },
        tls: { type: 'boolean', default: false },
        'max-connection-age': { type: 'string' },
        'max-connection-calls': { type: 'string' },
        api: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    });
  } catch (error) {
    // node:util's messages (unknown option, missing value, stray positional): their first sentence.
    throw parseArgsUsageError(error);
  }
  const { values } = parsed;
  if (values.help) throw new HelpRequested(USAGE);
  const only = values.only ?? null;
  if (only !== null && only !== 'grpc' && only !== 'rest') {
    throw new UsageError(`--only must be grpc or rest, got "${only}"`);
  }
  return {
    only,
    host: values.host,
    grpcPort: parsePort(values['grpc-port'], '--grpc-port'),
    restPort: parsePort(values['rest-port'], '--rest-port'),
    tls: values.tls,
    maxConnectionAgeMs: values['max-connection-age'] === undefined ? null : parseAge(values['max-connection-age']),
    maxConnectionCalls: values['max-connection-calls'] === undefined ? null : parseCalls(values['max-connection-calls']),
    api: values.api ?? null,
  };
}

function parseAge(text: string): number {
  // Whole ms: grpc-js takes an integer; 2^31-1 ms (24.8 days) is the most a Node timer holds. A DurationError is a UsageError.
  return Math.ceil(durationMs('--max-connection-age', text, { minMs: 1, maxMs: 2 ** 31 - 1 }));
}

function parseCalls(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || !Number.isSafeInteger(Number(text))) {
    throw new UsageError(`--max-connection-calls must be a whole number from 1 up, got "${text}"`);
  }
  return Number(text);
}

/** --help: not an error; main() prints the usage and exits 0. */
class HelpRequested extends Error {}

function parsePort(text: string, flag: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65_535) throw new UsageError(`${flag} must be a port number from 0 to 65535, got "${text}"`);
  return port;
}

/** How long a shutdown waits for in-flight calls before cutting them. */
export const SHUTDOWN_GRACE_MS = 5_000;

/**
 * grpc-js logs its own line ("No address added out of total 1 resolved") before
 * bindAsync reports a failed bind; the CLI already prints one clear line for that,
 * so only this message is dropped. Everything else grpc-js logs passes through.
 */
function quietBindFailureLog(): void {
  grpcJs.setLogger({
    error: (message?: unknown, ...rest: unknown[]) => {
      if (/No address added out of total/.test(String(message)) || rest.some((part) => /No address added out of total/.test(String(part)))) return;
      console.error(message, ...rest);
    },
  });
}

async function main(): Promise<void> {
  const options = parseServeArgs(process.argv.slice(2));
  quietBindFailureLog();
  // A card's generated servers: a bad card stops here, before anything binds, in one line.
  const api = options.api === null ? null : loadGeneratedApi(options.api);
  const tls = options.tls ? await createSelfSignedTls(options.host) : undefined;
  // Calls taken, printed on SIGUSR2 (servers/call-counter.ts): the bench's per-replica shares.
  const counter = createCallCounter();
  reportCallsOnSignal(counter);
  const limits = {
    onCall: counter.count,
    ...(options.maxConnectionAgeMs !== null ? { maxConnectionAgeMs: options.maxConnectionAgeMs } : {}),
    ...(options.maxConnectionCalls !== null ? { maxConnectionCalls: options.maxConnectionCalls } : {}),
  };
  const running: RunningServer[] = [];
  // First SIGINT/SIGTERM: stop accepting, let in-flight calls finish (at most
  // SHUTDOWN_GRACE_MS), exit 0. A second signal cuts the remaining calls at once.
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopping) {
      console.error(`${signal} again: closing remaining connections now`);
      void Promise.all(running.map((server) => server.close(0))).then(() => process.exit(0));
      return;
    }
    stopping = true;
    console.error(`${signal}: finishing in-flight calls, then exiting`);
    void Promise.all(running.map((server) => server.close(SHUTDOWN_GRACE_MS))).then(() => process.exit(0));
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  try {
    if (options.only !== 'rest') {
      const grpcOptions = { host: options.host, port: options.grpcPort, tls, ...limits };
      const grpc = api ? await startGeneratedGrpcServer(api, grpcOptions) : await startGrpcServer(grpcOptions);
      running.push(grpc);
      console.log(`gRPC server listening on ${grpc.address}${tls ? ' (TLS)' : ''}`);
    }
    if (options.only !== 'grpc') {
      const restOptions = { host: options.host, port: options.restPort, tls, ...limits };
      const rest = api ? await startGeneratedRestServer(api, restOptions) : await startRestServer(restOptions);
      running.push(rest);
      console.log(`REST server listening on ${rest.address}`);
    }
  } catch (error) {
    await Promise.all(running.map((server) => server.close(0)));
    throw error;
  }
}

main().catch((error: unknown) => {
  if (error instanceof HelpRequested) {
    console.log(error.message);
    process.exit(0);
  }
  const message = (error instanceof Error ? error.message : String(error)).split('\n')[0];
  console.error(error instanceof UsageError ? `error: ${message} (see --help)` : `error: ${message}`);
  process.exit(error instanceof UsageError ? 2 : 1);
});
