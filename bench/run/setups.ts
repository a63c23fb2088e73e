/**
 * The subjects a bench measures and their servers: the bench's own servers
 * (one per protocol), replicas behind the bench's proxies (--proxy), or the
 * external targets, each checked before any load (reachable, pre-flight,
 * processes found). One ProtocolSetup per subject: its driver, its target and
 * the processes whose CPU and memory the row reports.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DRIVERS, getDriver } from '../drivers/index.ts';
import type { BenchOptions } from '../options/options.ts';
import { serverPinPrefix, type Pinning } from '../host/pinning.ts';
import { readCpuMs } from '../host/process-stats.ts';
import type { ProgressSink } from './progress.ts';
import type { RunRecord } from '../results/record.ts';
import { startServerProcess, type ServerProcess } from '../host/server-process.ts';
import { checkReachable, describeTarget } from '../host/readiness.ts';
import { preflightTarget, targetProcesses } from '../host/external-targets.ts';
import type { Driver, Protocol, Target } from '../types.ts';
import type { EmulatedLink } from '../network/link.ts';
import { generatedServerCard } from './card.ts';
import { startProxy, type Address } from '../host/proxy.ts';
import { connectionLimitArgs } from '../host/replicas.ts';
import { externalProxy } from '../host/external-proxy.ts';
import { BenchSetupError } from './errors.ts';
import { contenderProtocol, startContenders } from '../host/contenders.ts';
import type { Contender } from '../../servers/contenders/index.ts';
import type { ContenderReport } from '../results/record.ts';

export interface ProtocolSetup {
  protocol: Protocol;
  driver: Driver;
  target: Target;
  server: ServerProcess | null;
  /** An external target's processes (bench/host/external-targets.ts), read for the server columns, and where they came from. */
  externalPids?: number[];
  externalNote?: string;
  /** --contenders (bench/host/contenders.ts): the server measured, its label (progress, keys) and whose connection count it takes. */
  contender?: RunRecord['contender'];
  label?: string;
  connectionsOf?: Protocol;
  /** Where the calls go (--proxy, or a known proxy holding an external target's port); absent: direct, TLS as the options say. */
  place?: RunRecord['place'];
  /** Behind the bench's proxy: the replicas whose calls and CPU the row reports (their sum is the server's). */
  replicas?: ServerProcess[];
  /** A proxy's processes: their CPU is the proxy's (proxyCpuMsPer1kCalls), not the server's. */
  proxyPids?: number[];
}

/** An external target's processes (checkExternalTargets), and the known proxy holding its port, if one does. */
export type ExternalProcesses = { pids: number[]; note: string; proxy?: string; proxyPids?: number[] };

/**
 * The servers the bench did not start, before it starts any: each must answer
 * (any answer: bench/host/readiness.ts), pass the pre-flight conformance check
 * and, where it runs here, have its processes found. Returns them per protocol.
 */
export async function checkExternalTargets(options: BenchOptions, progress: ProgressSink): Promise<Map<Protocol, ExternalProcesses>> {
  const found = new Map<Protocol, ExternalProcesses>();
  for (const protocol of options.protocols) {
    const target = externalTarget(options, protocol);
    if (!target) continue;
    const name = describeTarget(target);
    try {
      progress.log(`${name}: ready (${await checkReachable(target, 3_000)})`);
    } catch (error) {
      throw new BenchSetupError(`${name} is unreachable: ${(error as Error).message}`);
    }
    // An API card's targets are checked by the equivalence check once every server is up; the calculator's here.
    if (options.api === null) {
      const preflight = await preflightTarget(target, options.ops);
      if (!preflight.passed) {
        const { failures, cases } = preflight;
        throw new BenchSetupError(
          `pre-flight check failed (${failures.length} of ${cases} calls), not measured: ${failures.slice(0, 3).join('; ')}${failures.length > 3 ? '; …' : ''}`,
        );
      }
      progress.log(`${name}: pre-flight check passed (${preflight.cases} calls answered as the calculator does)`);
    }
    const pidFlag = protocol === 'grpc' ? '--grpc-pid' : '--rest-pid';
    const givenPid = protocol === 'grpc' ? options.grpcPid : options.restPid;
    const processes = targetProcesses(target, givenPid);
    const proxy = externalProxy(target);
    if (proxy !== null) {
      const server = givenPid === null ? `the server behind it not measured (${pidFlag} N gives its process)` : `server CPU and memory of pid ${givenPid} (given)`;
      found.set(protocol, { pids: givenPid === null ? [] : [givenPid], proxy: proxy.proxy, proxyPids: proxy.pids, note: `port held by ${proxy.proxy} (pid${proxy.pids.length > 1 ? 's' : ''} ${proxy.pids.join(', ')}): its CPU is the proxy's; ${server}` });
      progress.log(`${name}: ${found.get(protocol)!.note}`);
      continue;
    }
    if (processes.pids === null) {
      found.set(protocol, { pids: [], note: `server CPU and memory not measured: ${processes.why} (${pidFlag} N gives its process)` });
    } else {
      if (givenPid !== null && readCpuMs(givenPid) === null) throw new BenchSetupError(`${pidFlag} ${givenPid}: no such process readable in /proc`);
      found.set(protocol, { pids: processes.pids, note: `server CPU and memory of ${processes.how}` });
    }
    progress.log(`${name}: ${found.get(protocol)!.note}`);
  }
  return found;
}

