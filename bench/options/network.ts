/**
 * Network conditions: the built-in profiles and the inline spec parser of
 * `--network`. A condition is what the emulated link (bench/network/link.ts)
 * is asked to do; what it actually did is measured separately and recorded
 * next to it.
 *
 * Inline specs join fields with `+`: `rtt=40ms+rate=10mbit+loss=1%`.
 *   rtt     round-trip time added by the link (each direction gets half): 0..10s
 *   jitter  spread of the RTT: each direction's delay varies uniformly by
 *           +-jitter/2, so the RTT stays within rtt +- jitter (packets are never
 *           reordered); at most rtt
 *   rate    bandwidth each way (up = client to server, down = server to client);
 *   up/down one direction only; 8kbit..10gbit, counted in IP bytes
 *   loss    share of packets dropped at random, each way: 0..50%
 */
import { UsageError } from '../../shared/usage-error.ts';
import { parseDurationMs } from '../../shared/duration.ts';

export interface NetworkCondition {
  /** The profile name or the inline spec as given. */
  name: string;
  rttMs: number;
  jitterMs: number;
  /** null = unlimited. */
  upMbit: number | null;
  downMbit: number | null;
  lossPercent: number;
}

/** A bad network condition; the bench prefixes it with `--network: `. */
export class NetworkSpecError extends UsageError {}

/**
 * Built-in profiles. Round figures in the range published for each kind of
 * path (sources in docs/network.md): they describe a typical path, not a
 * particular provider's.
 */
export const NETWORK_PROFILES: Readonly<Record<string, Omit<NetworkCondition, 'name'> | null>> = {
  /** No emulation: the servers on 127.0.0.1, as without --network. */
  loopback: null,
  /** Same rack or same data-centre row: ~0.2 ms RTT, Gigabit Ethernet. */
  lan: { rttMs: 0.2, jitterMs: 0, upMbit: 1_000, downMbit: 1_000, lossPercent: 0 },
  /** Two availability zones of one cloud region: ~2 ms RTT. */
  'cross-zone': { rttMs: 2, jitterMs: 0, upMbit: 1_000, downMbit: 1_000, lossPercent: 0 },
  /** Two regions on one continent (e.g. US east to west coast): ~70 ms RTT, a 100 Mbit/s share. */
  'cross-region': { rttMs: 70, jitterMs: 0, upMbit: 100, downMbit: 100, lossPercent: 0 },
  /** A 4G/LTE phone: ~60 ms RTT with jitter, ~10 Mbit/s down, 5 up, some loss. */
  mobile: { rttMs: 60, jitterMs: 20, upMbit: 5, downMbit: 10, lossPercent: 0.5 },
  /** A congested or wireless path: 20 ms RTT and 2% of packets lost. */
  lossy: { rttMs: 20, jitterMs: 0, upMbit: null, downMbit: null, lossPercent: 2 },
};

export const MAX_RTT_MS = 10_000;
export const MIN_RATE_MBIT = 0.008;
export const MAX_RATE_MBIT = 10_000;
export const MAX_LOSS_PERCENT = 50;

const FIELDS = ['rtt', 'jitter', 'rate', 'up', 'down', 'loss'] as const;

