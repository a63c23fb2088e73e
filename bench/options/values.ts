/**
 * One flag's value, read and checked: lists, numbers in bounds, durations,
 * targets, segments, instants. Each refusal is a UsageError naming the flag
 * and what it accepts, in one line.
 */
import { contenderNames, getContender } from '../../servers/contenders/index.ts';
import { UsageError } from '../../shared/usage-error.ts';
import type { SegmentInfo } from '../results/record.ts';
import type { GrpcTargetOption } from './bench-options.ts';
import { durationSeconds } from '../../shared/duration.ts';
import { NetworkSpecError, parseNetworkList, type NetworkCondition } from './network.ts';
import { MAX_SEGMENTS } from './profiles.ts';

/** --network NAME[,NAME...]: its conditions (bench/options/network.ts), a bad one refused with the flag's name. */
export function parseNetwork(text: string): Array<NetworkCondition | null> {
  try {
    return parseNetworkList(text);
  } catch (error) {
    if (error instanceof NetworkSpecError) throw new UsageError(`--network: ${error.message}`);
    throw error;
  }
}

/** "2/3": segment 2 of 3 (1-based). */
export function parseSegment(text: string): SegmentInfo {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (!match || count < 1 || count > MAX_SEGMENTS || index < 1 || index > count) {
    throw new UsageError(`--segment must be K/N with 1 <= K <= N <= ${MAX_SEGMENTS} (e.g. 2/3), got "${text}"`);
  }
  return { index, count };
}

/** Furthest ahead --start-at may be. */
const MAX_START_AHEAD_S = 7 * 24 * 3_600;

/**
 * "2026-12-01T10:00:00Z" (an ISO instant with Z or an offset: every generator
 * must read the same instant, whatever its time zone) or "+30s" / "+2m" / "+30"
 * from `nowMs`; returns the ISO instant.
 */
export function parseStartAt(text: string, nowMs: number): string {
  const relative = /^\+(\d+(?:\.\d+)?)(s|m)?$/.exec(text.trim());
  let ms: number;
  if (relative) {
    ms = nowMs + Number(relative[1]) * (relative[2] === 'm' ? 60_000 : 1_000);
  } else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(text.trim())) {
    ms = Date.parse(text.trim());
  } else {
    ms = NaN;
  }
  if (!Number.isFinite(ms)) {
    throw new UsageError(`--start-at must be an ISO instant with its zone (2026-12-01T10:00:00Z) or +S seconds from now (+30s, +2m), got "${text}"`);
  }
  if (ms - nowMs > MAX_START_AHEAD_S * 1_000) throw new UsageError(`--start-at is more than 7 days ahead: "${text}"`);
  return new Date(ms).toISOString();
}

/** `all` (the registry), names, or both ("all,my-server"); unknown names are usage errors. */
export function parseContenders(text: string): string[] {
  const names = parseList('--contenders', text).flatMap((name) => (name === 'all' ? contenderNames() : [name]));
  for (const name of names) {
    try {
      getContender(name);
    } catch (error) {
      throw new UsageError(`--contenders: ${(error as Error).message}`);
    }
  }
  return dedupe(names);
}

export function parseGrpcTarget(text: string): GrpcTargetOption {
  const match = /^(?:\[([^\]]+)\]|([^:/\s]+)):(\d+)$/.exec(text.trim());
  const port = match ? Number(match[3]) : NaN;
  if (!match || !(port >= 1 && port <= 65_535)) {
    throw new UsageError(`--grpc-target must be host:port (e.g. 127.0.0.1:50051), got "${text}"`);
  }
  return { host: (match[1] ?? match[2])!, port };
}

export function parseRestTarget(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--rest-target must be a URL like http://127.0.0.1:3000, got "${text}"`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.pathname !== '/' || url.search !== '' || url.hash !== '') {
    throw new UsageError(`--rest-target must be an http:// origin without a path, like http://127.0.0.1:3000, got "${text}"`);
  }
  return url.origin;
}

/** Linux pids go up to 2^22 (pid_max). */
export const MAX_PID = 4_194_304;

export function parseList(flag: string, text: string): string[] {
  const items = text.split(',').map((item) => item.trim());
  if (items.length === 0 || items.some((item) => item === '')) {
    throw new UsageError(`${flag} must be a comma-separated list without empty items, got "${text}"`);
  }
  return items;
}

export function listOf<T extends string>(flag: string, text: string, allowed: readonly T[]): T[] {
  return dedupe(parseList(flag, text).map((item) => oneOf(flag, item, allowed)));
}

export function oneOf<T extends string>(flag: string, text: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(text)) {
    throw new UsageError(`${flag}: unknown value "${text}"; allowed: ${allowed.join(', ')}`);
  }
  return text as T;
}

export function integer(flag: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || value < min || value > max) {
    throw new UsageError(`${flag} must be a whole number from ${min} to ${max}, got "${text}"`);
  }
  return value;
}

export function intList(flag: string, text: string, min: number, max: number): number[] {
  return parseList(flag, text).map((item) => {
    const value = Number(item);
    if (!/^\d+$/.test(item) || value < min || value > max) {
      throw new UsageError(`${flag} must be a comma-separated list of whole numbers from ${min} to ${max}, got "${text}"`);
    }
    return value;
  });
}

export function positiveNumber(flag: string, text: string, max: number): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value <= 0 || value > max) {
    throw new UsageError(`${flag} must be a number of calls per second above 0 and at most ${max}, got "${text}"`);
  }
  return value;
}

/** A duration flag kept in seconds (shared/duration.ts: 3, 3s, 500ms, 1m30s), at most an hour; a DurationError is a UsageError. */
export function seconds(flag: string, text: string, min: number): number {
  return durationSeconds(flag, text, { minS: min, maxS: 3_600 });
}

export function dedupe<T>(items: T[]): T[] {
  return [...new Set(items)];
}