export function externalTarget(options: BenchOptions, protocol: Protocol): Target | null {
  if (protocol === 'grpc' && options.grpcTarget) return { protocol: 'grpc', ...options.grpcTarget, ...(options.tls ? { tls: true } : {}) };
  if (protocol === 'rest' && options.restTarget) return { protocol: 'rest', url: options.restTarget };
  return null;
}

export async function startServers(
  options: BenchOptions,
  pinning: Pinning | null,
  servers: Map<string, ServerProcess>,
  signal: AbortSignal,
  link: EmulatedLink | null,
  externals: ReadonlyMap<Protocol, { pids: number[]; note: string }>,
): Promise<ProtocolSetup[]> {
  // Behind an emulated link the servers run in its namespace (taskset still pins them) and bind its address.
  const prefix = [...(link?.prefix ?? []), ...serverPinPrefix(pinning)];
  const generatedCard = generatedServerCard(options);
  const started = await Promise.allSettled(
    options.protocols.map(async (protocol): Promise<ProtocolSetup> => {
      const driver = getDriver(options.drivers[protocol], protocol);
      const target = externalTarget(options, protocol);
      const external = externals.get(protocol);
      if (target) return { protocol, driver, target, server: null, externalPids: external?.pids ?? [], ...(external ? { externalNote: external.note } : {}) };
      const server = await startServerProcess({
        protocol,
        port: protocol === 'grpc' ? options.grpcPort : options.restPort,
        prefix,
        ...(link ? { host: link.serverAddress } : {}),
        tls: options.tls,
        serveArgs: connectionLimitArgs(options),
        // --api with a card of its own: servers generated from it (the calculator's card keeps the calculator's servers).
        ...(generatedCard !== null ? { api: generatedCard } : {}),
      });
      servers.set(protocol, server);
      return { protocol, driver, target: server.target, server };
    }),
  );
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    if (signal.aborted) throw signal.reason;
    throw new BenchSetupError((failed.reason as Error).message);
  }
  return started.map((s) => (s as PromiseFulfilledResult<ProtocolSetup>).value);
}

/**
 * --proxy: options.replicas servers per protocol, then each proxy of options.proxies in front of them
 * (bench/host/proxy.ts), its config, pid file and logs in the run folder. One setup per place and protocol,
 * in the order of --proxy; 'direct' loads the first replica straight.
 */
