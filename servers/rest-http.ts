/**
 * The HTTP helpers the REST server's calls and streams share (servers/rest-server.ts,
 * servers/rest-streams.ts), below both: error statuses and bodies, the JSON body
 * reader with its limits, response gzip. The contenders' REST transports use the
 * same tables.
 */
import zlib from 'node:zlib';
import type { NextFunction, Request, Response } from 'express';
import { LIMITS } from './calculator.ts';
import { CalcError, type ErrorCode } from './errors.ts';

/** HTTP status of each calculator error code (the contenders' REST transports use this table too). */
export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = {
  INVALID_ARGUMENT: 400,
  OUT_OF_RANGE: 400,
  RESOURCE_EXHAUSTED: 413,
  NOT_FOUND: 404,
  UNIMPLEMENTED: 405,
  UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504,
  INTERNAL: 500,
};

export type RestError = { error: { code: ErrorCode; message: string } };

/**
 * The app's own error texts, beyond the calculator's and the body limit's
 * (servers/contenders/rest-protocol.ts answers with the same ones).
 */
export const REST_MESSAGES = {
  notJson: 'request body is not valid JSON',
  contentType: (type: string) => `content-type must be ${type}`,
  charset: 'content-type charset must be utf-8',
  incomplete: 'request body was incomplete',
  noHost: 'an HTTP/1.1 request must carry a host header',
  notFound: (method: string, path: string) => `no route for ${method} ${clip(path)}`,
  wrongMethod: (method: string, path: string) => `method ${clip(method)} is not allowed on ${clip(path)}; use POST`,
} as const;

/**
 * Responses are gzipped (content-encoding: gzip, vary: accept-encoding) only
 * when the request's accept-encoding names gzip and the JSON text is at least
 * this long. Below it gzip's fixed cost (18 bytes of header and trailer plus a
 * deflate block) makes the body bigger: {"value":1234567.8912345678} is 28 bytes
 * as text and 42 gzipped. So the calculator's results (20-30 bytes) are never
 * compressed at this default; createRestApp({ gzipMinBytes }) changes it.
 */
export const REST_GZIP_MIN_BYTES = 256;

/** Whether the client named gzip in accept-encoding (without q=0). No header: no compression. */
function acceptsGzip(req: Request): boolean {
  return req.headers['accept-encoding'] !== undefined && req.acceptsEncodings('gzip') === 'gzip';
}

/** res.json(), gzipped when the client accepts it and the body reaches the app's gzipMinBytes. */
export function sendJson(res: Response, status: number, body: unknown): void {
  const min = (res.app?.locals.gzipMinBytes as number | undefined) ?? REST_GZIP_MIN_BYTES;
  const text = JSON.stringify(body);
  if (Buffer.byteLength(text) >= min && res.req && acceptsGzip(res.req)) {
    res.status(status).set({ 'content-type': 'application/json; charset=utf-8', 'content-encoding': 'gzip', vary: 'accept-encoding' });
    res.send(zlib.gzipSync(text));
    return;
  }
  res.status(status).json(body);
}

export function sendError(res: Response, error: CalcError, status = HTTP_STATUS[error.code]): void {
  const body: RestError = { error: { code: error.code, message: error.message } };
  sendJson(res, status, body);
}

/** Echoed request text is cut short, so an error body never grows with a hostile URL. */
export function clip(text: string, max = 200): string {
  return text.length > max ? `${text.slice(0, max)}...` : text;
}

export const TOO_LARGE_MESSAGE = `request body is larger than the limit of ${LIMITS.maxBodyBytes} bytes`;
/** gRPC's text for the same failure (servers/grpc-server.ts). */
export const NOT_DECOMPRESSIBLE_MESSAGE = 'request body could not be decompressed';

/** Checks the headers of a body before reading a byte of it; returns why it is refused, or null. */
export function refuseBody(req: Request): CalcError | null {
  if (!req.is('application/json')) return new CalcError('INVALID_ARGUMENT', REST_MESSAGES.contentType('application/json'));
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(req.headers['content-type'] ?? '')?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    return new CalcError('INVALID_ARGUMENT', REST_MESSAGES.charset);
  }
  if (bodyEncoding(req) === null) {
    return new CalcError('INVALID_ARGUMENT', 'content-encoding must be identity or gzip (other compressed bodies are not accepted)');
  }
  return null;
}

