/**
 * `npm run bench -- --contenders all|name,...`: the servers of servers/contenders/
 * instead of the default pair (grpc-js, express). Each contender runs in its own (pinned)
 * child process (servers/contenders/serve-contender.ts through
 * bench/host/server-process.ts), passes the conformance table
 * (servers/contenders/conformance.ts) or is reported and not measured, and is
 * then loaded like any other target:
 * - gRPC contenders (grpc-js, connect-grpc, node-http2-grpc) as gRPC targets,
 *   with the gRPC driver (grpc-engine by default);
 * - every other contender as a REST target carrying its call (Target.call:
 *   wire, path, content-type, JSON or protobuf body): HTTP/1.1 ones with the
 *   REST driver (autocannon by default), h2 ones (JSON over h2c) with our
 *   HTTP/2 engine in its plain-HTTP mode (grpc-engine), unless the REST driver
 *   speaks h2 itself (h2load, `--driver h2load` runs everything through h2load).
 * Connections follow the wire: an h2 contender gets the gRPC side's (one
 * connection, streams multiplexed), an HTTP/1.1 one the REST side's (one per
 * call in flight).
 */
import { fileURLToPath } from 'node:url';
import { contenderLanguage, contenderModule, getContender, type Contender } from '../../servers/contenders/index.ts';
import { checkContenderConformance } from '../../servers/contenders/conformance.ts';
import type { BenchOptions } from '../options/options.ts';
import type { ContenderInfo, ContenderReport } from '../results/record.ts';
import { pidsListeningOn } from './listening-pids.ts';
import { startServerProcess, type ServerProcess } from './server-process.ts';
import type { Driver, HttpCall, Protocol, Target } from '../types.ts';

const SERVE_CONTENDER = fileURLToPath(new URL('../../servers/contenders/serve-contender.ts', import.meta.url));

/** One measured contender: what the runner needs to load it. */
export interface ContenderSetup {
  protocol: Protocol;
  driver: Driver;
  target: Target;
  server: ServerProcess;
  contender: ContenderInfo;
  /** Shown in progress lines and used as the server's key. */
  label: string;
  /** Whose connection count of the scenario it uses: 'grpc' (h2, multiplexed) or 'rest' (HTTP/1.1, one per call in flight). */
  connectionsOf: Protocol;
}

export function contenderInfo(contender: Contender): ContenderInfo {
  return {
    name: contender.name,
    wire: contender.wire,
    encoding: contender.encoding,
    implementation: contender.implementation,
    ...(contenderLanguage(contender) !== 'node' ? { language: contenderLanguage(contender) } : {}),
    ...(contender.isDefault ? { isDefault: true } : {}),
  };
}

/**
 * The process that serves a contender: the one holding its listening socket.
 * That is serve-contender.ts itself for a Node contender, and the child it
 * started for a Go one (servers/contenders/go-contenders.ts), whose CPU and
 * memory are the server's. The started process when none (or several) is found.
 */
function servingProcess(server: ServerProcess): ServerProcess {
  const { target } = server;
  const url = target.protocol === 'grpc' ? null : new URL(target.url);
  const host = target.protocol === 'grpc' ? target.host : url!.hostname.replace(/^\[|\]$/g, '');
  const port = target.protocol === 'grpc' ? target.port : Number(url!.port);
  const pids = pidsListeningOn(host, port);
  if (pids.length !== 1 || pids[0] === server.pid) return server;
  const pid = pids[0]!;
  return {
    protocol: server.protocol,
    pid,
    target,
    exited: server.exited,
    get hasExited() {
      return server.hasExited;
    },
    stop: () => server.stop(),
  };
}

/** gRPC-style contenders are gRPC targets; the rest are REST targets with their own call. */
export function contenderProtocol(contender: Contender): Protocol {
  return contender.client.style === 'grpc' ? 'grpc' : 'rest';
}

export function contenderCall(contender: Contender): HttpCall {
  // REST-style clients route by the method's REST path; Connect (and gRPC-style routes) by its gRPC path.
  const route = contender.client.style === 'rest-json' || contender.client.style === 'rest-protobuf' ? 'rest' : 'grpc-path';
  return { wire: contender.wire, route, contentType: contender.client.contentType, body: contender.encoding };
}

