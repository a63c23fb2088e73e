/**
 * --driver: the load generator of each protocol, and the defaults that follow
 * from the other flags (an open loop, an emulated link, an API card).
 */
import { UsageError } from '../../shared/usage-error.ts';
import { PROTOCOLS, type Protocol } from '../types.ts';
import type { DriverCatalog } from './bench-options.ts';
import { DEFAULT_DRIVERS, DRIVER_ALIASES, OPEN_LOOP_DEFAULT_DRIVERS } from './profiles.ts';
import { oneOf, parseList } from './values.ts';

/**
 * `openLoopFlag`: the flag that asks for an open loop (--rate, --slo), or null
 * for a closed loop; `behindLink`: some condition of --network is not loopback.
 */
export function resolveDrivers(
  text: string | undefined,
  catalog: DriverCatalog,
  openLoopFlag: string | null,
  behindLink: boolean,
  apiCard = false,
): { drivers: Record<Protocol, string>; notes: string[] } {
  const defaults = openLoopFlag === null && !behindLink && !apiCard ? DEFAULT_DRIVERS : OPEN_LOOP_DEFAULT_DRIVERS;
  const drivers: Record<Protocol, string> = { ...defaults };
  const chosen = new Set<Protocol>();
  if (text !== undefined) {
    const known = [...Object.keys(catalog), ...Object.keys(DRIVER_ALIASES)];
    for (const item of parseList('--driver', text)) {
      const [left, right] = item.includes('=') ? item.split('=', 2) : [undefined, item];
      const name = right!;
      const alias = DRIVER_ALIASES[name];
      if (alias && left === undefined) {
        for (const protocol of PROTOCOLS) {
          drivers[protocol] = alias[protocol];
          chosen.add(protocol);
        }
        continue;
      }
      const supports = catalog[name];
      if (!supports) throw new UsageError(`--driver: unknown driver "${name}"; allowed: ${known.join(', ')}`);
      if (left !== undefined) {
        const protocol = oneOf('--driver', left, PROTOCOLS);
        if (!supports.includes(protocol)) {
          throw new UsageError(`--driver: ${name} cannot drive ${protocol}; it drives ${supports.join(', ')}`);
        }
        drivers[protocol] = name;
        chosen.add(protocol);
      } else {
        for (const protocol of supports) {
          drivers[protocol] = name;
          chosen.add(protocol);
        }
      }
    }
  }
  const notes: string[] = [];
  if (!chosen.has('rest') && drivers.rest !== DEFAULT_DRIVERS.rest) {
    if (openLoopFlag !== null) {
      notes.push(
        `open loop (${openLoopFlag}): REST driven by ${drivers.rest}, not ${DEFAULT_DRIVERS.rest}, which times each call from its actual send and so hides stalls (coordinated omission)`,
      );
    } else if (apiCard) {
      notes.push(`--api: REST driven by ${drivers.rest}, not ${DEFAULT_DRIVERS.rest}, which sends one request body per run (a card's requests go round robin)`);
    } else if (behindLink) {
      notes.push(
        `--network: REST driven by ${drivers.rest}, not ${DEFAULT_DRIVERS.rest}, whose clock starts before its connections are up (behind a link that is one RTT of every run, two with TLS); both engines connect first`,
      );
    }
  }
  return { drivers, notes };
}

/** The one line refusing an open loop (--rate, --slo) with a driver that has none. */
export function openLoopRefusal(driver: string, openLoopDrivers: readonly string[], flag = '--rate'): string {
  const why =
    driver === 'h2load'
      ? 'its --rate paces connections, not calls, and --rps times each call from its actual send: coordinated omission'
      : driver === 'autocannon'
        ? 'it times each call from its actual send: coordinated omission'
        : 'it has no open loop';
  return `${flag}: driver ${driver} cannot run an open loop (${why}); use ${openLoopDrivers.join(', ')}, or drop ${flag}`;
}
