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
