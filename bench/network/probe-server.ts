/**
 * The probe server, run inside the servers' namespace (bench/network/probe.ts
 * starts it): the far end of the emulated link's own measurements. The first
 * byte of a connection picks what it does:
 *
 *   e         echo every byte back (TCP ping-pong);
 *   uMS\n     count what arrives for MS ms from the first byte, then answer one
 *             JSON line with the rate over the second half of that window;
 *   dMS\n     send as fast as the connection takes for MS ms, then close.
 *
 * Prints "probe listening on HOST:PORT"; exits when its stdin closes.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { steadyRate, type SteadyRate } from './steady-rate.ts';

const host = process.argv[2] ?? '127.0.0.1';
const CHUNK = Buffer.alloc(64 * 1024, 0x61);

const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  let header = Buffer.alloc(0);
  let mode: 'e' | 'u' | 'd' | null = null;
  let counter: SteadyRate | null = null;
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: Buffer) => {
    if (mode === 'e') {
      socket.write(chunk);
      return;
    }
    if (mode === 'u') {
      if (counter!.onBytes(chunk.length)) {
        mode = null;
        socket.end(`${JSON.stringify(counter!.result())}\n`);
        setTimeout(() => socket.destroy(), 1_000).unref();
      }
      return;
    }
    if (mode !== null) return;
    header = Buffer.concat([header, chunk]);
    if (header[0] === 0x65) {
      mode = 'e';
      if (header.length > 1) socket.write(header.subarray(1));
      return;
    }
    const newline = header.indexOf(0x0a);
    if (newline < 0) return;
    const kind = String.fromCharCode(header[0]!);
    const ms = Number(header.subarray(1, newline).toString());
    const rest = header.subarray(newline + 1);
    if (kind === 'u') {
      mode = 'u';
      counter = steadyRate(ms);
      if (rest.length > 0) counter.onBytes(rest.length);
    } else if (kind === 'd') {
      mode = 'd';
      const end = performance.now() + ms;
      const pump = (): void => {
        while (performance.now() < end) {
          if (!socket.write(CHUNK)) return void socket.once('drain', pump);
        }
        socket.end();
      };
      pump();
    } else {
      socket.destroy();
    }
  });
});

server.listen(0, host, () => {
  const address = server.address() as net.AddressInfo;
  process.stdout.write(`probe listening on ${address.address}:${address.port}\n`);
});
process.stdin.on('end', () => process.exit(0)).on('error', () => process.exit(0)).resume();
