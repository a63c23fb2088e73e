/**
 * Servers the bench did not start (--grpc-target, --rest-target), which may be
 * written in any language: before any load each one must be reachable
 * (bench/host/readiness.ts), then pass a pre-flight conformance check, then
 * gets its processes found so its CPU and memory fill the server columns.
 *
 * The pre-flight is the contenders' conformance mechanism
 * (servers/contenders/conformance.ts) with a short table: one call of each
 * operation the scenarios use, and division by zero when they use divide.
 * Values must be the calculator's exactly; an error must carry the same status
 * (grpc-status, HTTP status), in the server's own words.
 */
import type { Operation } from '../../servers/calculator.ts';
import { checkConformance, CONFORMANCE_CASES, type ConformanceCase, type ConformanceResult, type ConformanceSubject } from '../../servers/contenders/conformance.ts';
import { getContender } from '../../servers/contenders/index.ts';
import type { Target } from '../types.ts';
import { isLocalHost, pidsListeningOn } from './listening-pids.ts';
import { describeTarget, targetAddress } from './readiness.ts';

/** The pre-flight's cases per operation, by their names in CONFORMANCE_CASES. */
const PREFLIGHT_CASES: Readonly<Record<Operation, readonly string[]>> = {
  add: ['add 20,10'],
  subtract: ['subtract 20,10'],
  multiply: ['multiply 20,10'],
  divide: ['divide 20,10', 'divide by zero'],
  sum: ['sum of 10 values'],
};

export function preflightCases(operations: readonly Operation[]): ConformanceCase[] {
  const names = new Set(operations.flatMap((operation) => PREFLIGHT_CASES[operation]));
  return CONFORMANCE_CASES.filter((testCase) => names.has(testCase.name));
}

/** An external target as a conformance subject: the design card's gRPC or REST/JSON API over its wire. */
function subjectOf(target: Target): { subject: ConformanceSubject; address: string } {
  if (target.protocol === 'grpc') {
    const host = target.host.includes(':') ? `[${target.host}]` : target.host;
    const { client } = getContender('grpc-js');
    return { subject: { name: describeTarget(target), wire: 'h2', encoding: 'protobuf', client }, address: `${target.tls ? 'https' : 'http'}://${host}:${target.port}` };
  }
  const { client } = getContender('express');
  return { subject: { name: describeTarget(target), wire: 'http1', encoding: 'json', client }, address: target.url };
}

/** Runs the pre-flight against `target`; never rejects (a failed call is a failed case). */
export function preflightTarget(target: Target, operations: readonly Operation[]): Promise<ConformanceResult> {
  const { subject, address } = subjectOf(target);
  return checkConformance(subject, address, preflightCases(operations), 'status');
}

/** Where an external target's server figures come from, or why there are none. */
export type TargetProcesses = { pids: number[]; how: string } | { pids: null; why: string };

/**
 * The processes serving `target`: the pid given on the command line, else the
 * ones holding its listening socket when it is on this machine.
 */
export function targetProcesses(target: Target, givenPid: number | null): TargetProcesses {
  if (givenPid !== null) return { pids: [givenPid], how: `pid ${givenPid} (given)` };
  const { host, port } = targetAddress(target);
  if (!isLocalHost(host)) return { pids: null, why: `${host} is not this machine` };
  const listening = pidsListeningOn(host, port);
  // A target served inside the bench's own process (a test's server) would count the load generator as the server.
  const pids = listening.filter((pid) => pid !== process.pid);
  if (listening.length > 0 && pids.length === 0) return { pids: null, why: `port ${port} is served by the bench's own process` };
  if (pids.length === 0) return { pids: null, why: `no readable process listens on port ${port}` };
  return { pids, how: `pid${pids.length > 1 ? 's' : ''} ${pids.join(', ')} (listening on port ${port})` };
}
