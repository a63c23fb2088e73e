/**
 * The load generators the bench knows, by name. The runner looks drivers up
 * here and nowhere else, so adding one (h2load, ghz, a grpc-js client) is one
 * import and one line below.
 */
import type { DriverCatalog } from '../options/options.ts';
import type { Driver, Protocol } from '../types.ts';
import { autocannonDriver } from './autocannon.ts';
import { ghzDriver } from './ghz.ts';
import { grpcEngine } from './grpc-engine.ts';
import { grpcJsClientDriver, undiciClientDriver } from './clients.ts';
import { findH2load, H2LOAD_INSTALL_HINT, h2loadDriver, h2loadWireBytes, type H2loadResult } from './h2load.ts';
import { http1Engine } from './http1-engine.ts';

/**
 * h2load as the runner sees it: its extras turned into LoadResult's generic
 * fields (the runner knows nothing of h2load), no open loop, and a one-line
 * reason with the install command when the binary is missing.
 */
const h2loadForBench: Driver = {
  ...h2loadDriver, // name, protocols and its other capability flags
  openLoop: false,
  unavailable: () =>
    findH2load() === null ? `h2load is not installed (not found on PATH); install it with: ${H2LOAD_INSTALL_HINT}` : null,
  async run(options) {
    const result = (await h2loadDriver.run(options)) as H2loadResult;
    const traffic = result.h2loadTraffic ?? null;
    const wire = h2loadWireBytes(traffic, options.target.protocol);
    return {
      ...result,
      wireFromDriver:
        traffic === null || wire.countedBy === null
          ? null
          : {
              countedBy: 'h2load',
              requestBytesPerCall: wire.requestBytesPerCall,
              responseBytesPerCall: wire.responseBytesPerCall,
              requestHeaderBytesPerCall: wire.requestHeaderBytesPerCall,
              responseHeaderBytesPerCall: wire.responseHeaderBytesPerCall,
              headerSpaceSavingsPercent: traffic.headerSpaceSavingsPercent,
            },
      ...(result.grpcStatusChecked === false ? { statusChecked: 'http-status-only' as const } : {}),
    };
  },
};

/** Built-in drivers that honour LoadOptions.rate (open loop, latency from the due time). */
const OPEN_LOOP: ReadonlySet<string> = new Set([grpcEngine.name, http1Engine.name, grpcJsClientDriver.name, undiciClientDriver.name]);

export const DRIVERS: Readonly<Record<string, Driver>> = {
  [grpcEngine.name]: grpcEngine,
  [autocannonDriver.name]: autocannonDriver,
  [h2loadForBench.name]: h2loadForBench,
  [http1Engine.name]: http1Engine,
  [grpcJsClientDriver.name]: grpcJsClientDriver,
  [undiciClientDriver.name]: undiciClientDriver,
  [ghzDriver.name]: ghzDriver,
};

/** name -> protocols it can drive, for option validation. */
export function driverCatalog(): DriverCatalog {
  return Object.fromEntries(Object.entries(DRIVERS).map(([name, driver]) => [name, driver.protocols]));
}

/** Whether the driver runs an open loop for LoadOptions.rate (autocannon and h2load do not). */
export function canRunOpenLoop(driver: Driver): boolean {
  return driver.openLoop ?? OPEN_LOOP.has(driver.name);
}

/** Names of the registered drivers that can run an open loop. */
export function openLoopDriverNames(): string[] {
  return Object.values(DRIVERS).filter(canRunOpenLoop).map((driver) => driver.name);
}

export function getDriver(name: string, protocol: Protocol): Driver {
  const driver = DRIVERS[name];
  if (!driver) throw new Error(`unknown driver "${name}"; known: ${Object.keys(DRIVERS).join(', ')}`);
  if (!driver.protocols.includes(protocol)) throw new Error(`driver ${name} cannot drive ${protocol}`);
  return driver;
}
