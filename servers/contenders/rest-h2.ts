/**
 * The REST API (JSON) on bare node:http2 with the core stream API: the same
 * routes, statuses and texts as express, over HTTP/2 (h2c unless TLS is set).
 */
import http2 from 'node:http2';
import type { RunningServer, ServerOptions } from '../server-options.ts';
import { listenH2 } from '../listen.ts';
import { createH2Server } from './h2-server.ts';
import { handleRest, JSON_CODEC, type RestCodec, type RestReply } from './rest-protocol.ts';

const { HTTP2_HEADER_STATUS, HTTP2_HEADER_METHOD, HTTP2_HEADER_PATH } = http2.constants;

export function writeH2Reply(stream: http2.ServerHttp2Stream, reply: RestReply, head: boolean): void {
  if (stream.destroyed || stream.closed) return;
  stream.respond({ [HTTP2_HEADER_STATUS]: reply.status, ...reply.headers, 'content-length': reply.body.length }, { endStream: head });
  if (!head) stream.end(reply.body);
}

export function restH2StreamHandler(codec: RestCodec) {
  return (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void => {
    stream.on('error', () => {});
    const method = (headers[HTTP2_HEADER_METHOD] as string | undefined) ?? 'GET';
    const request = { method, url: (headers[HTTP2_HEADER_PATH] as string | undefined) ?? '/', headers, body: stream, hasBody: true };
    const reply = handleRest(request, codec);
    if (reply instanceof Promise) reply.then((value) => writeH2Reply(stream, value, method === 'HEAD'));
    else writeH2Reply(stream, reply, method === 'HEAD');
  };
}

export async function startRestH2(options: ServerOptions): Promise<RunningServer> {
  const server = createH2Server(options);
  server.on('stream', restH2StreamHandler(JSON_CODEC));
  return listenH2(server, options, 'rest-h2', 'rest');
}
