/**
 * The bench's flags as the user reads them: the usage text of `npm run bench -- --help`.
 */
import { DEFAULT_GRPC_CONNECTIONS } from '../scenario/connections.ts';
import { DEFAULT_SLO_REPEATS } from './slo.ts';
import { DEFAULT_CONNECTION_CALLS, DEFAULT_OUT_DIR, DEFAULT_PROFILE, DEFAULT_SHAPE, DEFAULT_STALL_TIMEOUT_S, DEFAULT_TIMEOUT_MS } from './profiles.ts';

export const USAGE = `usage: npm run bench -- [options]
  --profile quick|standard|full   scenario set (default ${DEFAULT_PROFILE})
  --protocols grpc,rest           protocols to run
  --api card.yaml                 bench your own API: a .proto, its google.api.http REST mapping and the calls
                                  to make (docs/your-api.md); with --grpc-target and --rest-target
  --ops add,subtract,multiply,divide,sum[,running-sum,sum-stream,prefix-sums]
  --streams N --messages N        stream scenarios: streams at once, messages each (default: profile's)
  --transport grpc,ndjson,sse,websocket   stream transports (default: every one that serves the method)
  --sizes 10,1000,10000           values per sum call
  --concurrency 1,16,64           calls in flight
  --duration D  --warmup D        measured run / warm-up: 3 (seconds), 3s, 500ms, 1m, 1m30s
  --connections N                 TCP connections for both protocols (default: gRPC ${DEFAULT_GRPC_CONNECTIONS}, REST one per call in flight)
  --trials N                      repeat every scenario N times, protocols interleaved
  --shape int,money,double        sum value shape(s) (default: profile, else ${DEFAULT_SHAPE})
  --sweep payload                 sum at 1..10,000 values (100,000 in full) x every shape, at 16 in flight
  --sweep network                 add at 1 and 64 in flight, sum of 10,000 at 16, under every network profile, cleartext and TLS (root)
  --compression none,gzip         gzip requests (and accept gzip responses); both = a dimension (default none)
  --wire-calls N                  calls of the byte-counting pass (0 = skip)
  --driver NAME[,NAME]            load generator(s): h2load (both protocols), clients (grpc-js-client + undici-client),
                                  http1-engine, or rest=NAME,grpc=NAME (default grpc-engine + autocannon)
  --rate N                        open loop: N calls/s per protocol, latency from each call's due time
                                  (--concurrency caps calls in flight; REST defaults to http1-engine)
  --grpc-target host:port         bench a running gRPC server (none is started; docs/bench-your-server.md)
  --rest-target http://host:port  bench a running REST server (none is started)
  --grpc-pid N --rest-pid N       the target's process, for server CPU and memory (default: found from its port when local)
  --grpc-port N --rest-port N     ports of the started servers (default 0 = free)
  --contenders all|NAME[,NAME]    bench these servers of servers/contenders/ (npm run serve:contender -- --list)
                                  instead of the default pair (grpc-js, express); 2x2 factorial report (docs/contenders.md)
  --out DIR                       results folder (default ${DEFAULT_OUT_DIR}/)
  --timeout MS|D                  per-call deadline: milliseconds, or 2s, 500ms (default ${DEFAULT_TIMEOUT_MS})
  --pin / --no-pin                taskset servers to CPU 0 and the runner to CPU 1
  --no-streams                    leave out the default run's stream scenario (running-sum on every transport)
  --progress auto|plain|none
  --tls                           both servers over TLS (gRPC h2 via ALPN, REST HTTPS/1.1), self-signed cert
  --connection-calls N            calls per kind of the connection-cost pass (default ${DEFAULT_CONNECTION_CALLS}, 0 = skip)
  --stall-timeout D               fail a run when no call completes for D (default ${DEFAULT_STALL_TIMEOUT_S}s, 0 = off)
  --slo 'p99<10ms[,errors<0.1%]'  capacity: per scenario and protocol, the highest open-loop rate meeting the objective
                                  (a step search; --concurrency caps calls in flight; docs/capacity.md)
  --slo-repeats N                 run N searches each, answer their median with every answer kept (default ${DEFAULT_SLO_REPEATS})
  --slo-step D                    measured length of one search step (default half of --duration)
  --segment K/N                   generate share K of N of every scenario's load (needs the targets; bench:merge joins them);
                                  a profile's concurrencies below N are left out
  --start-at ISO|+S               start the first measured run at an instant (2026-12-01T10:00:00Z) or S seconds from now (+30s)
  --network NAME[,NAME...]        run every scenario under each network condition (root): loopback (default), lan,
                                  cross-zone, cross-region, mobile, lossy, or a spec like rtt=40ms+rate=10mbit+loss=1%
                                  (fields rtt, jitter, rate or up/down, loss; docs/network.md)
  --max-connection-age D          the bench's servers close each connection once it is D old (gRPC GOAWAY,
  --max-connection-calls N        REST connection: close), or after N calls on it; retried calls are counted
  --proxy nginx|haproxy[,direct]  put a proxy the bench starts between generator and servers (both protocols);
                                  several places run in turn, e.g. nginx,direct for the proxy tax (docs/proxies.md)
  --proxy-config FILE             run your own config for that proxy, with {{grpc_listen}}, {{grpc_servers}}, ... filled in
  --replicas N                    server processes per protocol behind the proxy (default 1)
  --balance l4|l7                 the proxy spreads TCP connections (l4) or requests (l7, default)`;
