/**
 * A proxy between the load generator and the servers (--proxy nginx|haproxy):
 * its configuration, its process, its pids. One proxy process serves both
 * protocols, as one nginx or HAProxy in front of a service usually does:
 *
 *   gRPC  generator -h2c-> proxy -h2c-> replicas   (nginx grpc_pass, HAProxy proto h2; l4: TCP passed through)
 *   REST  generator -http/1.1-> proxy -http/1.1 keep-alive-> replicas
 *
 * With --tls every hop is TLS: the replicas serve TLS, an L7 proxy terminates
 * the generator's TLS (h2 over ALPN, HTTPS/1.1) with a certificate generated
 * at start and opens TLS connections of its own to the replicas (nginx
 * grpcs:// and https://, HAProxy `ssl`), as a proxy in a network that encrypts
 * every hop does; an L4 proxy passes the TLS bytes through untouched.
 *
 * Runs are measured one at a time, so the proxy's CPU over a run is that
 * run's protocol's. The config the bench writes is tuned (connections kept
 * as long as the client keeps them, bodies held in memory, no access log);
 * --proxy-config FILE runs the user's own instead, with placeholders the bench
 * fills in (PLACEHOLDERS). Everything the proxy writes (pid file, error log,
 * temp files) goes in its own folder, and it binds the servers' address
 * (127.0.0.1, or the emulated link's server end, inside its namespace).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Protocol, Target } from '../types.ts';
import { waitHealthy, type ServerProcess } from './server-process.ts';
import type { Balance, ProxyKind } from '../options/options.ts';
import { createSelfSignedTls } from '../../servers/tls.ts';

export { PROXY_KINDS, type Balance, type ProxyKind } from '../options/options.ts';

/** Processes by command name (/proc/<pid>/comm) that are proxies, not the servers behind them. */
export const KNOWN_PROXY_COMMANDS: readonly string[] = ['nginx', 'haproxy', 'envoy'];

/** What a --proxy-config template may hold; each is replaced before the proxy starts. */
export const PLACEHOLDERS = {
  dir: "the proxy's own folder (pid file, logs, temp files)",
  grpc_listen: 'host:port the proxy listens on for gRPC',
  rest_listen: 'host:port the proxy listens on for REST',
  grpc_servers: "the gRPC replicas, one per line in the proxy's syntax (nginx `server host:port;`, HAProxy `server grpcN host:port`)",
  rest_servers: 'the REST replicas, the same way',
  stream_module: "nginx only: a load_module line for ngx_stream_module (L4), or nothing when it is built in",
  user: 'nginx only: `user root;` when the bench runs as root (workers then can write the temp folder), else nothing',
  tls_cert: 'with --tls: the PEM certificate the proxy presents (generated at start); else nothing',
  tls_key: 'with --tls: its PEM key',
  tls_pem: 'with --tls: certificate and key in one PEM file (HAProxy `crt`)',
} as const;

const BINARIES: Readonly<Record<ProxyKind, string>> = { nginx: 'nginx', haproxy: 'haproxy' };
/** Debian's packages, for the one-line reason. */
const PACKAGES: Readonly<Record<ProxyKind, string>> = { nginx: 'nginx (and libnginx-mod-stream for --balance l4)', haproxy: 'haproxy' };
export const PROXY_READY_TIMEOUT_MS = 10_000;