/** `loopback` → null (no emulation); a profile name or an inline spec → its condition. */
export function parseNetworkCondition(text: string): NetworkCondition | null {
  const name = text.trim();
  if (name in NETWORK_PROFILES) {
    const profile = NETWORK_PROFILES[name];
    return profile === null || profile === undefined ? null : { name, ...profile };
  }
  if (!name.includes('=')) {
    throw new NetworkSpecError(`unknown network "${name}"; profiles: ${Object.keys(NETWORK_PROFILES).join(', ')}, or a spec like rtt=20ms+rate=10mbit+loss=1%`);
  }
  const condition: NetworkCondition = { name, rttMs: 0, jitterMs: 0, upMbit: null, downMbit: null, lossPercent: 0 };
  const seen = new Set<string>();
  for (const part of name.split('+')) {
    const [field, value, extra] = part.split('=');
    if (field === undefined || value === undefined || extra !== undefined || value.trim() === '') {
      throw new NetworkSpecError(`network spec "${name}": "${part}" is not field=value (fields: ${FIELDS.join(', ')})`);
    }
    const key = field.trim();
    if (!(FIELDS as readonly string[]).includes(key)) {
      throw new NetworkSpecError(`network spec "${name}": unknown field "${key}"; fields: ${FIELDS.join(', ')}`);
    }
    if (seen.has(key)) throw new NetworkSpecError(`network spec "${name}": "${key}" given twice`);
    seen.add(key);
    const v = value.trim();
    switch (key) {
      case 'rtt':
        condition.rttMs = inRange(name, key, durationMs(name, key, v), 0, MAX_RTT_MS, 'ms');
        break;
      case 'jitter':
        condition.jitterMs = inRange(name, key, durationMs(name, key, v), 0, MAX_RTT_MS, 'ms');
        break;
      case 'rate':
        condition.upMbit = condition.downMbit = inRange(name, key, rateMbit(name, key, v), MIN_RATE_MBIT, MAX_RATE_MBIT, 'mbit');
        break;
      case 'up':
        condition.upMbit = inRange(name, key, rateMbit(name, key, v), MIN_RATE_MBIT, MAX_RATE_MBIT, 'mbit');
        break;
      case 'down':
        condition.downMbit = inRange(name, key, rateMbit(name, key, v), MIN_RATE_MBIT, MAX_RATE_MBIT, 'mbit');
        break;
      case 'loss':
        condition.lossPercent = inRange(name, key, percent(name, key, v), 0, MAX_LOSS_PERCENT, '%');
        break;
    }
  }
  if (seen.has('rate') && (seen.has('up') || seen.has('down'))) {
    throw new NetworkSpecError(`network spec "${name}": give rate (both ways) or up/down, not both`);
  }
  if (condition.jitterMs > condition.rttMs) {
    throw new NetworkSpecError(`network spec "${name}": jitter (${condition.jitterMs} ms) must not exceed rtt (${condition.rttMs} ms), or delays would go below zero`);
  }
  return condition;
}

/** A comma-separated --network list; duplicates removed, order kept. */
export function parseNetworkList(text: string): Array<NetworkCondition | null> {
  const items = text.split(',').map((item) => item.trim());
  if (items.some((item) => item === '')) throw new NetworkSpecError(`--network must be a comma-separated list without empty items, got "${text}"`);
  const seen = new Set<string>();
  const conditions: Array<NetworkCondition | null> = [];
  for (const item of items) {
    if (seen.has(item)) continue;
    seen.add(item);
    conditions.push(parseNetworkCondition(item));
  }
  return conditions;
}

/** The label of a condition in tables: its name, `loopback` for none. */
export function conditionName(condition: NetworkCondition | null): string {
  return condition?.name ?? 'loopback';
}

/** The shared duration syntax (shared/duration.ts), but with a unit always: "rtt=20" could be s or ms. */
function durationMs(spec: string, field: string, text: string): number {
  const ms = /^\d+(?:\.\d+)?$/.test(text) ? null : parseDurationMs(text);
  if (ms === null) throw new NetworkSpecError(`network spec "${spec}": ${field} must be a duration like 20ms, 1.5s or 200us, got "${text}"`);
  return ms;
}

function rateMbit(spec: string, field: string, text: string): number {
  const match = /^(\d+(?:\.\d+)?)(kbit|mbit|gbit)$/i.exec(text);
  if (!match) throw new NetworkSpecError(`network spec "${spec}": ${field} must be a rate like 500kbit, 10mbit or 1gbit, got "${text}"`);
  const unit = match[2]!.toLowerCase();
  const value = Number(match[1]);
  return unit === 'kbit' ? value / 1_000 : unit === 'gbit' ? value * 1_000 : value;
}

function percent(spec: string, field: string, text: string): number {
  const match = /^(\d+(?:\.\d+)?)%$/.exec(text);
  if (!match) throw new NetworkSpecError(`network spec "${spec}": ${field} must be a percentage like 1% or 0.5%, got "${text}"`);
  return Number(match[1]);
}

function inRange(spec: string, field: string, value: number, min: number, max: number, unit: string): number {
  if (value < min || value > max) throw new NetworkSpecError(`network spec "${spec}": ${field} must be from ${min} to ${max} ${unit}, got ${value} ${unit}`);
  return value;
}
