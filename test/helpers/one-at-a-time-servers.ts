/**
 * The capacity test's servers in a process of their own: a fake REST and a fake
 * gRPC calculator that serve one call at a time with a fixed service time
 * (argv[2] ms; true capacity 1000 / ms calls/s). Prints {"grpcPort","restPort"}
 * as one line once both listen, and exits when its stdin closes.
 *
 * Why a process of its own: in the test runner's process the servers share a
 * heap, and its collector's pauses, with everything else the tests hold; a
 * pause of a few ms queues a burst of calls behind the one-at-a-time server and
 * costs a 5 ms objective for reasons that have nothing to do with the search.
 */
import { startFakeGrpcServer, startFakeRestServer } from './bench.ts';

const serviceMs = Number(process.argv[2]);
const rest = await startFakeRestServer(serviceMs, { oneAtATime: true });
const grpc = await startFakeGrpcServer(serviceMs, { oneAtATime: true });
process.stdout.write(`${JSON.stringify({ grpcPort: grpc.port, restPort: rest.port })}\n`);
process.stdin.resume();
process.stdin.on('end', () => void Promise.all([rest.close(), grpc.close()]).then(() => process.exit(0)));
