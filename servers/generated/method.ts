/**
 * One method of a generated server: its types, its gRPC path and what it
 * answers. Below api.ts (which builds them) and routes.ts (which routes REST
 * requests to them), so neither imports the other back.
 */
import type { DescMessage, DescMethod, Message } from '@bufbuild/protobuf';

/** What a method answers. */
export type MethodAnswer =
  | { kind: 'message'; message: Message }
  | { kind: 'echo' }
  | { kind: 'empty'; message: Message }
  | { kind: 'error'; code: number; message: string };

/**
 * Messages a generated server stream answers when the card lists none: its one answer (the card's
 * message, an echo, the empty message), this many times. As many as the notes example's StreamNotes,
 * so that a stream has gaps between answers to measure; a card that lists the messages
 * (`response: { stream: [...] }`) sets the stream's length itself.
 */
export const STREAM_ANSWERS = 4;

/** The messages one server stream writes, in order; an error answer has none (its status is sent instead). */
export function streamMessages(method: GeneratedMethod, request: Message): Message[] {
  const { answer } = method;
  if (method.stream !== null && answer.kind !== 'error') return method.stream;
  switch (answer.kind) {
    case 'message':
    case 'empty':
      return Array.from({ length: STREAM_ANSWERS }, () => answer.message);
    case 'echo':
      return Array.from({ length: STREAM_ANSWERS }, () => request);
    case 'error':
      return [];
  }
}

export interface GeneratedMethod {
  descriptor: DescMethod;
  input: DescMessage;
  output: DescMessage;
  /** "/package.Service/Method" */
  grpcPath: string;
  /** What it answers; a server stream whose messages the card lists: the first of them. */
  answer: MethodAnswer;
  /** A server stream's messages in order, from the card's `response: { stream: [...] }`; null: none listed. */
  stream: Message[] | null;
  /** Where the answer came from, for the server's log and errors: "response of call X", "echo", "empty". */
  source: string;
}