/** The executable's path, or null when it is not installed (PATH, then /usr/sbin, where Debian puts both). */
export function proxyBinary(kind: ProxyKind): string | null {
  const name = BINARIES[kind];
  for (const dir of [...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/sbin', '/usr/local/sbin']) {
    const file = path.join(dir, name);
    if (existsSync(file)) return file;
  }
  return null;
}

/** nginx's stream module as a load_module line, '' when built in, null when missing. */
export function nginxStreamModule(binary: string): string | null {
  // nginx -V prints its configure arguments on stderr.
  const run = spawnSync(binary, ['-V'], { encoding: 'utf8' });
  if (run.error) return null;
  const configure = `${run.stdout}${run.stderr}`;
  if (/--with-stream(\s|$)/.test(configure)) return '';
  const modules = /--modules-path=(\S+)/.exec(configure)?.[1] ?? '/usr/lib/nginx/modules';
  const file = path.join(modules, 'ngx_stream_module.so');
  return existsSync(file) ? `load_module ${file};` : null;
}

/** Why this proxy cannot run here (one line, with what to install), or null when it can. */
export function proxyUnavailable(kind: ProxyKind, balance: Balance | null): string | null {
  if (process.platform !== 'linux') return `--proxy ${kind}: needs Linux (/proc for the proxy's CPU)`;
  const binary = proxyBinary(kind);
  if (binary === null) return `--proxy ${kind}: ${BINARIES[kind]} is not installed (Debian package ${PACKAGES[kind]})`;
  if (kind === 'nginx' && balance === 'l4' && nginxStreamModule(binary) === null) {
    return '--proxy nginx --balance l4: nginx has no stream module (Debian package libnginx-mod-stream)';
  }
  return null;
}

export interface Address {
  host: string;
  port: number;
}

export interface ProxyLayout {
  kind: ProxyKind;
  /** null: the user's config decides (--proxy-config). */
  balance: Balance | null;
  /** Where the proxy listens, per protocol it serves. */
  listen: Partial<Record<Protocol, Address>>;
  /** The replicas behind it, per protocol. */
  upstreams: Partial<Record<Protocol, Address[]>>;
  /** Its own folder: pid file, logs, temp files, and the config it ran. */
  dir: string;
  /** TLS on every hop (a certificate of its own in dir/tls/). */
  tls: boolean;
}

const hostPort = (a: Address): string => (a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`);

/** The placeholders' values for a layout. */
export function placeholderValues(layout: ProxyLayout, streamModule: string): Record<keyof typeof PLACEHOLDERS, string> {
  const servers = (protocol: Protocol): string =>
    (layout.upstreams[protocol] ?? [])
      .map((a, i) => (layout.kind === 'nginx' ? `server ${hostPort(a)};` : `server ${protocol}${i + 1} ${hostPort(a)}`))
      .join(layout.kind === 'nginx' ? '\n    ' : '\n  ');
  return {
    dir: layout.dir,
    grpc_listen: layout.listen.grpc ? hostPort(layout.listen.grpc) : '',
    rest_listen: layout.listen.rest ? hostPort(layout.listen.rest) : '',
    grpc_servers: servers('grpc'),
    rest_servers: servers('rest'),
    stream_module: streamModule,
    user: typeof process.getuid === 'function' && process.getuid() === 0 ? 'user root;' : '',
    tls_cert: layout.tls ? path.join(layout.dir, 'tls', 'cert.pem') : '',
    tls_key: layout.tls ? path.join(layout.dir, 'tls', 'key.pem') : '',
    tls_pem: layout.tls ? path.join(layout.dir, 'tls', 'proxy.pem') : '',
  };
}

/** A template with every {{name}} of PLACEHOLDERS replaced; an unknown {{name}} is an error naming it. */
export function fillTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{\s*([a-z_]+)\s*\}\}/g, (_whole, name: string) => {
    if (!(name in values)) throw new Error(`unknown placeholder {{${name}}}; known: ${Object.keys(values).join(', ')}`);
    return values[name]!;
  });
}

/**
 * The bench's tuned config for a layout, as a template (the same placeholders
 * a user's config takes). Tuned means: no request count or age ends a
 * connection on either side (nginx's default keepalive_requests 1000 sends a
 * GOAWAY every 1,000 gRPC calls), bodies up to 64 MiB held in memory (no temp
 * file for a 182 KB JSON body), TCP_NODELAY, no access log, one worker.
 */
export function tunedTemplate(kind: ProxyKind, balance: Balance, protocols: readonly Protocol[], tls = false): string {
  const has = (protocol: Protocol): boolean => protocols.includes(protocol);
  if (kind === 'nginx') {
    const head = [
      '# callbench: tuned nginx config (bench/host/proxy.ts)',
      '{{user}}',
      ...(balance === 'l4' ? ['{{stream_module}}'] : []),
      'worker_processes 1;',
      'daemon off;',
      'pid {{dir}}/nginx.pid;',
      'error_log {{dir}}/error.log warn;',
      'events { worker_connections 16384; }',
    ];
    if (balance === 'l4') {
      // L4: each TCP connection goes to the next replica, its bytes passed through untouched.
      const server = (protocol: Protocol): string[] =>
        has(protocol)
          ? [`  upstream ${protocol}_replicas {`, `    {{${protocol}_servers}}`, '  }', '  server {', `    listen {{${protocol}_listen}};`, `    proxy_pass ${protocol}_replicas;`, '    tcp_nodelay on;', '  }']
          : [];
      return [...head, 'stream {', ...server('grpc'), ...server('rest'), '}', ''].join('\n');
    }
    return [
      ...head,
      'http {',
      '  access_log off;',
      '  client_body_temp_path {{dir}}/client_body;',
      '  proxy_temp_path {{dir}}/proxy_temp;',
      '  fastcgi_temp_path {{dir}}/fastcgi_temp;',
      '  uwsgi_temp_path {{dir}}/uwsgi_temp;',
      '  scgi_temp_path {{dir}}/scgi_temp;',
      '  # Connections end when the client ends them (default: after 1,000 requests).',
      '  keepalive_requests 100000000;',
      '  keepalive_timeout 300s;',
      '  http2_max_concurrent_streams 1024;',
      '  client_max_body_size 64m;',
      '  client_body_buffer_size 64m;',
      '  tcp_nodelay on;',
      // A WebSocket upgrade passes Upgrade/Connection on; a plain request keeps the upstream connection alive ('').
      ...(has('rest') ? ['  map $http_upgrade $connection_upgrade { default upgrade; "" ""; }'] : []),
      ...(has('grpc')
        ? [
            '  upstream grpc_replicas {',
            '    {{grpc_servers}}',
            '    keepalive 1024;',
            '    keepalive_requests 100000000;',
            '    keepalive_timeout 300s;',
            '  }',
            '  server {',
            `    listen {{grpc_listen}}${tls ? ' ssl' : ''} http2;`,
            ...(tls ? ['    ssl_certificate {{tls_cert}};', '    ssl_certificate_key {{tls_key}};'] : []),
            '    location / {',
            `      grpc_pass ${tls ? 'grpcs' : 'grpc'}://grpc_replicas;`,
            '      grpc_read_timeout 300s;',
            '      grpc_send_timeout 300s;',
            '    }',
            '  }',
          ]
        : []),
      ...(has('rest')
        ? [
            '  upstream rest_replicas {',
            '    {{rest_servers}}',
            '    keepalive 1024;',
            '    keepalive_requests 100000000;',
            '    keepalive_timeout 300s;',
            '  }',
            '  server {',
            `    listen {{rest_listen}}${tls ? ' ssl' : ''};`,
            ...(tls ? ['    ssl_certificate {{tls_cert}};', '    ssl_certificate_key {{tls_key}};'] : []),
            '    location / {',
            `      proxy_pass ${tls ? 'https' : 'http'}://rest_replicas;`,
            '      proxy_http_version 1.1;',
            '      proxy_set_header Upgrade $http_upgrade;',
            '      proxy_set_header Connection $connection_upgrade;',
            // Streams: an NDJSON or SSE answer goes out line by line, an NDJSON upload goes up as it comes.
            '      proxy_buffering off;',
            '      proxy_request_buffering off;',
            '      proxy_read_timeout 300s;',
            '    }',
            '  }',
          ]
        : []),
      '}',
      '',
    ].join('\n');
  }
  // HAProxy 2.6: one thread; l4 = mode tcp, l7 = mode http with h2 to the gRPC replicas.
  const mode = balance === 'l4' ? 'tcp' : 'http';
  // L7 over TLS: the generator's TLS ends here (ALPN h2 for gRPC), the replicas get TLS of the proxy's own.
  // REST's streams, on the client side and the server side: an NDJSON line goes out at once, not held to merge with
  // the next (without it a bidi NDJSON stream stalls). gRPC's h2 and L4's TCP need none.
  const noDelay = (protocol: Protocol): string[] => (protocol === 'rest' && balance === 'l7' ? ['  option http-no-delay'] : []);
  const bindTls = (protocol: Protocol): string =>
    tls ? ` ssl crt {{tls_pem}} alpn ${protocol === 'grpc' ? 'h2' : 'http/1.1'}` : protocol === 'grpc' ? ' proto h2' : '';
  const section = (protocol: Protocol): string[] =>
    has(protocol)
      ? [
          `frontend ${protocol}_in`,
          `  bind {{${protocol}_listen}}${balance === 'l7' ? bindTls(protocol) : ''}`,
          ...noDelay(protocol),
          `  default_backend ${protocol}_replicas`,
          '',
          `backend ${protocol}_replicas`,
          '  balance roundrobin',
          ...noDelay(protocol),
          ...(balance === 'l7' && (tls || protocol === 'grpc') ? [`  default-server${tls ? ' ssl verify none' : ''}${protocol === 'grpc' ? (tls ? ' alpn h2' : ' proto h2') : ''}`] : []),
          `  {{${protocol}_servers}}`,
          '',
        ]
      : [];
  return [
    '# callbench: tuned HAProxy config (bench/host/proxy.ts)',
    'global',
    '  nbthread 1',
    '  maxconn 8000',
    '  tune.h2.max-concurrent-streams 1024',
    '',
    'defaults',
    `  mode ${mode}`,
    '  timeout connect 5s',
    '  timeout client 300s',
    '  timeout server 300s',
    ...(balance === 'l7' ? ['  timeout http-keep-alive 300s', '  timeout tunnel 300s', '  option http-keep-alive', '  http-reuse always'] : []),
    '',
    ...section('grpc'),
    ...section('rest'),
  ].join('\n');
}

