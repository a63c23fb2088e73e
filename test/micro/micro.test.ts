import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseMicroArgs } from '../../bench/micro/args.ts';
import { printMicro } from '../../bench/micro/print.ts';
import { CSV_COLUMNS, renderMarkdown } from '../../bench/micro/render.ts';
import type { MicroReport } from '../../bench/micro/report.ts';
import { runMicro } from '../../bench/micro/run.ts';
import { buildCases } from '../../bench/micro/suites.ts';
import { writeMicroReport } from '../../bench/micro/write.ts';
import { PAYLOAD_SIZES, VALUE_SHAPES, makeValues } from '../../bench/scenario/payloads.ts';
import { encodeRequest } from '../../servers/proto.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Bytes of a protobuf varint. */
function varintLength(value: number): number {
  let length = 1;
  while (value >= 128) {
    value = Math.floor(value / 128);
    length++;
  }
  return length;
}

/** Hand-computed size of a Numbers message: packed repeated double = tag + varint(length) + 8 bytes per value. */
function numbersProtobufBytes(count: number): number {
  return 1 + varintLength(8 * count) + 8 * count;
}

describe('micro-benchmark cases: bytes', () => {
  const cases = buildCases({ sizes: PAYLOAD_SIZES, shapes: VALUE_SHAPES });

  it('builds Operands, Result and every size × shape of Numbers', () => {
    assert.equal(cases.filter((item) => item.message === 'Operands').length, 1);
    assert.equal(cases.filter((item) => item.message === 'Result').length, 1 + VALUE_SHAPES.length);
    assert.equal(cases.filter((item) => item.message === 'Numbers').length, PAYLOAD_SIZES.length * VALUE_SHAPES.length);
    assert.equal(new Set(cases.map((item) => item.id)).size, cases.length, 'ids are unique');
  });

  it('Operands {a:20,b:10}: JSON 15 bytes, protobuf 18 (2 × (1 tag byte + 8-byte double))', () => {
    const operands = cases.find((item) => item.message === 'Operands');
    assert.ok(operands);
    assert.equal(Buffer.from(operands.encoded.json).toString('utf8'), '{"a":20,"b":10}');
    assert.equal(operands.encoded.json.byteLength, Buffer.byteLength('{"a":20,"b":10}'));
    assert.equal(operands.encoded.json.byteLength, 15);
    assert.equal(operands.encoded.protobuf.length, 2 * (1 + 8));
    assert.deepEqual(Buffer.from(operands.encoded.protobuf), Buffer.from(encodeRequest('add', { a: 20, b: 10 })));
  });

  it('Result {value:30}: protobuf 9 bytes, JSON {"value":30} 12 bytes', () => {
    const result = cases.find((item) => item.id === 'Result');
    assert.ok(result);
    assert.equal(result.encoded.protobuf.length, 1 + 8);
    assert.equal(result.encoded.json.byteLength, Buffer.byteLength('{"value":30}'));
  });

  it('Numbers: protobuf = 1 tag + varint length + 8 × n; JSON = byte length of the text; both match independent encoders', () => {
    for (const item of cases.filter((c) => c.message === 'Numbers')) {
      const count = item.values ?? 0;
      const values = makeValues(count, item.shape ?? 'int');
      assert.equal(item.encoded.protobuf.length, numbersProtobufBytes(count), item.id);
      assert.equal(item.encoded.json.byteLength, Buffer.byteLength(JSON.stringify({ values })), item.id);
      if (count <= 1000) {
        assert.deepEqual(Buffer.from(item.encoded.protobuf), Buffer.from(encodeRequest('sum', { values })), item.id);
      }
    }
    // Spot checks against numbers worked out by hand.
    assert.equal(numbersProtobufBytes(1), 10);
    assert.equal(numbersProtobufBytes(10), 82);
    assert.equal(numbersProtobufBytes(100), 803);
    assert.equal(numbersProtobufBytes(100_000), 800_004);
  });

  it('every codec round-trips: decode gives back the message, encode gives the same bytes', () => {
    for (const item of cases.filter((c) => (c.values ?? 0) <= 1000)) {
      const expected = item.message === 'Result' ? (item.input as { value: number }).value : item.input;
      for (const format of ['json', 'protobuf'] as const) {
        assert.deepEqual(item.codecs[format].decode(), expected, `${item.id} ${format}`);
        assert.deepEqual(Buffer.from(item.codecs[format].encode()), Buffer.from(item.encoded[format]), `${item.id} ${format}`);
      }
    }
  });
});

