/**
 * grpc-load: a ghz-style command line over grpc-engine, for quick runs by hand.
 *
 *   npm run grpc-load -- --call calculator.v1.Calculator.Add -d '{"a":20,"b":10}' \
 *     -c 64 --connections 1 -z 10s 127.0.0.1:50051
 *
 * Flags follow ghz where they overlap (-c, -n, -z, -d, -m, --rps, --timeout,
 * --connections, --format). Plaintext h2c by default (ghz's --insecure);
 * --tls for TLS with the bench's self-signed certificates.
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { grpcEngine, type GrpcEngineOptions } from '../bench/drivers/grpc-engine.ts';
import { toGhzReport } from '../bench/drivers/ghz-report.ts';
import type { LoadResult } from '../bench/types.ts';
import { OPERATIONS, type Operation } from '../servers/calculator.ts';
import { encodeRequest, METHOD_NAMES, SERVICE_NAME } from '../servers/proto.ts';
import { calculatorMethod } from '../bench/scenario/matrix.ts';
import { DURATION_FORMS, durationMs } from '../shared/duration.ts';
import { UsageError } from '../shared/usage-error.ts';

const USAGE = `usage: grpc-load --call ${SERVICE_NAME}.<Method> [-d JSON] [-c N] [--connections N]
                 [-n N | -z DURATION] [--rps N] [--timeout DURATION] [-m JSON] [--tls]
                 [--format summary|json|ghz] host:port
  methods: ${OPERATIONS.map((op) => METHOD_NAMES[op]).join(', ')}; durations: ${DURATION_FORMS}`;

export interface CliRun {
  options: GrpcEngineOptions;
  call: string;
  format: 'summary' | 'json' | 'ghz';
}

export function parseCli(argv: string[]): CliRun {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        call: { type: 'string' },
        data: { type: 'string', short: 'd' },
        concurrency: { type: 'string', short: 'c', default: '50' },
        connections: { type: 'string', default: '1' },
        total: { type: 'string', short: 'n' },
        duration: { type: 'string', short: 'z' },
        rps: { type: 'string', short: 'r' },
        timeout: { type: 'string', short: 't', default: '20s' },
        metadata: { type: 'string', short: 'm' },
        format: { type: 'string', short: 'O', default: 'summary' },
        tls: { type: 'boolean', default: false },
        insecure: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0].split('. To specify')[0]);
  }
  const { values, positionals } = parsed;
  if (values.help) throw new UsageError('help');
  if (positionals.length !== 1) throw new UsageError(`expected one host:port, got ${positionals.length}`);
  const match = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(positionals[0]);
  if (!match) throw new UsageError(`target must be host:port, got "${positionals[0]}"`);
  const host = match[1].replace(/^\[|\]$/g, '');
  const port = Number(match[2]);
  if (port < 1 || port > 65_535) throw new UsageError(`port must be 1-65535, got ${port}`);

  if (!values.call) throw new UsageError(`--call is required, e.g. --call ${SERVICE_NAME}.Add`);
  const methodMatch = /^\/?(.+)[./]([A-Za-z]+)$/.exec(values.call);
  const operation = OPERATIONS.find((op) => METHOD_NAMES[op] === methodMatch?.[2]);
  if (!methodMatch || methodMatch[1] !== SERVICE_NAME || operation === undefined) {
    throw new UsageError(`unknown --call "${values.call}"; expected ${SERVICE_NAME}.<${OPERATIONS.map((op) => METHOD_NAMES[op]).join('|')}>`);
  }

  const input = parseJsonObject(values.data ?? defaultData(operation), '-d');
  let protobuf: Uint8Array;
  try {
    protobuf = encodeRequest(operation, input);
  } catch (error) {
    throw new UsageError(`-d does not fit the ${METHOD_NAMES[operation]} request: ${(error as Error).message}`);
  }
  const metadataObject = values.metadata === undefined ? undefined : parseJsonObject(values.metadata, '-m');
  const metadata: Record<string, string> | undefined = metadataObject && {};
  for (const [key, value] of Object.entries(metadataObject ?? {})) {
    if (typeof value !== 'string') throw new UsageError(`-m: value of "${key}" must be a string`);
    if (!/^[0-9a-zA-Z_.-]+$/.test(key) || key.toLowerCase().startsWith('grpc-')) throw new UsageError(`-m: invalid metadata key "${key}"`);
    metadata![key] = value;
  }

  const concurrency = positiveInteger(values.concurrency, '-c');
  const connections = positiveInteger(values.connections, '--connections');
  if (connections > concurrency) throw new UsageError(`--connections (${connections}) must not exceed -c (${concurrency})`);
  if (values.total !== undefined && values.duration !== undefined) throw new UsageError('give -n or -z, not both');
  const requests = values.total !== undefined ? positiveInteger(values.total, '-n') : values.duration === undefined ? 200 : undefined;
  const durationS = values.duration !== undefined ? parseDuration(values.duration, '-z') / 1000 : 0;
  const rate = values.rps !== undefined ? positiveNumber(values.rps, '--rps') : undefined;
  const timeoutMs = parseDuration(values.timeout, '--timeout');
  const format = values.format;
  if (format !== 'summary' && format !== 'json' && format !== 'ghz') {
    throw new UsageError(`--format must be summary, json or ghz, got "${format}"`);
  }
  if (values.tls && values.insecure) throw new UsageError('--tls and --insecure contradict each other');

  return {
    call: `${SERVICE_NAME}.${METHOD_NAMES[operation]}`,
    format,
    options: {
      target: { protocol: 'grpc', host, port, tls: values.tls },
      payload: {
        method: calculatorMethod(operation),
        restPath: `/v1/${operation}`,
        input,
        json: Buffer.from(JSON.stringify(input)),
        protobuf,
      },
      concurrency,
      connections,
      durationS,
      ...(requests !== undefined ? { requests } : {}),
      ...(rate !== undefined ? { rate } : {}),
      timeoutMs,
      ...(metadata ? { metadata } : {}),
    },
  };
}

function defaultData(operation: Operation): string {
  return operation === 'sum' ? '{"values":[1,2,3]}' : '{"a":20,"b":10}';
}

function parseJsonObject(text: string, flag: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${flag} is not valid JSON: ${(error as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new UsageError(`${flag} must be a JSON object`);
  return value as Record<string, unknown>;
}

function positiveInteger(text: string, flag: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new UsageError(`${flag} must be a positive integer, got "${text}"`);
  return Number(text);
}

function positiveNumber(text: string, flag: string): number {
  const value = Number(text);
  if (!(value > 0) || !Number.isFinite(value)) throw new UsageError(`${flag} must be a positive number, got "${text}"`);
  return value;
}

/** A duration in ms in the bench's one syntax (shared/duration.ts), above 0 and at most a day. */
export function parseDuration(text: string, flag: string): number {
  return durationMs(flag, text, { minMs: 1, maxMs: 86_400_000 });
}

