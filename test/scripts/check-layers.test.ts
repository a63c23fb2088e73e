/**
 * scripts/check-layers.ts: the layers README's "How it is built" names, and
 * imports that run only downward through them. The tree itself passes; a
 * planted import from a lower layer to a higher one is caught and named, and
 * the cycle it closes too.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { importCycles, importGraph, LAYERS, layerOf, layerViolations } from '../../scripts/check-layers.ts';
import { tempDir } from '../helpers/bench.ts';

describe('layers', () => {
  test('every import of the tree runs downward (or within its layer), and no files import each other in a loop', () => {
    const graph = importGraph();
    assert.deepEqual(layerViolations(graph).map((v) => v.line), []);
    assert.deepEqual(importCycles(graph), []);
  });

  test('a planted import from the wire up to the scenario layer is named, with both layers', () => {
    const root = tempDir('callbench-layers-');
    const write = (file: string, text: string): void => {
      mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
      writeFileSync(path.join(root, file), text);
    };
    write('bench/scenario/plan.ts', "import type { Bytes } from '../wire/count.ts';\nexport const plan: Bytes[] = [];\n");
    write('bench/wire/count.ts', "import {\n  plan,\n} from '../scenario/plan.ts';\nexport type Bytes = number;\nexport const n = plan.length;\n");
    const graph = importGraph(root);
    const violations = layerViolations(graph);
    assert.equal(violations.length, 1, violations.map((v) => v.line).join('\n'));
    assert.equal(violations[0]!.line, 'bench/wire/count.ts (wire) imports bench/scenario/plan.ts (scenario and hosts, a layer above)');
    // The two files import each other: one cycle, of both.
    assert.deepEqual(importCycles(graph), [['bench/scenario/plan.ts', 'bench/wire/count.ts']]);
  });

  test('every folder of bench/, servers/ and shared/ has a layer; the README names the layers in this order', () => {
    const folders = ['bench', 'servers'].flatMap((top) => readdirSync(top, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => `${top}/${e.name}/`));
    for (const folder of [...folders, 'shared/']) assert.notEqual(layerOf(`${folder}x.ts`), null, `${folder} has no layer in scripts/check-layers.ts`);
    const built = readFileSync('README.md', 'utf8').split('## How it is built')[1]!.split('```')[0]!;
    const at = LAYERS.map((layer) => built.indexOf(`**${layer.name}**`));
    assert.ok(at.every((i) => i >= 0), `README's layers: ${LAYERS.filter((_, i) => at[i]! < 0).map((l) => l.name).join(', ')} missing`);
    assert.deepEqual(at, [...at].sort((a, b) => a - b), "README's layers in another order");
  });
});
