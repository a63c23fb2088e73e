/**
 * A REST stream's connection: TCP, or TLS (HTTPS/1.1, wss) when the target
 * says so. The bench's certificates are self-signed: this client measures,
 * it does not authenticate.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { StreamTarget } from './types.ts';

export function connectStream(target: StreamTarget): net.Socket {
  if (!target.tls) return net.connect({ host: target.host, port: target.port, noDelay: true });
  const socket = tls.connect({
    host: target.host,
    port: target.port,
    ALPNProtocols: ['http/1.1'],
    rejectUnauthorized: false,
    ...(net.isIP(target.host) ? {} : { servername: target.host }),
  });
  socket.setNoDelay(true);
  return socket;
}