/** The target a contender's ready line names (`<name> server listening on <address>`). */
export function contenderTarget(contender: Contender, address: string, tls = false): Target {
  const url = new URL(/^[a-z]+:\/\//i.test(address) ? address : `${tls ? 'https' : 'http'}://${address}`);
  if (contenderProtocol(contender) === 'grpc') {
    return { protocol: 'grpc', host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port), ...(tls ? { tls: true } : {}) };
  }
  return { protocol: 'rest', url: url.origin, call: contenderCall(contender) };
}

export interface ContenderStart {
  setups: ContenderSetup[];
  /** Every contender asked for, measured or not. */
  reports: ContenderReport[];
  notes: string[];
}

/**
 * Starts every contender (in parallel, each in its own process), checks its
 * conformance, stops the ones that fail and returns the others ready to load.
 * A contender that does not start is reported like one that fails conformance.
 */
export async function startContenders(
  options: Pick<BenchOptions, 'contenders' | 'tls'>,
  /** The load generator for a contender, and a note when it is not the one --driver asked for (bench/run/setups.ts). */
  driverOf: (contender: Contender) => { driver: Driver; note: string | null },
  prefix: string[],
  servers: Map<string, ServerProcess>,
  host = '127.0.0.1',
): Promise<ContenderStart> {
  const contenders = (options.contenders ?? []).map(getContender);
  const notes: string[] = [];
  const results = await Promise.all(
    contenders.map(async (contender): Promise<{ report: ContenderReport; setup: ContenderSetup | null }> => {
      const info = contenderInfo(contender);
      const notMeasured = (failure: string | null, conformance: ContenderReport['conformance']) => ({
        report: { ...info, measured: false, conformance, failure },
        setup: null,
      });
      const { driver, note } = driverOf(contender);
      if (note) notes.push(note);
      const unavailable = contender.unavailable?.() ?? null;
      if (unavailable !== null) return notMeasured(`unavailable: ${unavailable}`, { passed: false, cases: 0, failures: [] });
      let server: ServerProcess;
      try {
        server = await startContenderProcess(contender, prefix, host, options.tls);
      } catch (error) {
        return notMeasured(`did not start: ${(error as Error).message}`, { passed: false, cases: 0, failures: [] });
      }
      const target = server.target;
      const address = target.protocol === 'grpc' ? `${target.tls ? 'https://' : ''}${target.host}:${target.port}` : target.url;
      const conformance = await checkContenderConformance(contender, address);
      if (!conformance.passed) {
        await server.stop();
        return notMeasured(null, conformance);
      }
      servers.set(contender.name, server);
      return {
        report: { ...info, measured: true, conformance, failure: null },
        setup: {
          protocol: contenderProtocol(contender),
          driver,
          target,
          server,
          contender: info,
          label: contender.name,
          connectionsOf: contender.wire === 'h2' ? 'grpc' : 'rest',
        },
      };
    }),
  );
  for (const { report } of results) {
    if (!report.measured) notes.push(`contender ${report.name} not measured: ${notMeasuredReason(report)}`);
  }
  return {
    setups: results.flatMap(({ setup }) => (setup ? [setup] : [])),
    reports: results.map(({ report }) => report),
    notes,
  };
}

/**
 * One contender in its own (pinned) process, ready: its prepare() first (a
 * build, outside the ready timeout), then serve-contender.ts until its
 * listening line; the pid is the process holding the listening socket.
 */
export async function startContenderProcess(contender: Contender, prefix: string[], host = '127.0.0.1', tls = false): Promise<ServerProcess> {
  await contender.prepare?.();
  const module = contenderModule(contender.name);
  const server = await startServerProcess({
    protocol: contenderProtocol(contender),
    prefix,
    command: {
      script: SERVE_CONTENDER,
      args: ['--contender', contender.name, '--host', host, '--port', '0', ...(tls ? ['--tls'] : []), ...(module ? ['--module', module] : [])],
      ready: new RegExp(`^${escapeRegExp(contender.name)} server listening on (\\S+)`, 'm'),
      // With --tls the server speaks TLS with a certificate generated at start (the bench's clients accept it explicitly).
      target: (match) => contenderTarget(contender, match[1]!, tls),
      label: `${contender.name} server`,
      healthCheck: false,
    },
  });
  return servingProcess(server);
}

/** Why a contender was not measured, in one line (reports). */
export function notMeasuredReason(report: ContenderReport): string {
  if (report.failure) return report.failure;
  const { failures, cases } = report.conformance;
  return `failed conformance, ${failures.length} of ${cases} cases: ${failures.slice(0, 3).join('; ')}${failures.length > 3 ? '; …' : ''}`;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
