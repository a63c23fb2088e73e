/** A row's place (--proxy, --balance, --replicas) as a suffix of its scenario, so rows at different places stay apart. */
import type { RunRecord } from './record.ts';

/** " @nginx l4 x2" for a proxied row, "" for a direct one (older files: no place). */
export function placeSuffix(run: Pick<RunRecord, 'place'>): string {
  const proxy = proxyLabel(run);
  return proxy === null ? '' : ` @${proxy}`;
}

/** "nginx l4 x2": the proxy a row went through, its balancing and replicas; null for a direct row. */
export function proxyLabel(run: Pick<RunRecord, 'place'>): string | null {
  const place = run.place;
  if (!place?.proxy) return null;
  return `${place.proxy}${place.balance ? ` ${place.balance}` : ''}${place.replicas && place.replicas > 1 ? ` x${place.replicas}` : ''}`;
}