/** A running proxy: a ServerProcess (the bench stops it and notices its death like a server's), with a target per protocol. */
export interface ProxyProcess extends ServerProcess {
  kind: ProxyKind;
  /** The name rows record in place.proxy: the kind, or "kind:config-file-name" for a user's config. */
  name: string;
  targets: Partial<Record<Protocol, Target>>;
  /** The proxy's processes (nginx: master and worker), whose CPU is the proxy's. */
  pids: number[];
  /** The config it ran (written in its folder). */
  configFile: string;
}

export interface StartProxyOptions {
  kind: ProxyKind;
  balance: Balance;
  /** The address to listen on (the servers'), and the replicas per protocol. */
  host: string;
  upstreams: Partial<Record<Protocol, Address[]>>;
  /** Its folder (created). */
  dir: string;
  /** A user's config template (--proxy-config); null: the tuned one. */
  template?: { file: string; text: string } | null;
  /** Command prefix: the link's namespace, taskset. */
  prefix?: string[];
  /** TLS on every hop: the replicas serve TLS, the proxy presents a certificate generated at start. */
  tls?: boolean;
  readyTimeoutMs?: number;
}

const live = new Set<ChildProcess>();

/** For process 'exit' handlers: SIGKILL every proxy still running. */
export function killAllProxies(): void {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // gone
    }
  }
}

