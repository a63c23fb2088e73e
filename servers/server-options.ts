/** What every server adapter takes and returns, so the CLI and the bench start them alike. */
export interface ServerOptions {
  /** Interface to bind. Loopback unless the user says otherwise. */
  host: string;
  /** 0 picks a free port; the bound one is in RunningServer.port. */
  port: number;
  /** PEM key and certificate; when set the server speaks TLS (h2 over ALPN for gRPC, HTTPS/1.1 for REST). */
  tls?: { key: Buffer; cert: Buffer };
  /** How long a stream may stay silent before it is ended (LIMITS.streamIdleMs unless set; tests shorten it). */
  streamIdleMs?: number;
  /**
   * Close each client connection once it is this old, as servers behind load
   * balancers do to spread clients: gRPC sends GOAWAY (grpc-js's
   * grpc.max_connection_age_ms, which adds ±10% jitter) and lets calls in
   * flight finish; REST answers the next request with `connection: close` and
   * closes a connection that is idle at that age. Unset: no limit.
   */
  maxConnectionAgeMs?: number;
  /**
   * Close each client connection after this many calls on it: gRPC sends
   * GOAWAY (2^31-1, then the last stream it took) when the Nth call starts, so
   * calls the client sent after it are refused, for it to send again on a new
   * connection; REST answers the Nth request with `connection: close`. Unset: no limit.
   */
  maxConnectionCalls?: number;
  /** Called once per call the server takes (servers/call-counter.ts: the bench's per-replica counts). */
  onCall?: () => void;
}

/** Rejects connection limits a server cannot apply, naming the field and the allowed range. */
export function validateConnectionLimits(options: Pick<ServerOptions, 'maxConnectionAgeMs' | 'maxConnectionCalls'>): void {
  const { maxConnectionAgeMs: age, maxConnectionCalls: calls } = options;
  if (age !== undefined && !(Number.isInteger(age) && age >= 1 && age <= 2 ** 31 - 1)) {
    throw new Error(`maxConnectionAgeMs must be a whole number of ms from 1 to ${2 ** 31 - 1}, got ${age}`);
  }
  if (calls !== undefined && !(Number.isInteger(calls) && calls >= 1)) {
    throw new Error(`maxConnectionCalls must be a whole number from 1 up, got ${calls}`);
  }
}

export interface RunningServer {
  protocol: 'grpc' | 'rest';
  host: string;
  port: number;
  /** What a client dials: host:port for gRPC, a URL for REST. */
  address: string;
  /** Stops accepting, lets in-flight calls finish (at most graceMs), then closes. */
  close(graceMs?: number): Promise<void>;
}

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_GRPC_PORT = 50051;
export const DEFAULT_REST_PORT = 3000;

/** One line that says what went wrong and what to do, instead of a stack trace. */
export function describeListenError(label: string, options: ServerOptions, error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const where = `${options.host}:${options.port}`;
  if (/EADDRINUSE|address already in use/i.test(text)) {
    return `${label} server: port ${options.port} on ${options.host} is already in use; choose another port or 0 for a free one`;
  }
  if (/EACCES|permission denied/i.test(text)) return `${label} server: no permission to bind ${where}`;
  if (/EADDRNOTAVAIL|ENOTFOUND|cannot assign/i.test(text)) return `${label} server: cannot bind ${where}: no such local address`;
  return `${label} server: cannot bind ${where}: ${text.split('\n')[0]}`;
}
