/**
 * Reads a request body from any Readable (node:http IncomingMessage, node:http2
 * ServerHttp2Stream or compat request) under LIMITS.maxBodyBytes, with the
 * failure texts express's body-parser produces in servers/rest-server.ts.
 */
import type { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { LIMITS } from '../calculator.ts';
import { CalcError } from '../errors.ts';
import { TOO_LARGE_MESSAGE } from '../grpc-server.ts';

export const BODY_MESSAGES = {
  tooLarge: TOO_LARGE_MESSAGE,
  incomplete: 'request body was incomplete',
  badEncoding: 'request body must be UTF-8 JSON without content-encoding',
} as const;

export function tooLarge(): CalcError {
  return new CalcError('RESOURCE_EXHAUSTED', BODY_MESSAGES.tooLarge);
}

/** Content-encodings body-parser inflates (its default `inflate: true`); others are refused. */
const DECODERS: Readonly<Record<string, () => zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress>> = {
  gzip: () => zlib.createGunzip(),
  deflate: () => zlib.createInflate(),
  br: () => zlib.createBrotliDecompress(),
};

export interface ReadBodyOptions {
  /** The content-length header, if any. */
  contentLength?: string | undefined;
  /** The content-encoding header, if any. */
  contentEncoding?: string | undefined;
  limit?: number;
}

/**
 * Resolves with the whole (decoded) body or rejects with a CalcError:
 * RESOURCE_EXHAUSTED past the limit (a declared content-length over it fails
 * before reading), INVALID_ARGUMENT for an unknown content-encoding or a body
 * cut short. On failure the rest of the body is drained, so the connection
 * (HTTP/1.1) or the flow-control window (HTTP/2) is not left blocked.
 */
export function readBody(body: Readable, options: ReadBodyOptions = {}): Promise<Buffer> {
  const limit = options.limit ?? LIMITS.maxBodyBytes;
  const encoding = (options.contentEncoding ?? 'identity').trim().toLowerCase() || 'identity';
  if (encoding !== 'identity' && !(encoding in DECODERS)) {
    body.resume();
    return Promise.reject(new CalcError('INVALID_ARGUMENT', BODY_MESSAGES.badEncoding));
  }
  const declared = encoding === 'identity' && options.contentLength !== undefined ? Number(options.contentLength) : undefined;
  if (declared !== undefined && declared > limit) {
    body.resume();
    return Promise.reject(tooLarge());
  }
  const source: Readable = encoding === 'identity' ? body : body.pipe(DECODERS[encoding]!());
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    const fail = (error: CalcError): void => {
      if (settled) return;
      settled = true;
      source.removeListener('data', onData);
      body.resume();
      if (source !== body) source.resume();
      reject(error);
    };
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      if (received > limit) return fail(tooLarge());
      chunks.push(chunk);
    };
    source.on('data', onData);
    source.once('end', () => {
      if (settled) return;
      if (declared !== undefined && received !== declared) return fail(new CalcError('INVALID_ARGUMENT', BODY_MESSAGES.incomplete));
      settled = true;
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received));
    });
    // A broken compressed stream reads as a body that is not what was promised.
    source.once('error', () => fail(new CalcError('INVALID_ARGUMENT', BODY_MESSAGES.incomplete)));
    body.once('aborted', () => fail(new CalcError('INVALID_ARGUMENT', BODY_MESSAGES.incomplete)));
    if (source !== body) body.once('error', () => fail(new CalcError('INVALID_ARGUMENT', BODY_MESSAGES.incomplete)));
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
  const match = contentType ? /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType) : null;
  return match ? match[1]!.toLowerCase() : undefined;
}
