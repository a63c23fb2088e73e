/**
 * The layers of the code, bottom up, and the check that imports run only
 * downward (README, "How it is built"): a file may import its own layer and
 * the layers below it, never one above; and no files import each other in a
 * loop. `npm test` runs it
 * (test/scripts/check-layers.test.ts); by hand:
 *
 *   node --import tsx scripts/check-layers.ts     # one line per import that runs back up or cycle; exit 1 if any
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../bench/results/repo-root.ts';
import { isMain } from '../bench/cli/main.ts';

/** Bottom up: each layer's name and the paths (a folder ends with /) it holds. */
export const LAYERS: ReadonlyArray<{ name: string; paths: readonly string[] }> = [
  { name: 'vocabulary', paths: ['bench/types.ts', 'shared/', 'bench/api/', 'proto/'] },
  { name: 'results', paths: ['bench/results/'] },
  { name: 'wire', paths: ['bench/wire/'] },
  { name: 'servers', paths: ['servers/'] },
  { name: 'options', paths: ['bench/options/'] },
  { name: 'scenario and hosts', paths: ['bench/scenario/', 'bench/host/'] },
  { name: 'drivers and comparison', paths: ['bench/drivers/', 'bench/compare/'] },
  { name: 'network, report, merge', paths: ['bench/network/', 'bench/report/', 'bench/merge/', 'bench/k8s/'] },
  { name: 'run', paths: ['bench/run/', 'bench/ci/', 'bench/micro/'] },
  { name: 'tools', paths: ['bench/drivers-compare/'] },
  { name: 'commands', paths: ['bench/cli/', 'scripts/'] },
];

/** The layer index of a repository path, or null when no layer holds it. */
export function layerOf(file: string): number | null {
  let best: { index: number; length: number } | null = null;
  for (const [index, layer] of LAYERS.entries()) {
    for (const prefix of layer.paths) {
      const holds = prefix.endsWith('/') ? file.startsWith(prefix) : file === prefix;
      if (holds && (best === null || prefix.length > best.length)) best = { index, length: prefix.length };
    }
  }
  return best?.index ?? null;
}

/** Relative module specifiers of a TypeScript source: static imports and re-exports, dynamic import('...'). */
export function importsOf(source: string): string[] {
  const found: string[] = [];
  const pattern = /(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|(?:^|[\s;])import\s*['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/gm;
  for (const match of source.matchAll(pattern)) found.push((match[1] ?? match[2] ?? match[3])!);
  return found;
}

export interface LayerViolation {
  from: string;
  to: string;
  line: string;
}

/** The TypeScript files under the layers' folders, each with the repository paths it imports (read once). */
export function importGraph(root = REPO_ROOT): Map<string, string[]> {
  const roots = [...new Set(LAYERS.flatMap((layer) => layer.paths).map((p) => p.split('/')[0]!))];
  return new Map(
    roots
      .flatMap((top) => sourcesUnder(root, top))
      .map((file) => [
        file,
        importsOf(readFileSync(path.join(root, file), 'utf8')).map((specifier) => path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier))),
      ]),
  );
}

/** Every import that runs from a lower layer to a higher one. */
export function layerViolations(graph: Map<string, string[]> = importGraph()): LayerViolation[] {
  const violations: LayerViolation[] = [];
  for (const [file, targets] of graph) {
    const fromLayer = layerOf(file);
    if (fromLayer === null) continue;
    for (const target of targets) {
      const toLayer = layerOf(target);
      if (toLayer === null || toLayer <= fromLayer) continue;
      violations.push({ from: file, to: target, line: `${file} (${LAYERS[fromLayer]!.name}) imports ${target} (${LAYERS[toLayer]!.name}, a layer above)` });
    }
  }
  return violations;
}

/** Files that import each other in a loop (each cycle once, as the list of its files). */
export function importCycles(graph: Map<string, string[]> = importGraph()): string[][] {
  const files = [...graph.keys()];
  const edges = new Map(files.map((file) => [file, graph.get(file)!.filter((target) => graph.has(target))]));
  // Tarjan's strongly connected components: a component of two or more files (or a file importing itself) is a cycle.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let next = 0;
  const visit = (file: string): void => {
    index.set(file, next);
    low.set(file, next++);
    stack.push(file);
    onStack.add(file);
    for (const target of edges.get(file)!) {
      if (!index.has(target)) {
        visit(target);
        low.set(file, Math.min(low.get(file)!, low.get(target)!));
      } else if (onStack.has(target)) low.set(file, Math.min(low.get(file)!, index.get(target)!));
    }
    if (low.get(file) !== index.get(file)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== file);
    if (component.length > 1 || edges.get(file)!.includes(file)) cycles.push(component.sort());
  };
  for (const file of files) if (!index.has(file)) visit(file);
  return cycles;
}

function sourcesUnder(root: string, dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(path.join(root, dir), { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((entry) => {
    const file = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : sourcesUnder(root, file);
    return /\.(ts|mts)$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [file] : [];
  });
}

if (isMain(import.meta.url)) {
  const graph = importGraph();
  const violations = layerViolations(graph);
  const cycles = importCycles(graph);
  for (const violation of violations) console.log(violation.line);
  for (const cycle of cycles) console.log(`import cycle: ${cycle.join(' <-> ')}`);
  console.log(violations.length === 0 ? `imports run downward only (${LAYERS.length} layers)` : `${violations.length} import(s) run back up`);
  console.log(`${cycles.length} import cycle(s)`);
  process.exitCode = violations.length === 0 && cycles.length === 0 ? 0 : 1;
}