/** Starts the proxy; resolves once a health check passes through it on every protocol. */
export async function startProxy(options: StartProxyOptions): Promise<ProxyProcess> {
  const { kind, dir } = options;
  const binary = proxyBinary(kind);
  const missing = proxyUnavailable(kind, options.template ? null : options.balance);
  if (binary === null || missing !== null) throw new Error(missing ?? `${kind} is not installed`);
  mkdirSync(dir, { recursive: true });
  const protocols = (Object.keys(options.upstreams) as Protocol[]).filter((p) => (options.upstreams[p] ?? []).length > 0);
  const listen: Partial<Record<Protocol, Address>> = {};
  for (const protocol of protocols) listen[protocol] = { host: options.host, port: await freePort() };
  const tls = options.tls === true;
  const layout: ProxyLayout = { kind, balance: options.template ? null : options.balance, listen, upstreams: options.upstreams, dir, tls };
  if (tls) await writeProxyTls(path.join(dir, 'tls'), options.host);
  const template = options.template?.text ?? tunedTemplate(kind, options.balance, protocols, tls);
  const config = fillTemplate(template, placeholderValues(layout, kind === 'nginx' ? (nginxStreamModule(binary) ?? '') : ''));
  const configFile = path.join(dir, kind === 'nginx' ? 'nginx.conf' : 'haproxy.cfg');
  writeFileSync(configFile, config);
  const args = kind === 'nginx' ? ['-p', `${dir}/`, '-e', path.join(dir, 'error.log'), '-c', configFile] : ['-f', configFile, '-db'];
  const command = [...(options.prefix ?? []), binary, ...args];
  const child = spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  live.add(child);
  const name = options.template ? `${kind}:${path.basename(options.template.file).replace(/\.[^.]*$/, '')}` : kind;
  let output = '';
  for (const stream of [child.stdout!, child.stderr!]) stream.setEncoding('utf8').on('data', (chunk: string) => (output = (output + chunk).slice(-4_000)));
  let hasExited = false;
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => {
      hasExited = true;
      live.delete(child);
      const last = output.trim().split('\n').filter(Boolean).pop() ?? errorLogTail(dir);
      resolve(`${kind} proxy (pid ${child.pid}) exited${signal ? ` on ${signal}` : ` with code ${code}`}${last ? `: ${last}` : ''}`);
    });
    child.once('error', (error) => {
      hasExited = true;
      live.delete(child);
      resolve(`${kind} proxy could not start: ${error.message}`);
    });
  });
  const stop = async (): Promise<void> => {
    if (hasExited) return;
    // nginx: SIGTERM is its fast shutdown (SIGQUIT the graceful one); HAProxy: SIGTERM stops at once too.
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 2_000);
    await exited;
    clearTimeout(timer);
  };
  const targets: Partial<Record<Protocol, Target>> = {};
  if (listen.grpc) targets.grpc = { protocol: 'grpc', host: listen.grpc.host, port: listen.grpc.port, ...(tls ? { tls: true } : {}) };
  if (listen.rest) targets.rest = { protocol: 'rest', url: `${tls ? 'https' : 'http'}://${hostPort(listen.rest)}` };
  const timeoutMs = options.readyTimeoutMs ?? PROXY_READY_TIMEOUT_MS;
  try {
    await Promise.race([
      Promise.all(Object.values(targets).map((target) => waitHealthy(target, timeoutMs))),
      exited.then((reason) => Promise.reject(new Error(reason))),
    ]);
  } catch (error) {
    await stop();
    throw new Error(`${kind} proxy (config ${configFile}) did not become ready: ${(error as Error).message}`);
  }
  const first = protocols[0]!;
  return {
    protocol: first,
    pid: child.pid!,
    target: targets[first]!,
    exited,
    get hasExited() {
      return hasExited;
    },
    stop,
    kind,
    name,
    targets,
    pids: [child.pid!, ...childrenOf(child.pid!)],
    configFile,
  };
}

