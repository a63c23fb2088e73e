/** The servers frame gRPC messages with the same function as the load generators (bench/wire/grpc-frame.ts). */
export { frameGrpcMessage } from '../bench/wire/grpc-frame.ts';
