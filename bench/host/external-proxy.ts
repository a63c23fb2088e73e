/**
 * An external target (--grpc-target, --rest-target) whose port is held by a
 * known proxy (nginx, haproxy, envoy: bench/host/proxy.ts KNOWN_PROXY_COMMANDS)
 * rather than by the server: the CPU of those processes is the proxy's, and
 * the server behind it is not measured unless --grpc-pid / --rest-pid names it.
 * (Seen before this check: "server CPU" of a target behind nginx was nginx's.)
 */
import type { Target } from '../types.ts';
import { targetProcesses } from './external-targets.ts';
import { knownProxyOf } from './proxy.ts';

export interface ExternalProxy {
  /** The proxy's command name. */
  proxy: string;
  /** Its processes (those holding the target's listening socket). */
  pids: number[];
}

/** The known proxy listening on the target's port on this machine, or null (not local, not readable, or not a proxy). */
export function externalProxy(target: Target): ExternalProxy | null {
  const listening = targetProcesses(target, null);
  if (listening.pids === null) return null;
  const proxy = knownProxyOf(listening.pids);
  return proxy === null ? null : { proxy, pids: listening.pids };
}
