/**
 * Network conditions in the reports: one section per condition (the groups of
 * bench/results/network-groups.ts), under one line saying what was asked and
 * what the emulated link measured.
 */
import type { ResultsFile } from '../results/record.ts';
import { hasNetworks, splitByNetwork, type NetworkGroup } from '../results/network-groups.ts';
import { htmlList } from './html-parts.ts';
import { section } from './section.ts';

export { conditionNamer, hasNetworks, networkName, splitByNetwork, type NetworkGroup } from '../results/network-groups.ts';

/** render(results) as is without emulated networks; else one section per condition under its description line. */
export function perNetwork(results: ResultsFile, render: (part: ResultsFile) => string): string {
  if (!hasNetworks(results)) return render(results);
  return splitByNetwork(results)
    .map((group) => `${describeNetwork(group)}\n${render(group.results)}`)
    .join('\n');
}

const mbit = (value: number | null): string => (value === null ? 'unlimited' : `${value} Mbit/s`);
const num = (value: number | null, digits = 2): string => (value === null ? '-' : value.toFixed(digits));

/** "network cross-region: asked RTT 70 ms, ...; measured RTT 70.6 ms (70.4-71.2), ...; during the runs: ..." */
export function describeNetwork(group: Pick<NetworkGroup, 'name' | 'network' | 'results'>): string {
  const n = group.network;
  if (n === null) return `network ${group.name}: no emulation (servers on 127.0.0.1)`;
  const asked =
    `asked RTT ${n.rttMs} ms${n.jitterMs > 0 ? ` ±${n.jitterMs / 2} ms jitter each way` : ''}, ` +
    (n.upMbit === n.downMbit ? `rate ${mbit(n.upMbit)}` : `up ${mbit(n.upMbit)}, down ${mbit(n.downMbit)}`) +
    `, loss ${n.lossPercent}%`;
  const m = n.measured;
  const measured = `measured RTT ${num(m.rttMs)} ms (${num(m.rttMinMs)}-${num(m.rttMaxMs)}), bulk ${num(m.upMbit, 1)} up / ${num(m.downMbit, 1)} down Mbit/s`;
  const runs = group.results.runs.filter((run) => run.network);
  const drops = (d: 'up' | 'down'): string => {
    const values = runs.map((run) => run.network!.measured[d].dropPercent).filter((v): v is number => v !== null);
    return values.length === 0 ? '-' : `${Math.min(...values).toFixed(2)}-${Math.max(...values).toFixed(2)}%`;
  };
  const retransmits = runs.map((run) => run.network!.measured.serverRetransmits ?? 0).reduce((a, b) => a + b, 0);
  const cpu = Math.max(0, ...runs.map((run) => run.network!.measured.emulatorCpuPercent ?? 0));
  return `network ${group.name}: ${asked}; ${measured}; during the runs dropped ${drops('up')} up, ${drops('down')} down, ${retransmits} server retransmissions, emulator at most ${cpu.toFixed(0)}% of a core`;
}

interface NetworksModel {
  groups: Array<{ name: string; description: string }>;
}

/** The conditions the runs went through (--network), each with what the emulated link measured. */
export const networksSection = section<NetworksModel>({
  id: 'networks',
  title: 'Network conditions',
  applies: ({ results }) => hasNetworks(results),
  model: ({ results }) => ({ groups: splitByNetwork(results).map((group) => ({ name: group.name, description: describeNetwork(group) })) }),
  terminal: (m) => ['network conditions:', ...m.groups.map((g) => g.description)].join('\n'),
  markdown: (m) => ['## Network conditions', '', ...m.groups.map((g) => `- ${g.description}`)].join('\n'),
  html: (m) => `<h2>Network conditions</h2>\n${htmlList(m.groups.map((g) => g.description))}`,
});
