/** What a passive stream parser reports for one direction of the traffic. */
export interface StreamCounts {
  /** Every byte seen. */
  totalBytes: number;
  /** Not message body: HTTP/1.1 header blocks and chunk framing; HTTP/2 frame headers, non-DATA frames, padding and the 5-byte gRPC prefix. */
  headerBytes: number;
  /** Message body: HTTP/1.1 payload; gRPC message bytes inside DATA frames. */
  bodyBytes: number;
  /** HTTP/1.1 messages, or gRPC length-prefixed messages. */
  messages: number;
}

export interface WireParser {
  readonly counts: StreamCounts;
  push(chunk: Buffer): void;
}

export function emptyCounts(): StreamCounts {
  return { totalBytes: 0, headerBytes: 0, bodyBytes: 0, messages: 0 };
}

export function addCounts(into: StreamCounts, from: StreamCounts): StreamCounts {
  into.totalBytes += from.totalBytes;
  into.headerBytes += from.headerBytes;
  into.bodyBytes += from.bodyBytes;
  into.messages += from.messages;
  return into;
}
