/**
 * Reads a request body from any Readable (node:http IncomingMessage, node:http2
 * ServerHttp2Stream or compat request) under LIMITS.maxBodyBytes, as
 * servers/rest-server.ts reads it: 413 the moment the limit is crossed (at once
 * when content-length already says so), nothing past the limit kept.
 */
import type { Readable } from 'node:stream';
import { LIMITS } from '../calculator.ts';
import { CalcError } from '../errors.ts';
import { INCOMPLETE_MESSAGE } from '../grpc-status.ts';
import { TOO_LARGE_MESSAGE } from '../rest-server.ts';

export function tooLarge(): CalcError {
  return new CalcError('RESOURCE_EXHAUSTED', TOO_LARGE_MESSAGE);
}

export function incomplete(): CalcError {
  return new CalcError('INVALID_ARGUMENT', INCOMPLETE_MESSAGE);
}

/**
 * Resolves with the whole body or rejects with a CalcError: RESOURCE_EXHAUSTED
 * past the limit, INVALID_ARGUMENT ('request body was incomplete') for a stream
 * that breaks or ends short of its content-length. On failure the rest of the
 * body is discarded unread (the caller's reply closes an HTTP/1.1 connection).
 */
export function readBody(body: Readable, contentLength: string | undefined, limit: number = LIMITS.maxBodyBytes): Promise<Buffer> {
  const declared = contentLength === undefined ? undefined : Number(contentLength);
  if (declared !== undefined && declared > limit) {
    body.resume();
    return Promise.reject(tooLarge());
  }
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    const fail = (error: CalcError): void => {
      if (settled) return;
      settled = true;
      body.removeListener('data', onData);
      chunks.length = 0;
      body.resume();
      reject(error);
    };
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      if (received > limit) return fail(tooLarge());
      chunks.push(chunk);
    };
    body.on('data', onData);
    body.once('end', () => {
      if (settled) return;
      if (declared !== undefined && received !== declared) return fail(incomplete());
      settled = true;
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received));
    });
    body.once('aborted', () => fail(incomplete()));
    body.once('error', () => fail(incomplete()));
  });
}

/** The media type of a content-type header, lower-cased, without parameters ('' when absent). */
export function mediaType(contentType: string | undefined): string {
  if (!contentType) return '';
  const semi = contentType.indexOf(';');
  return (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}

/** The charset parameter of a content-type header, lower-cased, or undefined. */
export function charset(contentType: string | undefined): string | undefined {
  return contentType ? /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType)?.[1]?.toLowerCase() : undefined;
}
