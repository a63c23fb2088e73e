/**
 * `npm run serve:contender -- --contender <name>`: starts one contender and
 * prints `<name> server listening on <address>` once it is ready; SIGINT/SIGTERM
 * let in-flight calls finish, then exit 0. `--list` prints the registry.
 *
 *   npm run serve:contender -- --contender fastify --host 127.0.0.1 --port 3000
 *   npm run serve:contender -- --list
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_HOST, type RunningServer } from '../server-options.ts';
import { createSelfSignedTls } from '../tls.ts';
import { CONTENDERS, contenderNames, getContender, registerContender } from './index.ts';
import type { Contender } from './types.ts';
import { UsageError } from '../../shared/usage-error.ts';

const USAGE = `usage: serve-contender --contender <name> [--host ${DEFAULT_HOST}] [--port 0] [--tls] [--module <file>]
       serve-contender --list
  contenders: ${contenderNames().join(', ')}
  port 0 picks a free port; --tls serves over TLS with a certificate generated at start;
  --module loads a contender from outside the registry (the module exports it as \`contender\`)`;

export interface ServeContenderOptions {
  list: boolean;
  contender: string;
  host: string;
  port: number;
  tls: boolean;
  /** A module exporting `contender` (outside the registry), or null. */
  module: string | null;
}

export function parseServeContenderArgs(argv: string[]): ServeContenderOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        contender: { type: 'string' },
        host: { type: 'string', default: DEFAULT_HOST },
        port: { type: 'string', default: '0' },
        tls: { type: 'boolean', default: false },
        list: { type: 'boolean', default: false },
        module: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }));
  } catch (error) {
    throw new UsageError(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
  }
  if (values.help) throw new UsageError(USAGE);
  if (!values.list && values.contender === undefined) throw new UsageError(`--contender is required\n${USAGE}`);
  if (values.contender !== undefined && values.module === undefined && !contenderNames().includes(values.contender)) {
    throw new UsageError(`unknown contender "${values.contender}"; known: ${contenderNames().join(', ')}`);
  }
  const port = Number(values.port);
  if (!/^\d+$/.test(values.port) || port > 65_535) throw new UsageError(`--port must be a port number from 0 to 65535, got "${values.port}"`);
  return { list: values.list, contender: values.contender ?? '', host: values.host, port, tls: values.tls, module: values.module ?? null };
}

/** The registry as a fixed-width table: name, transport, encoding, implementation, client style. */
export function formatContenderTable(): string {
  const rows = [
    ['name', 'transport', 'encoding', 'implementation', 'client'],
    ...CONTENDERS.map((c) => [c.name + (c.isDefault ? ' *' : ''), c.wire, c.encoding, c.implementation, c.client.style]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  const lines = rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd());
  lines.splice(1, 0, widths.map((width) => '-'.repeat(width)).join('  '));
  lines.push('', '* the default pair (servers/rest-server.ts, servers/grpc-server.ts)');
  // A contender this machine cannot run (the Go pair without Go) says why and what to install.
  for (const contender of CONTENDERS) {
    const unavailable = contender.unavailable?.() ?? null;
    if (unavailable !== null) lines.push(`${contender.name}: unavailable: ${unavailable}`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const options = parseServeContenderArgs(process.argv.slice(2));
  if (options.list) {
    console.log(formatContenderTable());
    return;
  }
  if (options.module !== null) {
    const url = /^[a-z]+:/i.test(options.module) ? options.module : pathToFileURL(options.module).href;
    const loaded = (await import(url)) as { contender?: Contender };
    if (!loaded.contender) throw new Error(`${options.module} does not export \`contender\``);
    if (loaded.contender.name !== options.contender) {
      throw new Error(`${options.module} exports contender "${loaded.contender.name}", not "${options.contender}"`);
    }
    registerContender(loaded.contender, options.module);
  }
  const contender = getContender(options.contender);
  const tls = options.tls ? await createSelfSignedTls(options.host) : undefined;
  let running: RunningServer | undefined;
  const shutdown = async (): Promise<void> => {
    await running?.close();
    process.exit(0);
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
  running = await contender.start({ host: options.host, port: options.port, tls });
  console.log(`${contender.name} server listening on ${running.address}${tls ? ' (TLS)' : ''}`);
}

main().catch((error: unknown) => {
  console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(error instanceof UsageError ? 2 : 1);
});