export async function startPlaces(options: BenchOptions, pinning: Pinning | null, servers: Map<string, ServerProcess>, link: EmulatedLink | null, dir: string): Promise<ProtocolSetup[]> {
  // Behind an emulated link the replicas and the proxy run in its namespace, at its server address.
  const prefix = [...(link?.prefix ?? []), ...serverPinPrefix(pinning)];
  const host = link?.serverAddress ?? '127.0.0.1';
  const started = await Promise.allSettled(
    options.protocols.flatMap((protocol) =>
      Array.from({ length: options.replicas }, async (_, i) => {
        // With --tls every hop is TLS: the replicas serve it too (bench/host/proxy.ts).
        const server = await startServerProcess({ protocol, port: 0, prefix, host, tls: options.tls, serveArgs: connectionLimitArgs(options) });
        servers.set(`${protocol}#${i + 1}`, server);
        return server;
      }),
    ),
  );
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw new BenchSetupError((failed.reason as Error).message);
  const replicas = (protocol: Protocol): ServerProcess[] => options.protocols.includes(protocol) ? [...Array(options.replicas).keys()].map((i) => servers.get(`${protocol}#${i + 1}`)!) : [];
  const address = (target: Target): Address => (target.protocol === 'grpc' ? { host: target.host, port: target.port } : { host: new URL(target.url).hostname, port: Number(new URL(target.url).port) });
  let template: { file: string; text: string } | null = null;
  if (options.proxyConfig !== null) {
    try {
      template = { file: options.proxyConfig, text: readFileSync(options.proxyConfig, 'utf8') };
    } catch (error) {
      throw new BenchSetupError(`--proxy-config ${options.proxyConfig}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }
  const setups: ProtocolSetup[] = [];
  for (const place of options.proxies) {
    if (place === 'direct') {
      for (const protocol of options.protocols) {
        const server = replicas(protocol)[0]!;
        setups.push({ protocol, driver: getDriver(options.drivers[protocol], protocol), target: server.target, server, label: `${protocol}@direct`, place: { tls: options.tls, proxy: null, replicas: null, balance: null } });
      }
      continue;
    }
    let proxy;
    try {
      proxy = await startProxy({
        kind: place,
        balance: options.balance ?? 'l7',
        host,
        upstreams: Object.fromEntries(options.protocols.map((protocol) => [protocol, replicas(protocol).map((server) => address(server.target))])),
        dir: path.join(dir, `proxy-${place}`),
        template,
        prefix,
        tls: options.tls,
      });
    } catch (error) {
      throw new BenchSetupError((error as Error).message);
    }
    servers.set(`proxy:${place}`, proxy);
    for (const protocol of options.protocols) {
      setups.push({
        protocol,
        driver: getDriver(options.drivers[protocol], protocol),
        target: proxy.targets[protocol]!,
        server: null,
        label: `${protocol}@${proxy.name}`,
        place: { tls: options.tls, proxy: proxy.name, replicas: options.replicas, balance: options.balance },
        replicas: replicas(protocol),
        proxyPids: proxy.pids,
      });
    }
  }
  return setups;
}

/** A known proxy holding an external target's port (checkExternalTargets): the setup records it as the row's place, its CPU as the proxy's. */
export function withExternalProxies(setups: ProtocolSetup[], externals: ReadonlyMap<Protocol, ExternalProcesses>, tls: boolean): ProtocolSetup[] {
  return setups.map((setup) => {
    const external = setup.server === null ? externals.get(setup.protocol) : undefined;
    if (!external?.proxy) return setup;
    return { ...setup, proxyPids: external.proxyPids ?? [], place: { tls, proxy: external.proxy, replicas: null, balance: null } };
  });
}

/**
 * The servers of a bench over its passes: started for the first pass, kept
 * while they can stay, stopped and started again when they must move
 * (loopback <-> behind the emulated link) or change TLS. Once watched, a
 * server that exits aborts the bench with its reason.
 */
export class Serving {
  /** Keyed by protocol, by contender name with --contenders, or protocol#replica and proxy:<name> with --proxy. */
  readonly servers = new Map<string, ServerProcess>();
  setups: ProtocolSetup[] = [];
  /** --contenders: every contender asked for, measured or not (set when they start). */
  contenderReports: ContenderReport[] | null = null;
  private place: { behindLink: boolean; tls: boolean } | null = null;
  private stopping = false;

  constructor(
    private readonly input: {
      options: BenchOptions;
      pinning: Pinning | null;
      externals: ReadonlyMap<Protocol, ExternalProcesses>;
      /** The run folder (a proxy's config and logs go there). */
      dir: string;
      signal: AbortSignal;
      /** Notes for the user (contenders not measured, ...). */
      notes: string[];
    },
  ) {}

  /** The servers for a pass (TLS setting, behind `link` or on loopback); true when they (re)started. */
  async enter(tls: boolean, link: EmulatedLink | null): Promise<boolean> {
    const place = { behindLink: link !== null, tls };
    if (this.place !== null && this.place.behindLink === place.behindLink && this.place.tls === place.tls) return false;
    await this.stop();
    this.servers.clear();
    this.stopping = false;
    const { options, pinning, externals, dir, signal } = this.input;
    const passOptions: BenchOptions = { ...options, tls };
    // Behind an emulated link every server runs in its namespace and binds its address, contenders too.
    if (options.contenders) {
      const start = await startContenders(passOptions, (contender) => contenderDriver(options, contender), [...(link?.prefix ?? []), ...serverPinPrefix(pinning)], this.servers, link?.serverAddress);
      this.input.notes.push(...start.notes);
      this.setups = start.setups;
      this.contenderReports ??= start.reports;
    } else if (options.proxies.length > 0) {
      this.setups = await startPlaces(passOptions, pinning, this.servers, link, dir);
    } else {
      this.setups = withExternalProxies(await startServers(passOptions, pinning, this.servers, signal, link, externals), externals, tls);
    }
    this.place = place;
    return true;
  }

  /** From now on a server that exits aborts the bench (`abort` gets its reason). */
  watch(abort: (reason: Error) => void): void {
    for (const server of this.servers.values()) {
      void server.exited.then((reason) => {
        if (!this.stopping) abort(new Error(reason));
      });
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.servers.values()].map((server) => server.stop()));
  }
}

/** The load generator for a contender, and a note when it is not the one --driver asked for. */
export function contenderDriver(options: Pick<BenchOptions, 'drivers'>, contender: Contender): { driver: Driver; note: string | null } {
  const protocol = contenderProtocol(contender);
  const asked = DRIVERS[options.drivers[protocol]];
  if (!asked) throw new Error(`unknown driver "${options.drivers[protocol]}"`);
  if (protocol === 'grpc') return { driver: asked, note: null };
  const wire = contender.wire;
  if ((asked.restWires ?? []).includes(wire)) return { driver: asked, note: null };
  const fallback = wire === 'h2' ? DRIVERS['grpc-engine']! : DRIVERS.autocannon!;
  return {
    driver: fallback,
    note: `${contender.name} (${wire === 'h2' ? 'HTTP/2' : 'HTTP/1.1'}, ${contender.client.contentType}) runs on ${fallback.name}: ${asked.name} cannot send that call`,
  };
}
