/**
 * bench/run/progress.ts: what a person sees on stderr during a run. On a TTY one
 * line is rewritten in place (phase, % done, time left); not on a TTY, in CI,
 * or with --progress plain, one plain line per phase; 'none' keeps only the
 * lines that stay (results of a run). Checked on a stream that records writes.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { createProgress, formatEta } from '../../bench/run/progress.ts';

/** A stderr stand-in: records what is written; `isTTY` and `columns` as a terminal would set them. */
function recordingStream(isTTY: boolean, columns = 80): NodeJS.WriteStream & { text(): string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  }) as unknown as NodeJS.WriteStream & { text(): string };
  Object.assign(stream, { isTTY, columns, text: () => chunks.join('') });
  return stream;
}

const CLEAR_LINE = '\r\x1b[2K';

describe('progress', () => {
  test('on a TTY: one line rewritten in place with %, eta; result lines stay; close clears it', async () => {
    const stream = recordingStream(true);
    const progress = createProgress({ mode: 'auto', stream, env: {}, totalPlannedS: 10 });
    progress.phase('[1/2] add/c16 grpc measuring', 5);
    // Redraws are throttled to one per 100 ms; wait so the update draws.
    await new Promise((resolve) => setTimeout(resolve, 120));
    progress.update(0.5);
    progress.log('[1/2] add/c16 grpc: 1000 calls/s');
    progress.endPhase();
    progress.close();
    const text = stream.text();
    assert.ok(text.startsWith(`${CLEAR_LINE}[1/2] add/c16 grpc measuring   0%  eta `), JSON.stringify(text));
    assert.match(text, /\r\x1b\[2K\[1\/2\] add\/c16 grpc measuring  50%  eta \d+s/);
    // The result line is printed on a cleared line, ends with a newline, and the in-place line is redrawn after it.
    assert.match(text, /\r\x1b\[2K\[1\/2\] add\/c16 grpc: 1000 calls\/s\n\r\x1b\[2K\[1\/2\] add\/c16 grpc measuring/);
    assert.ok(text.endsWith(CLEAR_LINE), 'close() must clear the in-place line');
    // In place means no newline after a progress line: the only newline is the result line's.
    assert.equal(text.split('\n').length, 2);
  });

  test('the in-place line is cut to the terminal width', () => {
    const stream = recordingStream(true, 30);
    const progress = createProgress({ mode: 'auto', stream, env: {}, totalPlannedS: 1 });
    progress.phase('a label much longer than thirty columns of terminal', 1);
    const drawn = stream.text().replace(CLEAR_LINE, '');
    assert.equal(drawn.length, 29);
  });

  for (const [why, isTTY, env, mode] of [
    ['not a TTY', false, {}, 'auto'],
    ['CI=true', true, { CI: 'true' }, 'auto'],
    ['--progress plain', true, {}, 'plain'],
  ] as const) {
    test(`${why}: one plain line per phase with its eta, no control characters`, () => {
      const stream = recordingStream(isTTY);
      const progress = createProgress({ mode, stream, env, totalPlannedS: 10 });
      progress.phase('[1/2] add/c16 rest warm-up', 1);
      progress.update(0.5);
      progress.endPhase();
      progress.phase('[1/2] add/c16 rest measuring', 3);
      progress.log('[1/2] add/c16 rest: 900 calls/s');
      progress.close();
      const lines = stream.text().split('\n');
      assert.equal(lines.length, 4, stream.text());
      assert.match(lines[0]!, /^\[1\/2\] add\/c16 rest warm-up \(eta \d+s\)$/);
      assert.match(lines[1]!, /^\[1\/2\] add\/c16 rest measuring \(eta \d+s\)$/);
      assert.equal(lines[2], '[1/2] add/c16 rest: 900 calls/s');
      assert.doesNotMatch(stream.text(), /\x1b|\r/);
    });
  }

  test('none: only the lines that stay', () => {
    const stream = recordingStream(true);
    const progress = createProgress({ mode: 'none', stream, env: {}, totalPlannedS: 10 });
    progress.phase('[1/1] add/c1 grpc measuring', 1);
    progress.update(1);
    progress.log('kept');
    progress.close();
    assert.equal(stream.text(), 'kept\n');
  });

  test('eta: the time left shrinks as planned seconds are done', () => {
    const stream = recordingStream(false);
    const progress = createProgress({ mode: 'plain', stream, env: {}, totalPlannedS: 100 });
    progress.phase('first', 50);
    progress.endPhase();
    progress.phase('second', 50);
    const [first, second] = stream
      .text()
      .trim()
      .split('\n')
      .map((line) => {
        const [, minutes, seconds] = /eta (?:(\d+)m)?(\d+)s/.exec(line)!;
        return Number(minutes ?? 0) * 60 + Number(seconds);
      });
    assert.ok(second! < first!, `eta went from ${first} to ${second}`);
    assert.equal(formatEta(125), '2m05s');
    assert.equal(formatEta(59.4), '59s');
  });
});
