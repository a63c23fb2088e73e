/** results.csv: one row per run (every trial), every RunRecord field flattened, for spreadsheets. */
import type { ResultsFile, RunRecord } from '../results/record.ts';

const COLUMNS: [string, (r: RunRecord) => unknown][] = [
  ['scenario', (r) => r.scenario],
  ['protocol', (r) => r.protocol],
  ['driver', (r) => r.driver],
  ['operation', (r) => r.operation],
  ['payload_values', (r) => r.payloadValues],
  ['concurrency', (r) => r.concurrency],
  ['connections', (r) => r.connections],
  ['rate', (r) => r.rate],
  ['trial', (r) => r.trial],
  ['duration_s', (r) => r.durationS],
  ['status', (r) => r.status],
  ['failure', (r) => r.failure],
  ['requests', (r) => r.requests],
  ['errors', (r) => r.errors],
  ['status_counts', (r) => Object.entries(r.statusCounts).map(([k, v]) => `${k}=${v}`).join(' ')],
  ['rps', (r) => r.rps],
  ['p50_ms', (r) => r.latencyMs?.p50],
  ['p90_ms', (r) => r.latencyMs?.p90],
  ['p99_ms', (r) => r.latencyMs?.p99],
  ['p999_ms', (r) => r.latencyMs?.p999],
  ['max_ms', (r) => r.latencyMs?.max],
  ['mean_ms', (r) => r.latencyMs?.mean],
  ['stdev_ms', (r) => r.latencyMs?.stdev],
  ['request_bytes_per_call', (r) => r.wire.requestBytesPerCall],
  ['response_bytes_per_call', (r) => r.wire.responseBytesPerCall],
  ['request_header_bytes_per_call', (r) => r.wire.requestHeaderBytesPerCall],
  ['response_header_bytes_per_call', (r) => r.wire.responseHeaderBytesPerCall],
  ['bytes_counted_by', (r) => r.wire.countedBy],
  ['request_body_bytes', (r) => r.body.requestBytes],
  ['response_body_bytes', (r) => r.body.responseBytes],
  ['server_cpu_ms_per_1k_calls', (r) => r.server.cpuMsPer1kCalls],
  ['server_peak_rss_mib', (r) => r.server.peakRssMiB],
  ['client_cpu_percent', (r) => r.client.cpuPercent],
  ['client_cpu_us_per_call', (r) => r.client.cpuUsPerCall],
  ['client_bound', (r) => r.client.bound],
  // Added with the payload sweep; last so existing column positions stay put. Older records: double / none.
  ['value_shape', (r) => (r.operation === 'sum' ? (r.valueShape ?? 'double') : null)],
  ['compression', (r) => r.compression ?? 'none'],
  // Added with the driver modes (h2load, clients, --rate); last, as above. Older records: runner / grpc-status.
  ['client_cpu_of', (r) => r.client.cpuOf ?? 'runner'],
  ['status_checked', (r) => r.statusChecked ?? (r.protocol === 'grpc' ? 'grpc-status' : 'http-status')],
  ['notes', (r) => (r.notes ?? []).join('; ')],
  // Added with --tls and the connection-cost pass (RunRecord.tls); last, as above. Older records: empty.
  ['tls', (r) => r.tls?.enabled ?? null],
  ['tls_version', (r) => r.tls?.version],
  ['new_connection_call_ms', (r) => r.tls?.newConnectionCallMs],
  ['kept_alive_call_ms', (r) => r.tls?.keptAliveCallMs],
  ['handshake_ms', (r) => r.tls?.handshakeMs],
  ['handshake_request_bytes', (r) => r.tls?.handshakeBytes?.request],
  ['handshake_response_bytes', (r) => r.tls?.handshakeBytes?.response],
  // Added with --contenders (RunRecord.contender); last, as above. Empty for the design card's runs.
  ['contender', (r) => r.contender?.name],
  ['contender_wire', (r) => r.contender?.wire],
  ['contender_encoding', (r) => r.contender?.encoding],
  ['contender_implementation', (r) => r.contender?.implementation],
  // Added with --network (RunRecord.network); last, as above. Empty on loopback.
  ['network', (r) => r.network?.name],
  ['network_rtt_ms', (r) => r.network?.rttMs],
  ['network_jitter_ms', (r) => r.network?.jitterMs],
  ['network_up_mbit', (r) => r.network?.upMbit],
  ['network_down_mbit', (r) => r.network?.downMbit],
  ['network_loss_percent', (r) => r.network?.lossPercent],
  ['measured_rtt_ms', (r) => r.network?.measured.rttMs],
  ['measured_up_mbit', (r) => r.network?.measured.upMbit],
  ['measured_down_mbit', (r) => r.network?.measured.downMbit],
  ['link_up_packets', (r) => r.network?.measured.up.packets],
  ['link_up_drop_percent', (r) => r.network?.measured.up.dropPercent],
  ['link_down_packets', (r) => r.network?.measured.down.packets],
  ['link_down_drop_percent', (r) => r.network?.measured.down.dropPercent],
  ['server_retransmits', (r) => r.network?.measured.serverRetransmits],
  ['emulator_cpu_percent', (r) => r.network?.measured.emulatorCpuPercent],
];

/** RFC 4180: quote a field holding a comma, quote or line break; null/undefined = empty. */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function renderCsv(results: ResultsFile): string {
  const lines = [COLUMNS.map(([name]) => name).join(',')];
  for (const run of results.runs) lines.push(COLUMNS.map(([, get]) => csvField(get(run))).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
