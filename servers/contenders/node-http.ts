/**
 * The REST API on bare node:http, no framework: `node-http` (JSON, as express
 * serves it) and `rest-protobuf-h1` (the same routes with application/x-protobuf bodies).
 */
import type http from 'node:http';
import type { RunningServer, ServerOptions } from '../server-options.ts';
import { listenHttp1 } from '../listen.ts';
import { createHttp1Server } from '../rest-server.ts';
import { handleRest, http1HasBody, JSON_CODEC, PROTOBUF_CODEC, type RestCodec, type RestReply } from './rest-protocol.ts';

export function writeHttp1Reply(res: http.ServerResponse, reply: RestReply): void {
  const headers: Record<string, string> = { ...reply.headers, 'content-length': String(reply.body.length) };
  if (reply.close) headers.connection = 'close';
  res.writeHead(reply.status, headers);
  res.end(reply.body);
}

export function restHttp1Listener(codec: RestCodec): http.RequestListener {
  return (req, res) => {
    const request = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: req.headers,
      body: req,
      hasBody: http1HasBody(req.headers),
      httpVersion: req.httpVersion,
    };
    const reply = handleRest(request, codec);
    if (reply instanceof Promise) reply.then((value) => writeHttp1Reply(res, value));
    else writeHttp1Reply(res, reply);
  };
}

export function startNodeHttp(options: ServerOptions): Promise<RunningServer> {
  return listenHttp1(createHttp1Server(options, restHttp1Listener(JSON_CODEC)), options, 'node-http');
}

export function startRestProtobufH1(options: ServerOptions): Promise<RunningServer> {
  return listenHttp1(createHttp1Server(options, restHttp1Listener(PROTOBUF_CODEC)), options, 'rest-protobuf-h1');
}
