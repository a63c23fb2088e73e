/**
 * The emulated link's lifecycle over a bench (bench/network/): opened for the
 * first condition that needs one, re-configured for each next condition,
 * probed once per condition (measured RTT and bulk rates, logged), closed at
 * the end and on every way out. Loopback passes leave it idle.
 */
import { conditionName, type NetworkCondition } from '../options/network.ts';
import { openLink, type EmulatedLink } from '../network/link.ts';
import { probeLink, type LinkProbe } from '../network/probe.ts';
import type { ProgressSink } from './progress.ts';
import { BenchSetupError } from './errors.ts';

/** The link probe when a condition's link is set up: ping-pong rounds and bulk window per direction. */
const LINK_PROBE = { rounds: 20, windowMs: 1_000 };

/** A pass behind the emulated link: its condition, the link and what the probe measured of it. */
export interface LinkPath {
  condition: NetworkCondition;
  link: EmulatedLink;
  probe: LinkProbe | null;
}

export class LinkLifecycle {
  private link: EmulatedLink | null = null;
  private readonly probes = new Map<string, LinkProbe>();

  constructor(private readonly progress: ProgressSink) {}

  /** Puts the link in `condition` (null: loopback, no link) and returns the pass's path. */
  async enter(condition: NetworkCondition | null): Promise<LinkPath | null> {
    if (condition === null) return null;
    let probe = this.probes.get(condition.name) ?? null;
    if (probe === null) this.progress.phase(`network ${condition.name}: setting up the emulated link`, 3);
    try {
      if (this.link === null) this.link = await openLink(condition);
      else await this.link.configure(condition);
      if (probe === null) {
        probe = await probeLink(this.link, LINK_PROBE);
        this.probes.set(condition.name, probe);
        this.progress.log(describeLink(condition, probe));
      }
    } catch (error) {
      throw new BenchSetupError(`--network ${condition.name}: ${(error as Error).message}`);
    } finally {
      this.progress.endPhase();
    }
    return { condition, link: this.link, probe };
  }

  async close(): Promise<void> {
    await this.link?.close();
    this.link = null;
  }
}

function describeLink(condition: NetworkCondition, probe: LinkProbe | null): string {
  const mbit = (value: number | null): string => (value === null ? '-' : value.toFixed(1));
  return (
    `network ${conditionName(condition)}: emulated link measured RTT ${probe ? probe.rttMs.toFixed(2) : '-'} ms (asked ${condition.rttMs}), ` +
    `bulk ${mbit(probe?.upMbit ?? null)} up / ${mbit(probe?.downMbit ?? null)} down Mbit/s (asked ${condition.upMbit ?? 'unlimited'} / ${condition.downMbit ?? 'unlimited'})`
  );
}
