/**
 * Client-bound: the load generator used at least CLIENT_BOUND_PERCENT of a core
 * while the server used less than SERVER_BUSY_PERCENT (or is external, null):
 * the row then describes the generator, not the server. The runner sets
 * RunRecord.client.bound with it; the table legend quotes the same numbers.
 */
export const CLIENT_BOUND_PERCENT = 90;
export const SERVER_BUSY_PERCENT = 80;

export function isClientBound(clientCpuPercent: number, serverCpuPercent: number | null): boolean {
  return clientCpuPercent >= CLIENT_BOUND_PERCENT && (serverCpuPercent === null || serverCpuPercent < SERVER_BUSY_PERCENT);
}
