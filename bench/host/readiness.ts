/**
 * Is a server there, and what does it answer? One probe, two rules:
 * - our own servers (checkHealth) must pass their health check: GET /healthz
 *   200, grpc.health.v1 Check SERVING;
 * - a server someone already runs (checkReachable, --grpc-target/--rest-target)
 *   is ready when it answers at all: any HTTP status to GET /healthz (a 404 is
 *   "no health route"), any grpc-status to the health check (UNIMPLEMENTED is
 *   "no health service"). Whether it computes right is the pre-flight
 *   conformance check's job (bench/host/external-targets.ts).
 * Unreachable is said in one line, by how far the probe got: no TCP
 * connection, a TLS failure, or no HTTP/gRPC answer in time.
 */
import http from 'node:http';
import https from 'node:https';
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import type { Target } from '../types.ts';

export const HEALTH_PATH = { rest: '/healthz', grpc: '/grpc.health.v1.Health/Check' } as const;

/** What the health-check request came back with. */
export type HealthAnswer =
  | { protocol: 'rest'; status: number }
  /** `serving`: the HealthCheckResponse said SERVING (null when grpc-status is not 0). */
  | { protocol: 'grpc'; grpcStatus: number | null; serving: boolean | null };

/** The grpc-status names a readiness line may need (the rest are shown as numbers). */
const GRPC_STATUS_NAMES: Readonly<Record<number, string>> = { 0: 'OK', 5: 'NOT_FOUND', 12: 'UNIMPLEMENTED', 14: 'UNAVAILABLE' };

export function describeTarget(target: Target): string {
  return target.protocol === 'grpc' ? `gRPC target ${target.host}:${target.port}` : `REST target ${target.url}`;
}

/** One health check of our own servers: GET /healthz 200, or grpc.health.v1 Check SERVING. Rejects with a short reason. */
export async function checkHealth(target: Target, timeoutMs = 2_000): Promise<void> {
  const answer = await probeHealth(target, timeoutMs);
  if (answer.protocol === 'rest') {
    if (answer.status !== 200) throw new Error(`GET ${HEALTH_PATH.rest} answered ${answer.status}`);
    return;
  }
  if (answer.grpcStatus !== 0) throw new Error(`health check answered grpc-status ${answer.grpcStatus ?? 'none'}`);
  if (!answer.serving) throw new Error('health check answered NOT_SERVING');
}

/**
 * Readiness of a server the bench did not start: resolves with what it
 * answered, in words ("GET /healthz answered 404: no health route"), or
 * rejects with why it is unreachable.
 */
export async function checkReachable(target: Target, timeoutMs: number): Promise<string> {
  const answer = await probeHealth(target, timeoutMs);
  if (answer.protocol === 'rest') {
    return `GET ${HEALTH_PATH.rest} answered ${answer.status}${answer.status === 404 ? ': no health route' : ''}`;
  }
  if (answer.grpcStatus === null) throw new Error('no gRPC answer: HTTP/2 response without grpc-status');
  const name = GRPC_STATUS_NAMES[answer.grpcStatus];
  const status = `grpc-status ${answer.grpcStatus}${name ? ` ${name}` : ''}`;
  if (answer.grpcStatus === 0) return `health check answered ${answer.serving ? 'SERVING' : 'NOT_SERVING'}`;
  return `health check answered ${status}${answer.grpcStatus === 12 ? ': no health service' : ''}`;
}

/** How far a probe got, for the one line that says why it failed. */
type Stage = 'tcp' | 'tls' | 'answer';

/**
 * The health-check request on a socket of our own, so a failure says whether
 * TCP, TLS or the answer was missing. TLS: any certificate is accepted (this
 * asks "is it there", not "is it trusted"; the bench's drivers accept its own
 * self-signed one too).
 */