describe('micro-benchmark: quick run', () => {
  let report: MicroReport;
  let dir: string;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'callbench-micro-'));
    report = await runMicro({ quick: true });
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('measures every case in both formats and directions', () => {
    assert.equal(report.cases.length, buildCases({ sizes: PAYLOAD_SIZES, shapes: VALUE_SHAPES }).length);
    for (const item of report.cases) {
      for (const direction of ['encode', 'decode'] as const) {
        for (const format of ['json', 'protobuf'] as const) {
          const stats = item[direction][format];
          const where = `${item.id} ${direction} ${format}`;
          assert.ok(stats.opsPerSec > 0 && Number.isFinite(stats.opsPerSec), where);
          assert.ok(stats.meanNs > 0 && stats.p99Ns > 0, where);
          assert.ok(Number.isFinite(stats.rmePct), where);
          assert.ok(stats.samples >= 1 && stats.batch >= 1, where);
        }
        assert.ok(item[direction].jsonToProtobufTime > 0);
      }
      assert.equal(item.bytes.jsonToProtobuf, item.bytes.json / item.bytes.protobuf);
    }
  });

  it('records the environment and settings', () => {
    assert.equal(report.schemaVersion, 1);
    assert.equal(report.environment.node, process.version);
    assert.ok(report.environment.cpu.count >= 1);
    assert.match(report.environment.packages.protobufjs ?? '', /^\d+\.\d+\.\d+/);
    assert.match(report.environment.packages.tinybench ?? '', /^\d+\.\d+\.\d+/);
    assert.ok(!Number.isNaN(Date.parse(report.environment.date)));
    assert.equal(report.settings.quick, true);
  });

  it('generates the summary from the measured bytes', () => {
    const operands = report.summary[0] ?? '';
    assert.match(operands, /\{"a":20,"b":10\} is 15 bytes and the protobuf body 18 bytes/);
    assert.ok(report.summary.some((sentence) => /protobuf is smaller than JSON for double values at every measured size/.test(sentence)));
    assert.ok(report.summary.some((sentence) => /JSON is smaller than protobuf from 10 int values on/.test(sentence)));
  });

  it('prints a table naming every case', () => {
    const text = printMicro(report);
    for (const item of report.cases) assert.ok(text.includes(item.label), item.label);
    assert.ok(renderMarkdown(report).includes('| Operands {a:20,b:10} | 15 | 18 | 0.83× |'));
  });

  it('writes micro.json, micro.md and micro.csv that parse, and no temporary files', async () => {
    const files = writeMicroReport(report, dir);
    assert.match(path.basename(files.dir), /^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z-micro$/);
    assert.deepEqual((await readdir(files.dir)).sort(), ['micro.csv', 'micro.json', 'micro.md']);

    const json = JSON.parse(await readFile(files.json, 'utf8')) as MicroReport;
    assert.deepEqual(json, JSON.parse(JSON.stringify(report)));
    assert.equal(typeof json.cases[0]?.encode.json.opsPerSec, 'number');

    const csv = (await readFile(files.csv, 'utf8')).trimEnd().split('\n');
    assert.equal(csv[0], CSV_COLUMNS.join(','));
    assert.equal(csv.length, 1 + report.cases.length * 4);
    for (const line of csv.slice(1)) {
      const cells = line.split(',');
      assert.equal(cells.length, CSV_COLUMNS.length, line);
      assert.ok(Number(cells[CSV_COLUMNS.indexOf('ops_per_s')]) > 0, line);
    }

    const md = await readFile(files.markdown, 'utf8');
    assert.equal(md.split('\n').filter((line) => line.startsWith('| ')).length, 1 + report.cases.length);

    // A second write in the same second gets its own folder.
    const again = writeMicroReport(report, dir);
    assert.notEqual(again.dir, files.dir);
  });
});

describe('micro-benchmark CLI', () => {
  it('parses flags', () => {
    assert.deepEqual(parseMicroArgs(['--quick', '--sizes', '10,1', '--shapes=double']), {
      quick: true,
      sizes: [1, 10],
      shapes: ['double'],
      resultsDir: 'results',
      write: true,
      help: false,
    });
  });

  for (const [args, message] of [
    [['--sizes', '0'], /size "0" is not an integer from 1 to 100000/],
    [['--sizes', 'abc'], /size "abc"/],
    [['--shapes', 'float'], /shape "float" is not one of/],
    [['--sizes'], /--sizes needs a value/],
    [['--fast'], /unknown option "--fast"/],
  ] as const) {
    it(`rejects ${args.join(' ')} with one line on stderr and exit code 2`, async () => {
      assert.throws(() => parseMicroArgs(args), message);
      const result = await run(process.execPath, ['--import', 'tsx', 'bench/cli/micro.ts', ...args], { cwd: ROOT }).then(
        () => assert.fail('expected a non-zero exit'),
        (error: { code: number; stderr: string }) => error,
      );
      assert.equal(result.code, 2);
      assert.equal(result.stderr.trimEnd().split('\n').length, 1, result.stderr);
      assert.match(result.stderr, message);
    });
  }

  it('runs end to end with --quick and writes its files', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'callbench-micro-cli-'));
    try {
      const { stdout } = await run(
        process.execPath,
        ['--import', 'tsx', 'bench/cli/micro.ts', '--quick', '--sizes', '1,100', '--shapes', 'int', '--results-dir', dir],
        { cwd: ROOT },
      );
      assert.match(stdout, /Numbers ×100 int/);
      const [folder] = await readdir(dir);
      assert.ok(folder);
      const json = JSON.parse(await readFile(path.join(dir, folder, 'micro.json'), 'utf8')) as MicroReport;
      assert.deepEqual(json.settings.sizes, [1, 100]);
      assert.deepEqual(json.settings.shapes, ['int']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
