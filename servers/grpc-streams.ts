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

/** RunningSum: every Number answered at once with the total so far. */
export function runningSumHandler(idleMs: number | undefined): grpc.handleBidiStreamingCall<unknown, Result> {
  return (call) => {
    const running = new RunningTotal();
    let ended = false;
    const finish = (error?: CalcError): void => {
      if (ended) return;
      ended = true;
      idle.stop();
      call.removeListener('data', onData);
      // 'error' on a grpc-js server stream sets the status and ends the call after the writes queued before it.
      if (error) call.emit('error', grpcError(error));
      else call.end();
    };
    const idle = startIdleTimer(finish, idleMs);
    const onData = (message: unknown): void => {
      idle.touch();
      try {
        writeOrPause(call, { value: running.add(message) }, idle.touch);
      } catch (reason) {
        finish(CalcError.from(reason));
      }
    };
    call.on('data', onData);
    call.on('end', () => finish());
    call.on('cancelled', () => idle.stop());
  };
}

/** SumStream: the total when the client half-closes. */
export function sumStreamHandler(idleMs: number | undefined): grpc.handleClientStreamingCall<unknown, Result> {
  return (call, callback) => {
    const running = new RunningTotal();
    let ended = false;
    const finish = (error?: CalcError): void => {
      if (ended) return;
      ended = true;
      idle.stop();
      call.removeListener('data', onData);
      if (error) {
        callback(grpcError(error));
        return;
      }
      try {
        callback(null, { value: running.result() });
      } catch (reason) {
        callback(grpcError(CalcError.from(reason)));
      }
    };
    const idle = startIdleTimer(finish, idleMs);
    const onData = (message: unknown): void => {
      idle.touch();
      try {
        running.add(message);
      } catch (reason) {
        finish(CalcError.from(reason));
      }
    };
    call.on('data', onData);
    call.on('end', () => finish());
    call.on('cancelled', () => idle.stop());
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