function probeHealth(target: Target, timeoutMs: number): Promise<HealthAnswer> {
  const { host, port, secure } = targetAddress(target);
  const wire = target.protocol === 'grpc' ? 'gRPC' : 'HTTP';
  return new Promise<HealthAnswer>((resolve, reject) => {
    let stage: Stage = 'tcp';
    let settled = false;
    const socket: net.Socket = secure
      ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, rejectUnauthorized: false, ALPNProtocols: [target.protocol === 'grpc' ? 'h2' : 'http/1.1'] })
      : net.connect({ host, port });
    socket.once('connect', () => {
      if (stage === 'tcp') stage = secure ? 'tls' : 'answer';
    });
    socket.once('secureConnect', () => (stage = 'answer'));
    const finish = (result: HealthAnswer | Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    const fail = (error: unknown): void => finish(new Error(failureLine(stage, wire, error)));
    const timer = setTimeout(() => {
      const waited = `within ${timeoutMs} ms`;
      finish(new Error(stage === 'tcp' ? `no TCP connection ${waited}` : stage === 'tls' ? `TLS handshake not done ${waited}` : `no ${wire} answer ${waited}`));
    }, timeoutMs);
    socket.on('error', fail);

    if (target.protocol === 'rest') {
      // https.request over a TLS socket: http.request on one hangs up before the answer.
      const request = (secure ? https : http).request(
        { method: 'GET', path: HEALTH_PATH.rest, host, port, agent: false, rejectUnauthorized: false, createConnection: () => socket },
        (response) => {
          response.resume();
          finish({ protocol: 'rest', status: response.statusCode ?? 0 });
        },
      );
      request.on('error', fail);
      request.end();
      return;
    }
    const session = http2.connect(`${secure ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`, { createConnection: () => socket });
    session.on('error', fail);
    const stream = session.request({ ':method': 'POST', ':path': HEALTH_PATH.grpc, 'content-type': 'application/grpc', te: 'trailers' });
    const chunks: Buffer[] = [];
    let grpcStatus: number | null = null;
    const readStatus = (headers: http2.IncomingHttpHeaders): void => {
      if (headers['grpc-status'] !== undefined) grpcStatus = Number(headers['grpc-status']);
    };
    stream.on('response', readStatus);
    stream.on('trailers', readStatus);
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('error', fail);
    stream.on('end', () => {
      const body = Buffer.concat(chunks);
      // HealthCheckResponse { status: SERVING } is field 1 = 1: bytes 08 01 after the 5-byte prefix.
      const serving = grpcStatus === 0 ? body.length >= 7 && body[5] === 0x08 && body[6] === 0x01 : null;
      session.close();
      finish({ protocol: 'grpc', grpcStatus, serving });
    });
    stream.end(Buffer.from([0, 0, 0, 0, 0]));
  });
}

/** Host (without brackets), port and TLS of a target. */
export function targetAddress(target: Target): { host: string; port: number; secure: boolean } {
  if (target.protocol === 'grpc') return { host: target.host, port: target.port, secure: target.tls === true };
  const parsed = new URL(target.url);
  const secure = parsed.protocol === 'https:';
  return { host: parsed.hostname.replace(/^\[|\]$/g, ''), port: Number(parsed.port) || (secure ? 443 : 80), secure };
}

function failureLine(stage: Stage, wire: string, error: unknown): string {
  const { code, reason } = error as { code?: string; reason?: string };
  // OpenSSL's messages run over lines; its reason ("wrong version number") is the readable part.
  const message = reason ?? (error instanceof Error ? error.message : String(error)).split('\n')[0]!.trim();
  if (stage === 'tcp') return `no TCP connection (${code === 'ECONNREFUSED' ? 'connection refused' : (code ?? message)})`;
  if (stage === 'tls') return `TLS failure (${message})`;
  // An HTTP/1 server on a gRPC port (or h2 on a REST one) answers in a language the probe cannot read.
  const wrongProtocol = wire === 'gRPC' ? code === 'ERR_HTTP2_ERROR' || /protocol error/i.test(message) : code === 'HPE_INVALID_CONSTANT';
  return `no ${wire} answer (${wrongProtocol ? `not ${wire === 'gRPC' ? 'HTTP/2' : 'HTTP/1.1'}: ` : ''}${message})`;
}
