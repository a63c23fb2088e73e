/**
 * The load generators the bench knows, by name. The runner looks drivers up
 * here and nowhere else, so adding one (h2load, ghz, a grpc-js client) is one
 * import and one line below.
 */
import type { DriverCatalog } from '../options.ts';
import type { Driver, Protocol } from '../types.ts';
import { autocannonDriver } from './autocannon.ts';
import { ghzDriver } from './ghz.ts';
import { grpcEngine } from './grpc-engine.ts';
import { grpcJsClientDriver, undiciClientDriver } from './clients.ts';
import { h2loadDriver } from './h2load.ts';
import { http1Engine } from './http1-engine.ts';

export const DRIVERS: Readonly<Record<string, Driver>> = {
  [grpcEngine.name]: grpcEngine,
  [autocannonDriver.name]: autocannonDriver,
  [h2loadDriver.name]: h2loadDriver,
  [http1Engine.name]: http1Engine,
  [grpcJsClientDriver.name]: grpcJsClientDriver,
  [undiciClientDriver.name]: undiciClientDriver,
  [ghzDriver.name]: ghzDriver,
};

/** name -> protocols it can drive, for option validation. */
export function driverCatalog(): DriverCatalog {
  return Object.fromEntries(Object.entries(DRIVERS).map(([name, driver]) => [name, driver.protocols]));
}

export function getDriver(name: string, protocol: Protocol): Driver {
  const driver = DRIVERS[name];
  if (!driver) throw new Error(`unknown driver "${name}"; known: ${Object.keys(DRIVERS).join(', ')}`);
  if (!driver.protocols.includes(protocol)) throw new Error(`driver ${name} cannot drive ${protocol}`);
  return driver;
}