function formatMs(us: number): string {
  return `${(us / 1000).toFixed(2)} ms`;
}

export function formatSummary(result: LoadResult): string {
  const h = result.latencyUs;
  const lines = [
    'Summary:',
    `  Count:\t${result.calls}`,
    `  Total:\t${(result.elapsedS * 1000).toFixed(2)} ms`,
    `  Slowest:\t${formatMs(h.maxValue)}`,
    `  Fastest:\t${formatMs(h.totalCount ? h.minNonZeroValue : 0)}`,
    `  Average:\t${formatMs(h.mean)}`,
    `  Requests/sec:\t${(result.elapsedS > 0 ? result.calls / result.elapsedS : 0).toFixed(2)}`,
    '',
    'Latency distribution:',
    ...[10, 25, 50, 75, 90, 95, 99, 99.9].map((p) => `  ${p} % in ${formatMs(h.getValueAtPercentile(p))}`),
    '',
    'Status code distribution:',
    ...Object.entries(result.statusCounts).map(([status, n]) => `  [${status}]\t${n} responses`),
  ];
  if (result.socketBytes) lines.push('', `Socket bytes: ${result.socketBytes.sent} sent, ${result.socketBytes.received} received`);
  if (result.failure) lines.push('', `Ended early: ${result.failure}`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  let cli: CliRun;
  try {
    cli = parseCli(process.argv.slice(2));
  } catch (error) {
    // A DurationError (-z, --timeout) is a UsageError too.
    if (error instanceof UsageError) {
      if (error.message === 'help') {
        console.log(USAGE);
        process.exit(0);
      }
      console.error(`grpc-load: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  let result: LoadResult;
  try {
    result = await grpcEngine.run({ ...cli.options, signal: controller.signal });
  } catch (error) {
    console.error(`grpc-load: ${(error as Error).message}`);
    process.exit(2);
  }
  const cpu = process.cpuUsage(cpuBefore);
  if (cli.format === 'ghz') {
    console.log(JSON.stringify(toGhzReport(result, cli.options, { call: cli.call }), null, 2));
  } else if (cli.format === 'json') {
    const h = result.latencyUs;
    console.log(
      JSON.stringify(
        {
          calls: result.calls,
          errors: result.errors,
          statusCounts: result.statusCounts,
          elapsedS: result.elapsedS,
          callsPerS: result.elapsedS > 0 ? result.calls / result.elapsedS : 0,
          latencyUs: {
            min: h.totalCount ? h.minNonZeroValue : 0,
            mean: h.mean,
            p50: h.getValueAtPercentile(50),
            p90: h.getValueAtPercentile(90),
            p99: h.getValueAtPercentile(99),
            p999: h.getValueAtPercentile(99.9),
            max: h.maxValue,
          },
          socketBytes: result.socketBytes,
          clientCpuUsPerCall: result.calls > 0 ? (cpu.user + cpu.system) / result.calls : null,
          wallS: (performance.now() - started) / 1000,
          ...(result.failure ? { failure: result.failure } : {}),
        },
        null,
        2,
      ),
    );
  } else {
    console.log(formatSummary(result));
  }
  // A run that could not happen (server unreachable) is a failure; an aborted run printed what it had.
  process.exit(result.failure && result.failure !== 'aborted' ? 1 : 0);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