/**
 * The request body's content-encoding: identity (none, empty) or gzip; null for
 * anything else (br, deflate, a list of codings), which is refused with 415.
 * gzip is accepted since the bench's compression dimension sends it; the body
 * limit then applies to the inflated size too (see readJsonBody).
 */
function bodyEncoding(req: Request): 'identity' | 'gzip' | null {
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding === 'identity' || encoding === '') return 'identity';
  if (encoding === 'gzip' || encoding === 'x-gzip') return 'gzip';
  return null;
}

/**
 * Reads the JSON body with the size limit, instead of express.json(): body-parser,
 * on a too-large body, reads the rest of the request to its end before answering,
 * so a 100 MB upload is answered only after 100 MB arrived. Here the 413 goes out
 * the moment the limit is crossed (at once when content-length already says so),
 * the connection is marked to close, and nothing past the limit is kept.
 * Bytes must be UTF-8 (a BOM is skipped); an empty body reads as {}, like an empty
 * protobuf message (every field unset). Parsing is JSON.parse: duplicate keys, last wins.
 * A gzip body (content-encoding: gzip) must be within the limit as sent AND
 * once inflated: zlib stops inflating as soon as the output passes the limit
 * (maxOutputLength), so a zip bomb costs at most the limit in memory and gets
 * 413; bytes that are not gzip get 400 "request body could not be decompressed".
 */
export function readJsonBody(req: Request, res: Response, next: NextFunction): void {
  const limit = LIMITS.maxBodyBytes;
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    sendBodyError(req, res, new CalcError('RESOURCE_EXHAUSTED', TOO_LARGE_MESSAGE));
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let finished = false;
  const stop = (): void => {
    finished = true;
    req.off('data', onData);
    req.off('end', onEnd);
  };
  const onData = (chunk: Buffer): void => {
    size += chunk.length;
    if (size > limit) {
      stop();
      chunks.length = 0;
      sendBodyError(req, res, new CalcError('RESOURCE_EXHAUSTED', TOO_LARGE_MESSAGE));
      return;
    }
    chunks.push(chunk);
  };
  const onEnd = (): void => {
    stop();
    const raw = Buffer.concat(chunks, size);
    if (bodyEncoding(req) === 'gzip') {
      zlib.gunzip(raw, { maxOutputLength: limit }, (error, inflated) => {
        if (error) {
          const tooLarge = (error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
          sendError(res, tooLarge ? new CalcError('RESOURCE_EXHAUSTED', TOO_LARGE_MESSAGE) : new CalcError('INVALID_ARGUMENT', NOT_DECOMPRESSIBLE_MESSAGE));
          return;
        }
        parseBody(inflated);
      });
      return;
    }
    parseBody(raw);
  };
  const parseBody = (bytes: Buffer): void => {
    let text: string;
    try {
      text = UTF8.decode(bytes);
    } catch {
      sendError(res, new CalcError('INVALID_ARGUMENT', REST_MESSAGES.notJson));
      return;
    }
    try {
      req.body = text.trim() === '' ? {} : JSON.parse(text);
    } catch {
      sendError(res, new CalcError('INVALID_ARGUMENT', REST_MESSAGES.notJson));
      return;
    }
    next();
  };
  req.on('data', onData);
  req.on('end', onEnd);
  req.on('error', () => {
    // A broken request stream (client reset, bad chunked encoding): answer if anyone listens.
    if (finished) return;
    stop();
    if (!res.headersSent && !req.socket.destroyed) sendBodyError(req, res, new CalcError('INVALID_ARGUMENT', REST_MESSAGES.incomplete));
  });
}

/** fatal: invalid UTF-8 is not JSON text (RFC 8259 §8.1); a leading BOM is dropped. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * An error answered before the body was read (or while it was being read): the
 * connection closes after the answer, so the rest of the body is never waited for.
 */
export function sendBodyError(req: Request, res: Response, error: CalcError, status?: number): void {
  res.set('connection', 'close');
  sendError(res, error, status);
  req.resume(); // discard whatever is still in flight until the socket closes
}
