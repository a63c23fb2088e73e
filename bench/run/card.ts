/**
 * What a bench of an API card (--api) does around the runs: which servers it
 * can measure, and the equivalence check before any load (bench/api/).
 */
import { checkEquivalence, writingCallsWarning, type ApiCard } from '../api/index.ts';
import { BenchUsageError, type BenchOptions } from '../options/options.ts';
import type { Target } from '../types.ts';
import type { ProgressSink } from './progress.ts';
import { SERVICE_NAME } from '../../servers/proto.ts';

/**
 * The servers a card's calls can go to: the targets given, or, for the
 * calculator's own card, the bench's calculator servers. Servers generated
 * from any other card are not built yet: one line says what to give instead.
 */
export function checkCardServers(card: ApiCard, options: Pick<BenchOptions, 'api' | 'protocols' | 'grpcTarget' | 'restTarget' | 'network'>): void {
  const calculatorOnly = card.apis.every((api) => api === SERVICE_NAME);
  const missing = options.protocols.filter((protocol) => (protocol === 'grpc' ? options.grpcTarget === null : options.restTarget === null));
  if (missing.length > 0 && !calculatorOnly) {
    throw new BenchUsageError(
      `--api ${options.api}: the bench starts servers only for the calculator's card; give ${missing.map((protocol) => `--${protocol}-target`).join(' and ')} (your servers of ${card.apis.join(', ')})`,
    );
  }
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
