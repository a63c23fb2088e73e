/**
 * What a bench of an API card (--api) does around the runs: which servers it
 * can measure, and the equivalence check before any load (bench/api/).
 */
import { UsageError } from '../../shared/usage-error.ts';
import { ApiCardError, checkEquivalence, writingCallsWarning, type ApiCard } from '../api/index.ts';
import { readCard } from '../api/card.ts';
import { type BenchOptions } from '../options/options.ts';
import type { Target } from '../types.ts';
import type { ProgressSink } from './progress.ts';
import { SERVICE_NAME } from '../../servers/proto.ts';
import { loadGeneratedApi } from '../../servers/generated/api.ts';

/**
 * The servers a card's calls can go to: the targets given; for the calculator's
 * own card, the bench's calculator servers; for any other card, servers
 * generated from it (servers/generated/: grpc-js and express, answering each
 * call's `response:`). Generated servers stand in for both protocols or for
 * neither: one target and one generated server would compare a real server
 * with the card's answers, so that is refused in one line. A `response:` that
 * is not a valid answer is refused here too, before any server starts.
 */
export function checkCardServers(card: ApiCard, options: Pick<BenchOptions, 'api' | 'protocols' | 'grpcTarget' | 'restTarget' | 'network'>): void {
  const calculatorOnly = card.apis.every((api) => api === SERVICE_NAME);
  const missing = options.protocols.filter((protocol) => (protocol === 'grpc' ? options.grpcTarget === null : options.restTarget === null));
  if (missing.length === 0 || calculatorOnly) return;
  if (missing.length < options.protocols.length) {
    throw new UsageError(
      `--api ${options.api}: give ${missing.map((protocol) => `--${protocol}-target`).join(' and ')} too, or no target at all (the bench then starts servers generated from the card for both protocols)`,
    );
  }
  try {
    loadGeneratedApi(options.api!);
  } catch (error) {
    if (error instanceof ApiCardError) throw new UsageError(error.message);
    throw error;
  }
}

/**
 * The card whose generated servers the bench starts (servers/serve.ts --api),
 * or null: no card, or the calculator's card (its hand-written servers answer it).
 * Targets given are the runner's business: it starts no server for them.
 */
export function generatedServerCard(options: Pick<BenchOptions, 'api'>): string | null {
  if (options.api === null) return null;
  const services = readCard(options.api).calls.map((call) => call.method.slice(0, call.method.indexOf('/')));
  return services.every((service) => service === SERVICE_NAME) ? null : options.api;
}

/** Where the equivalence check sends its calls: the running gRPC and REST servers of the run. */
function checkTargets(targets: readonly Target[]): { grpc: { host: string; port: number; tls?: boolean }; rest: { url: string } } | null {
  const grpc = targets.find((target) => target.protocol === 'grpc');
  const rest = targets.find((target) => target.protocol === 'rest');
  if (!grpc || grpc.protocol !== 'grpc' || !rest || rest.protocol !== 'rest') return null;
  return { grpc: { host: grpc.host, port: grpc.port, ...(grpc.tls ? { tls: true } : {}) }, rest: { url: rest.url } };
}

/**
 * Each call once on each protocol (returns the one line that stops the bench, or null), the answers compared field by field (and
 * error statuses by google.rpc.Code's HTTP mapping). The first difference
 * stops the bench before anything is measured. Calls that are not GETs
 * write to the servers at full load: said in one line before it starts.
 */
export async function checkCardEquivalence(card: ApiCard, targets: readonly Target[], progress: ProgressSink): Promise<string | null> {
  const where = checkTargets(targets);
  if (where === null) {
    progress.log(`equivalence check of ${card.file} skipped: it needs both protocols`);
  } else {
    const difference = await checkEquivalence(card, where);
    if (difference !== null) return `equivalence check failed, nothing measured: ${difference}`;
    progress.log(`equivalence check passed: ${card.calls.length} call(s) of ${card.file} answered the same over gRPC and REST`);
  }
  const writing = writingCallsWarning(card);
  if (writing !== null) progress.log(`note: ${writing}`);
  return null;
}
