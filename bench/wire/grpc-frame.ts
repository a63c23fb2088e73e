/**
 * gRPC's length-prefixed message (gRPC over HTTP/2, "Length-Prefixed-Message"):
 * one flag byte (1 = compressed with the call's grpc-encoding), a 4-byte
 * big-endian length, then the message bytes. Servers, contenders and load
 * generators all frame with this one function.
 */
export function frameGrpcMessage(message: Uint8Array, compressed = false): Buffer {
  const framed = Buffer.allocUnsafe(5 + message.byteLength);
  framed[0] = compressed ? 1 : 0;
  framed.writeUInt32BE(message.byteLength, 1);
  framed.set(message, 5);
  return framed;
}
