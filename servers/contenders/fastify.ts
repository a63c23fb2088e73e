/**
 * The REST API (JSON) on fastify 5, over HTTP/1.1 (`fastify`) or h2c/h2
 * (`fastify-h2`, fastify's `http2: true`). Fastify does the routing and the
 * request/reply lifecycle; the body is read and answered by the shared
 * rest-protocol module (a pass-through content-type parser leaves the stream
 * unread), so the content-type rules, the body limit and every text equal
 * express's. What is measured against express is the framework, not a parser.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { isOperation } from '../calculator.ts';
import { answerClientError, lingerBeforeClosing, REST_SERVER_LIMITS } from '../rest-server.ts';
import type { RunningServer, ServerOptions } from '../server-options.ts';
import { describeListenError } from '../server-options.ts';
import { formatAddress, type Http1Server } from '../listen.ts';
import { H2_SETTINGS } from './h2-server.ts';
import { callReply, hostReply, http1HasBody, JSON_CODEC, routeReply, type RestReply } from './rest-protocol.ts';

function send(reply: FastifyReply, answer: RestReply, http2: boolean): FastifyReply {
  reply.code(answer.status).headers(answer.headers);
  if (answer.close && !http2) reply.header('connection', 'close');
  return reply.send(answer.body);
}

function pathOf(request: FastifyRequest): string {
  const query = request.url.indexOf('?');
  return query === -1 ? request.url : request.url.slice(0, query);
}

/** node:http options of servers/rest-server.ts; a missing host header is answered by the onRequest hook below. */
const HTTP1_OPTIONS = { maxHeaderSize: REST_SERVER_LIMITS.maxHeaderBytes, requireHostHeader: false };

export function createFastifyApp(options: ServerOptions, http2: boolean): FastifyInstance {
  const common = {
    // express's matching: case-insensitive paths, trailing slash optional.
    routerOptions: { caseSensitive: false, ignoreTrailingSlash: true },
    keepAliveTimeout: REST_SERVER_LIMITS.keepAliveTimeoutMs,
    requestTimeout: REST_SERVER_LIMITS.requestTimeoutMs,
    return503OnClosing: false,
    logger: false,
  };
  const tls = options.tls ? { key: options.tls.key, cert: options.tls.cert } : undefined;
  const app = (
    http2
      ? Fastify({ ...common, http2: true, ...(tls ? { https: { ...tls, settings: H2_SETTINGS } } : { http: { settings: H2_SETTINGS } }) } as object)
      : Fastify({
          ...common,
          // Requests node's parser rejects get express's JSON error (servers/rest-server.ts), not fastify's.
          clientErrorHandler: answerClientError,
          ...(tls ? { https: { ...tls, ...HTTP1_OPTIONS } } : { http: HTTP1_OPTIONS }),
        } as object)
  ) as unknown as FastifyInstance;

  // Leave every body unread for the shared reader (one limit, one set of texts).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));

  if (!http2) {
    // A 413 sent while the body still arrives reaches a client that is still writing (see lingerBeforeClosing).
    lingerBeforeClosing(app.server as Http1Server);
    app.addHook('onRequest', (request, reply, done) => {
      const refused = hostReply(request.raw.httpVersion, request.headers);
      if (!refused) return done();
      request.raw.resume();
      send(reply, refused, http2);
    });
  }
  app.get('/healthz', (request, reply) => send(reply, routeReply({ kind: 'health' }, request.method, pathOf(request), request.raw), http2));
  app.all('/v1/:operation', async (request, reply) => {
    const operation = (request.params as { operation: string }).operation;
    const path = pathOf(request);
    if (!isOperation(operation)) return send(reply, routeReply({ kind: 'not-found' }, request.method, path, request.raw), http2);
    if (request.method !== 'POST') return send(reply, routeReply({ kind: 'wrong-method', operation }, request.method, path, request.raw), http2);
    const hasBody = http2 || http1HasBody(request.headers);
    return send(reply, await callReply(operation, { headers: request.headers, body: request.raw, hasBody }, JSON_CODEC), http2);
  });
  app.setNotFoundHandler((request, reply) =>
    send(reply, routeReply({ kind: 'not-found' }, request.method, pathOf(request), request.raw), http2),
  );
  return app;
}

async function startFastify(options: ServerOptions, http2: boolean, label: string): Promise<RunningServer> {
  const app = createFastifyApp(options, http2);
  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (error) {
    await app.close().catch(() => {});
    throw new Error(describeListenError(label, options, error));
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    protocol: 'rest',
    host: options.host,
    port,
    address: formatAddress(options, port, 'url'),
    close: async (graceMs = 5_000) => {
      let timer: NodeJS.Timeout | undefined;
      const forced = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          if ('closeAllConnections' in app.server) (app.server as { closeAllConnections(): void }).closeAllConnections();
          resolve();
        }, graceMs);
      });
      await Promise.race([app.close(), forced]);
      clearTimeout(timer);
    },
  };
}

export const startFastifyH1 = (options: ServerOptions): Promise<RunningServer> => startFastify(options, false, 'fastify');
export const startFastifyH2 = (options: ServerOptions): Promise<RunningServer> => startFastify(options, true, 'fastify-h2');
