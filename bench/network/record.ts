/**
 * A run's `network` field (bench/results/record.ts NetworkRecord): the
 * condition asked for, the link probe taken when the link was set up, and the
 * link's counters around the measured run.
 */
import type { NetworkDirectionRecord, NetworkRecord } from '../results/record.ts';
import type { NetworkCondition } from '../options/network.ts';
import type { DirectionCounters } from './forwarder.ts';
import type { EmulatedLink, LinkCounters } from './link.ts';
import type { LinkProbe } from './probe.ts';
import { round } from '../results/round.ts';

/** At or above this % of one core the forwarder may be what limits the run. */
export const EMULATOR_BUSY_PERCENT = 90;

/** What to read before a measured run so its deltas can be taken after it. */
export interface LinkSnapshot {
  counters: LinkCounters;
  retransmits: number | null;
  cpuMs: number | null;
  atMs: number;
}

/** Resets the forwarder's counters (its lateness percentiles then cover the run only) and reads the rest. */
export async function snapshotLink(link: EmulatedLink): Promise<LinkSnapshot> {
  await link.forwarder.resetCounters();
  const [counters, retransmits] = await Promise.all([link.counters(), link.serverRetransmits()]);
  return { counters, retransmits, cpuMs: link.forwarder.cpuMs(), atMs: performance.now() };
}

/**
 * Before a warm-up, which only a failure records: the forwarder's own counters
 * (a command on its stdin, no process started per run), so such a record has
 * the packets and drops but not the device drops or server retransmissions.
 */
export async function snapshotAttempt(link: EmulatedLink): Promise<LinkSnapshot> {
  await link.forwarder.resetCounters();
  const counters = await link.forwarder.counters();
  return { counters: { ...counters, deviceDrops: { up: null, down: null } }, retransmits: null, cpuMs: link.forwarder.cpuMs(), atMs: performance.now() };
}


function direction(after: DirectionCounters, deviceBefore: number | null, deviceAfter: number | null): NetworkDirectionRecord {
  const deviceDrops = deviceBefore === null || deviceAfter === null ? null : deviceAfter - deviceBefore;
  const drops = after.lossDrops + after.queueDrops + (deviceDrops ?? 0);
  const offered = after.packets + (deviceDrops ?? 0);
  return {
    packets: after.packets,
    forwarded: after.forwarded,
    lossDrops: after.lossDrops,
    queueDrops: after.queueDrops,
    deviceDrops,
    dropPercent: offered > 0 ? round((drops / offered) * 100, 3) : null,
    lateUsP50: after.lateUsP50 < 0 ? null : after.lateUsP50,
    lateUsP99: after.lateUsP99 < 0 ? null : after.lateUsP99,
  };
}

export async function networkRecord(condition: NetworkCondition, probe: LinkProbe | null, link: EmulatedLink, before: LinkSnapshot): Promise<NetworkRecord> {
  const [after, retransmits] = await Promise.all([link.counters(), link.serverRetransmits()]);
  const cpuMs = link.forwarder.cpuMs();
  const wallMs = performance.now() - before.atMs;
  const r3 = (value: number | null | undefined): number | null => (value === null || value === undefined ? null : round(value, 3));
  return {
    name: condition.name,
    rttMs: condition.rttMs,
    jitterMs: condition.jitterMs,
    upMbit: condition.upMbit,
    downMbit: condition.downMbit,
    lossPercent: condition.lossPercent,
    measured: {
      rttMs: r3(probe?.rttMs),
      rttMinMs: r3(probe?.rttMinMs),
      rttMaxMs: r3(probe?.rttMaxMs),
      upMbit: r3(probe?.upMbit),
      downMbit: r3(probe?.downMbit),
      up: direction(after.up, before.counters.deviceDrops.up, after.deviceDrops.up),
      down: direction(after.down, before.counters.deviceDrops.down, after.deviceDrops.down),
      serverRetransmits: before.retransmits === null || retransmits === null ? null : retransmits - before.retransmits,
      emulatorCpuPercent: before.cpuMs === null || cpuMs === null || wallMs <= 0 ? null : round(((cpuMs - before.cpuMs) / wallMs) * 100, 1),
      realtime: after.realtime,
      lowLatencyIdle: after.lowLatencyIdle,
    },
  };
}