/** The proxy's certificate, generated at start (no key material in the repository): cert.pem, key.pem and both in proxy.pem, readable by the owner only. */
async function writeProxyTls(folder: string, host: string): Promise<void> {
  const { cert, key } = await createSelfSignedTls(host);
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  writeFileSync(path.join(folder, 'cert.pem'), cert, { mode: 0o600 });
  writeFileSync(path.join(folder, 'key.pem'), key, { mode: 0o600 });
  // One PEM block per line group: the generated certificate ends without a newline.
  writeFileSync(path.join(folder, 'proxy.pem'), `${cert.toString().trimEnd()}\n${key.toString().trimEnd()}\n`, { mode: 0o600 });
}

function errorLogTail(dir: string): string {
  try {
    return readFileSync(path.join(dir, 'error.log'), 'utf8').trim().split('\n').pop() ?? '';
  } catch {
    return '';
  }
}

/** A port free on this machine now (the proxy binds it a moment later; nginx and HAProxy cannot report a port 0 they chose). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Direct children of `pid` (nginx's workers), from /proc/<n>/stat. */
export function childrenOf(pid: number): number[] {
  const found: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return found;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) found.push(Number(entry));
    } catch {
      // gone or unreadable
    }
  }
  return found.sort((a, b) => a - b);
}

/** The known proxy (KNOWN_PROXY_COMMANDS) among these processes, by command name, or null. */
export function knownProxyOf(pids: readonly number[]): string | null {
  for (const pid of pids) {
    let command: string;
    try {
      command = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    } catch {
      continue;
    }
    const known = KNOWN_PROXY_COMMANDS.find((name) => command === name || command.startsWith(`${name}:`) || command.startsWith(`${name}-`));
    if (known) return known;
  }
  return null;
}
