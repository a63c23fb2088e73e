/**
 * What every streaming adapter (gRPC, NDJSON, SSE, WebSocket) shares besides
 * the calculator: the idle-stream rule, so each transport ends a silent stream
 * after the same time with the same words.
 */
import { LIMITS } from './calculator.ts';
import { CalcError } from './errors.ts';

/** The error a stream gets when no message arrived for `idleMs`. */
export function idleStreamError(idleMs: number): CalcError {
  return new CalcError('DEADLINE_EXCEEDED', `stream carried no message for ${idleMs} ms`);
}

export interface IdleTimer {
  /** A message arrived: the idle time starts again. */
  touch(): void;
  stop(): void;
}

/** Calls onIdle once when touch() has not been called for idleMs (LIMITS.streamIdleMs unless set). */
export function startIdleTimer(onIdle: (error: CalcError) => void, idleMs: number = LIMITS.streamIdleMs): IdleTimer {
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    timer = setTimeout(() => onIdle(idleStreamError(idleMs)), idleMs);
    // A silent stream must not keep a process alive that is otherwise done.
    timer.unref();
  };
  arm();
  return {
    touch: () => timer?.refresh(),
    stop: () => {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}
