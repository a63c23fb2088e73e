/**
 * The calculator's three streams over gRPC (grpc-js handlers): RunningSum
 * (bidirectional), SumStream (client stream), PrefixSums (server stream).
 */
import * as grpc from '@grpc/grpc-js';
import { prefixSums, RunningTotal } from './calculator.ts';
import { CalcError } from './errors.ts';
import { startIdleTimer } from './streams.ts';
import { grpcError } from './grpc-status.ts';

type Result = { value: number };

/**
 * Backpressure, the same in the three stream handlers: when write() says the
 * outgoing side is full (the client reads slower than we answer; HTTP/2 flow
 * control holds our DATA), reading stops until 'drain'. grpc-js reads the
 * request stream only on demand, so a paused call leaves the client's messages
 * in its own flow-control window: nothing piles up in the server.
 */
function writeOrPause(call: grpc.ServerDuplexStream<unknown, Result>, result: Result, onDrain: () => void): void {
  if (call.write(result)) return;
  call.pause();
  call.once('drain', () => {
    onDrain();
    call.resume();
  });
}

/**
 * Reads a request stream until it ends, fails or goes idle: each message to `onMessage` (a CalcError it throws ends
 * the stream with that error), then `end` once, with the error or none. The two handlers that read the client's
 * messages share it; they differ in what a message does and how the call ends.
 */
function readStream(
  call: grpc.ServerReadableStream<unknown, Result> | grpc.ServerDuplexStream<unknown, Result>,
  idleMs: number | undefined,
  onMessage: (message: unknown, touch: () => void) => void,
  end: (error?: CalcError) => void,
): void {
  let ended = false;
  const finish = (error?: CalcError): void => {
    if (ended) return;
    ended = true;
    idle.stop();
    call.removeListener('data', onData);
    end(error);
  };
  const idle = startIdleTimer(finish, idleMs);
  const onData = (message: unknown): void => {
    idle.touch();
    try {
      onMessage(message, idle.touch);
    } catch (reason) {
      finish(CalcError.from(reason));
    }
  };
  call.on('data', onData);
  call.on('end', () => finish());
  call.on('cancelled', () => idle.stop());
}

/** RunningSum: every Number answered at once with the total so far. */
export function runningSumHandler(idleMs: number | undefined): grpc.handleBidiStreamingCall<unknown, Result> {
  return (call) => {
    const running = new RunningTotal();
    readStream(
      call,
      idleMs,
      (message, touch) => writeOrPause(call, { value: running.add(message) }, touch),
      // 'error' on a grpc-js server stream sets the status and ends the call after the writes queued before it.
      (error) => (error ? call.emit('error', grpcError(error)) : call.end()),
    );
  };
}

/** SumStream: the total when the client half-closes. */
export function sumStreamHandler(idleMs: number | undefined): grpc.handleClientStreamingCall<unknown, Result> {
  return (call, callback) => {
    const running = new RunningTotal();
    readStream(
      call,
      idleMs,
      (message) => void running.add(message),
      (error) => {
        if (error) return callback(grpcError(error));
        try {
          callback(null, { value: running.result() });
        } catch (reason) {
          callback(grpcError(CalcError.from(reason)));
        }
      },
    );
  };
}

/** PrefixSums: one Result per value; the request is checked whole before the first answer. */
export const prefixSumsHandler: grpc.handleServerStreamingCall<unknown, Result> = (call) => {
  let totals: Iterator<number>;
  try {
    totals = prefixSums(call.request)[Symbol.iterator]();
  } catch (reason) {
    call.emit('error', grpcError(CalcError.from(reason)));
    return;
  }
  // Writes until the stream is full, then waits for 'drain': at most a window's worth is buffered.
  const pump = (): void => {
    try {
      for (let next = totals.next(); !next.done; next = totals.next()) {
        if (!call.write({ value: next.value })) {
          call.once('drain', pump);
          return;
        }
      }
      call.end();
    } catch (reason) {
      call.emit('error', grpcError(CalcError.from(reason)));
    }
  };
  call.on('cancelled', () => call.removeListener('drain', pump));
  pump();
};
