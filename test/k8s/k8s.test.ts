/**
 * bench:k8s: the printed manifest parsed with the yaml package and checked
 * field by field (no cluster here), and each pod's shell command run for real
 * under sh with JOB_COMPLETION_INDEX set and a stand-in `npm` on PATH: it must
 * pick its own segment, pass the shared start instant and the bench flags, and
 * print results.json after the marker so the printed `sed` collects it.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { runK8sCli } from '../../bench/cli/k8s.ts';
import { RESULTS_MARKER } from '../../bench/k8s/job.ts';
import { UsageError } from '../../bench/options/options.ts';
import { tempDir } from '../helpers/bench.ts';

const NOW = Date.parse('2026-12-01T10:00:00Z');
const ARGS = ['--segments', '4', '--image', 'callbench:dev', '--grpc-target', 'svc:50051', '--rest-target', 'http://svc:3000'];

interface Job {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: {
    completionMode: string;
    completions: number;
    parallelism: number;
    backoffLimit: number;
    template: { spec: { restartPolicy: string; containers: Array<{ image: string; command: string[]; args: string[] }> } };
  };
}

function manifest(args: string[]): { job: Job; text: string } {
  const text = runK8sCli(args, NOW);
  const documents = parseAllDocuments(text);
  assert.ok(!Array.isArray(documents) || documents.length === 1, 'one YAML document');
  const document = Array.isArray(documents) ? documents[0]! : documents;
  assert.deepEqual(document.errors, []);
  return { job: document.toJS() as Job, text };
}

describe('bench:k8s', () => {
  test('an Indexed Job: completions = parallelism = 4, the image, one shell command per pod; collect and merge commands as comments', () => {
    const { job, text } = manifest(ARGS);
    assert.equal(job.apiVersion, 'batch/v1');
    assert.equal(job.kind, 'Job');
    assert.equal(job.metadata.name, 'callbench');
    assert.equal(job.spec.completionMode, 'Indexed');
    assert.equal(job.spec.completions, 4);
    assert.equal(job.spec.parallelism, 4);
    assert.equal(job.spec.backoffLimit, 0);
    const pod = job.spec.template.spec;
    assert.equal(pod.restartPolicy, 'Never');
    assert.equal(pod.containers.length, 1);
    assert.equal(pod.containers[0]!.image, 'callbench:dev');
    assert.deepEqual(pod.containers[0]!.command, ['/bin/sh', '-c']);
    const script = pod.containers[0]!.args[0]!;
    assert.match(script, /--segment "\$\(\(JOB_COMPLETION_INDEX \+ 1\)\)\/4"/);
    // The default start: 5 minutes after printing, the same instant for every pod.
    assert.match(script, /--start-at 2026-12-01T10:05:00\.000Z /);
    assert.match(script, /--grpc-target svc:50051 --rest-target http:\/\/svc:3000/);
    assert.match(text, /^# +kubectl wait --for=condition=complete --timeout=\d+m job\/callbench$/m);
    assert.match(text, /^# +npm run bench:merge -- callbench-segments\/\*$/m);
    assert.match(text, /job-completion-index=\$i/);
  });

  test('each pod runs its own segment with the shared instant and flags, and its log yields results.json', () => {
    const { job, text } = manifest([...ARGS, '--start-at', '2026-12-01T10:30:00Z', '--rate', '900', '--ops', 'add', '--concurrency', '16,64']);
    const script = job.spec.template.spec.containers[0]!.args[0]!;
    const bin = tempDir('callbench-k8s-bin-');
    // Stands in for npm: prints its arguments to stderr (as the bench prints progress), writes results.json where --out says.
    writeFileSync(
      path.join(bin, 'npm'),
      '#!/bin/sh\necho "npm $*" >&2\nout=""; segment=""; prev=""\n' +
        'for a in "$@"; do [ "$prev" = "--out" ] && out="$a"; [ "$prev" = "--segment" ] && segment="$a"; prev="$a"; done\n' +
        'mkdir -p "$out/latest"\nprintf \'{"segment":"%s"}\\n\' "$segment" > "$out/latest/results.json"\nexit 0\n',
    );
    chmodSync(path.join(bin, 'npm'), 0o755);
    // The collect command's extraction, as printed.
    const sed = /\| sed '([^']+)'/.exec(text)![1]!;
    for (let index = 0; index < 4; index++) {
      const pod = spawnSync('/bin/sh', ['-c', script], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, JOB_COMPLETION_INDEX: String(index) }, encoding: 'utf8' });
      assert.equal(pod.status, 0, pod.stderr);
      assert.match(pod.stderr, new RegExp(`--segment ${index + 1}/4 --start-at 2026-12-01T10:30:00\\.000Z .*--rate 900 --ops add --concurrency 16,64`));
      assert.ok(pod.stdout.startsWith(`${RESULTS_MARKER}\n`));
      const log = `${pod.stderr}${pod.stdout}`;
      const collected = execFileSync('sed', [sed], { input: log, encoding: 'utf8' });
      assert.equal(collected, `{"segment":"${index + 1}/4"}\n`);
    }
  });

  test('bad input gets one line before anything is printed', () => {
    for (const [args, message] of [
      [['--image', 'x', '--grpc-target', 'svc:50051', '--rest-target', 'http://svc:3000'], /--segments must be a whole number/],
      [['--segments', '4', '--grpc-target', 'svc:50051', '--rest-target', 'http://svc:3000'], /--image: give the callbench image/],
      [[...ARGS, '--segment', '1/4'], /--segment: bench:k8s sets it for each pod/],
      [[...ARGS, '--rate', 'fast'], /--rate must be a number/],
      [['--segments', '4', '--image', 'x'], /give --grpc-target and --rest-target/],
      [[...ARGS, '--concurrency', '2,16'], /add\/c2 \(2 in flight\), .* cannot be split into 4 shares/],
      [[...ARGS, '--name', 'Not_A_Label'], /--name must be a DNS label/],
    ] as const) {
      assert.throws(() => runK8sCli([...args], NOW), (error: Error) => error instanceof UsageError && message.test(error.message) && !error.message.includes('\n'));
    }
  });
});
