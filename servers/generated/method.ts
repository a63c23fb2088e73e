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

export interface GeneratedMethod {
  descriptor: DescMethod;
  input: DescMessage;
  output: DescMessage;
  /** "/package.Service/Method" */
  grpcPath: string;
  answer: MethodAnswer;
  /** Where the answer came from, for the server's log and errors: "response of call X", "echo", "empty". */
  source: string;
}
