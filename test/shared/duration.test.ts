/**
 * One duration syntax in every command: the parser itself, and `2s` and `2`
 * giving the same value through bench, grpc-load and bench:drivers, with the
 * same one-line refusal of a bad one.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { driverCatalog } from '../../bench/drivers/index.ts';
import { parseDriversArgs } from '../../bench/cli/drivers.ts';
import { DURATION_FORMS, DurationError, durationMs, formatDuration, parseDurationMs } from '../../shared/duration.ts';
import { UsageError, resolveBenchOptions } from '../../bench/options/options.ts';
import { parseCli } from '../../scripts/grpc-load.ts';

const bench = (...args: string[]) => resolveBenchOptions(args, driverCatalog(), { canPin: false });
const grpcLoad = (...args: string[]) => parseCli(['--call', 'calculator.v1.Calculator.Add', ...args, '127.0.0.1:50051']);

describe('duration syntax', () => {
  test('bare seconds, units, compounds', () => {
    const cases: [string, number][] = [
      ['3', 3_000], ['1.5', 1_500], ['3s', 3_000], ['500ms', 500], ['1m', 60_000], ['1m30s', 90_000],
      ['1.1s', 1_100], ['1h2m3s4ms', 3_723_004], [' 2s ', 2_000], ['0', 0],
    ];
    for (const [text, ms] of cases) assert.equal(parseDurationMs(text), ms, text);
    assert.equal(parseDurationMs('250', 'ms'), 250);
    assert.equal(parseDurationMs('2s', 'ms'), 2_000);
  });

  test('microseconds, for the network specs (jitter=200us)', () => {
    assert.equal(parseDurationMs('200us'), 0.2);
    assert.equal(parseDurationMs('1ms500us'), 1.5);
  });

  test('refuses what is not one: units out of order or twice, signs, spaces, exponents, unknown units', () => {
    for (const text of ['', 'ten', '30s1m', '1s1s', '-1', '2 s', '1e3', '10m30', '3sec', '5ns', 's']) {
      assert.equal(parseDurationMs(text), null, text);
    }
  });

  test('a bad one: one line naming the flag, what it got and the accepted forms; out of range names the range', () => {
    assert.throws(() => durationMs('--duration', 'ten', { minMs: 100, maxMs: 3_600_000 }), (error: unknown) => {
      assert.ok(error instanceof DurationError);
      assert.equal(error.message, `--duration must be a duration: ${DURATION_FORMS}, got "ten"`);
      return true;
    });
    assert.throws(() => durationMs('--duration', '0', { minMs: 100, maxMs: 3_600_000 }), /--duration must be from 100ms to 1h, got "0"$/);
    assert.deepEqual([0, 100, 1_500, 90_000, 3_600_000].map(formatDuration), ['0s', '100ms', '1.5s', '1m30s', '1h']);
  });
});

describe('every command reads durations the same way', () => {
  test('bench --duration/--warmup/--stall-timeout: 2s = 2, 500ms = 0.5, 1m30s = 90', () => {
    assert.deepEqual(bench('--duration', '2s', '--warmup', '500ms', '--stall-timeout', '1m30s'), bench('--duration', '2', '--warmup', '0.5', '--stall-timeout', '90'));
    const o = bench('--duration', '2s', '--warmup', '500ms', '--stall-timeout', '1m30s');
    assert.deepEqual([o.durationS, o.warmupS, o.stallTimeoutS], [2, 0.5, 90]);
    // --timeout has always been milliseconds when bare; a unit says otherwise.
    assert.equal(bench('--timeout', '2000').timeoutMs, 2_000);
    assert.equal(bench('--timeout', '2s').timeoutMs, 2_000);
    assert.throws(() => bench('--duration', '3 seconds'), (error: unknown) => error instanceof UsageError && error.message === `--duration must be a duration: ${DURATION_FORMS}, got "3 seconds"`);
    assert.throws(() => bench('--duration', '2h'), /--duration must be from 100ms to 1h, got "2h"/);
  });

  test('grpc-load -z and --timeout: 2s = 2', () => {
    assert.equal(grpcLoad('-z', '2s').options.durationS, 2);
    assert.equal(grpcLoad('-z', '2').options.durationS, 2);
    assert.equal(grpcLoad('-z', '1m30s').options.durationS, 90);
    assert.equal(grpcLoad('--timeout', '500ms').options.timeoutMs, 500);
    assert.throws(() => grpcLoad('-z', 'ten'), (error: unknown) => error instanceof DurationError && error.message === `-z must be a duration: ${DURATION_FORMS}, got "ten"`);
  });

  test('bench:drivers --duration/--warmup: 2s = 2', () => {
    assert.deepEqual(parseDriversArgs(['--duration', '2s', '--warmup', '500ms']), parseDriversArgs(['--duration', '2', '--warmup', '0.5']));
    assert.equal(parseDriversArgs(['--duration', '2s']).durationS, 2);
    assert.throws(() => parseDriversArgs(['--warmup', 'soon']), (error: unknown) => error instanceof DurationError && error.message === `--warmup must be a duration: ${DURATION_FORMS}, got "soon"`);
  });
});
