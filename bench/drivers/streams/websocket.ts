/**
 * REST's bidirectional stream as a WebSocket (ws, no compression): each stream
 * is its own connection and upgrade, as a browser or ws client opens it.
 */
import WebSocket from 'ws';
import type { StreamOperation } from '../../../servers/calculator.ts';
import type { OpenStream, StreamClient, StreamHandlers, StreamTarget } from './types.ts';

export function createWebSocketStreamClient(target: StreamTarget): StreamClient {
  const open = new Set<WebSocket>();
  return {
    open(_operation: StreamOperation, handlers: StreamHandlers): OpenStream {
      const ws = new WebSocket(`ws://${target.host}:${target.port}/v1/running-sum`, { perMessageDeflate: false });
      open.add(ws);
      const queued: string[] = [];
      let closing = false;
      let error: string | undefined;
      ws.on('open', () => {
        for (const text of queued.splice(0)) ws.send(text);
        if (closing) ws.close(1000);
      });
      ws.on('message', (data) => {
        const text = data.toString();
        if (text.startsWith('{"value":')) handlers.onAnswer(Number(text.slice(9, -1)));
        else error = text;
      });
      ws.on('error', (reason) => (error ??= reason.message));
      ws.on('close', (code) => {
        open.delete(ws);
        handlers.onEnd(code === 1000 || code === 1005 ? error : `close ${code}: ${error ?? ''}`);
      });
      return {
        send: (value) => {
          const text = `{"value":${value}}`;
          if (ws.readyState === WebSocket.OPEN) ws.send(text);
          else queued.push(text);
        },
        end: () => {
          if (ws.readyState === WebSocket.OPEN) ws.close(1000);
          else closing = true;
        },
        cancel: () => ws.terminate(),
      };
    },
    close: async () => {
      for (const ws of open) ws.terminate();
    },
  };
}
