/**
 * REST streams over HTTP/1.1 with node:http (its llhttp parser reads the
 * chunked answers): each stream is a new request on a keep-alive agent, so a
 * stream reuses a connection a finished one left idle, like a REST client does.
 * NDJSON requests are chunked and answered while still being sent (full duplex);
 * prefix-sums reads NDJSON lines or, for 'sse', `data:` events.
 */
import http from 'node:http';
import type { StreamOperation } from '../../../servers/calculator.ts';
import type { OpenStream, StreamClient, StreamHandlers, StreamTarget } from './types.ts';

export function createHttp1StreamClient(target: StreamTarget, sse: boolean, streams: number): StreamClient {
  const agent = new http.Agent({ keepAlive: true, maxSockets: streams });
  return {
    open(operation: StreamOperation, handlers: StreamHandlers, values?: number[]): OpenStream {
      const body = values ? JSON.stringify({ values }) : undefined;
      const request = http.request({
        host: target.host,
        port: target.port,
        method: 'POST',
        path: `/v1/${operation}`,
        agent,
        headers: body
          ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), accept: sse ? 'text/event-stream' : 'application/x-ndjson' }
          : { 'content-type': 'application/x-ndjson' },
      });
      let error: string | undefined;
      let ended = false;
      const finish = (reason?: string): void => {
        if (ended) return;
        ended = true;
        handlers.onEnd(reason ?? error);
      };
      request.on('response', (response) => {
        let pending = '';
        response.setEncoding('utf8');
        response.on('data', (text: string) => {
          pending += text;
          let end: number;
          while ((end = pending.indexOf('\n')) >= 0) {
            const line = pending.slice(0, end);
            pending = pending.slice(end + 1);
            readLine(line);
          }
        });
        response.on('end', () => {
          if (pending !== '') readLine(pending);
          finish(response.statusCode === 200 ? undefined : `HTTP ${response.statusCode}: ${error ?? ''}`);
        });
        response.on('error', () => finish('response broken'));
      });
      const readLine = (line: string): void => {
        const json = sse ? (line.startsWith('data: ') ? line.slice(6) : '') : line;
        if (json === '') return;
        if (json.startsWith('{"value":')) handlers.onAnswer(Number(json.slice(9, -1)));
        else error = json;
      };
      request.on('error', (reason) => finish(reason.message));
      if (body) request.end(body);
      else request.flushHeaders();
      return {
        send: (value) => request.write(`{"value":${value}}\n`),
        end: () => request.end(),
        cancel: () => request.destroy(),
      };
    },
    close: async () => agent.destroy(),
  };
}
