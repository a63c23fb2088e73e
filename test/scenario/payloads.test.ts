import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  PAYLOAD_SIZES,
  VALUE_SHAPES,
  isValueShape,
  makeNumbers,
  makeValues,
  parseShapes,
  parseSizes,
} from '../../bench/scenario/payloads.ts';

describe('makeValues', () => {
  it('is deterministic: same count, shape and seed give the same values', () => {
    for (const shape of VALUE_SHAPES) {
      assert.deepEqual(makeValues(1000, shape), makeValues(1000, shape));
      assert.deepEqual(makeValues(50, shape, 7), makeValues(50, shape, 7));
    }
  });

  it('gives a prefix of a longer run for a shorter one', () => {
    for (const shape of VALUE_SHAPES) {
      assert.deepEqual(makeValues(10, shape), makeValues(1000, shape).slice(0, 10));
    }
  });

  it('changes with the seed and differs between shapes', () => {
    assert.notDeepEqual(makeValues(20, 'double', 1), makeValues(20, 'double', 2));
    assert.notDeepEqual(makeValues(20, 'int'), makeValues(20, 'money').map(Math.floor));
  });

  it('pins the first values, so a change of generator is noticed', () => {
    assert.deepEqual(makeValues(3, 'int'), [79, 57, 17]);
    assert.deepEqual(makeValues(3, 'money'), [6008.59, 7385.45, 3870.18]);
    assert.deepEqual(makeValues(2, 'double'), [74577.63361442949, 114792.52762152393]);
  });

  it('int: integers 0..99', () => {
    const values = makeValues(10_000, 'int');
    assert.ok(values.every((v) => Number.isInteger(v) && v >= 0 && v <= 99));
    assert.equal(new Set(values).size, 100, 'all 100 integers appear in 10,000 draws');
  });

  it('money: at most two decimals, 0..9999.99, printed as such in JSON', () => {
    const values = makeValues(10_000, 'money');
    for (const v of values) {
      assert.ok(v >= 0 && v < 10_000);
      assert.match(JSON.stringify(v), /^\d{1,4}(\.\d{1,2})?$/);
    }
  });

  it('double: full-precision values in [0, 1e6)', () => {
    const values = makeValues(10_000, 'double');
    assert.ok(values.every((v) => v >= 0 && v < 1e6));
    const digits = values.map((v) => JSON.stringify(v).replace('.', '').replace(/^0+/, '').length);
    const mean = digits.reduce((x, y) => x + y, 0) / digits.length;
    assert.ok(mean > 15, `mean significant digits ${mean} should be close to 17`);
  });

  it('handles 0 and the largest size, rejects bad input', () => {
    assert.deepEqual(makeValues(0, 'int'), []);
    assert.equal(makeValues(100_000, 'double').length, 100_000);
    assert.throws(() => makeValues(-1, 'int'), RangeError);
    assert.throws(() => makeValues(1.5, 'int'), RangeError);
    assert.throws(() => makeValues(1, 'big' as never), RangeError);
  });

  it('makeNumbers wraps the values as a Sum request', () => {
    assert.deepEqual(makeNumbers(5, 'money'), { values: makeValues(5, 'money') });
  });
});

describe('shape and size lists', () => {
  it('exports the shapes and default sizes', () => {
    assert.deepEqual(VALUE_SHAPES, ['int', 'money', 'double']);
    assert.deepEqual(PAYLOAD_SIZES, [1, 10, 100, 1000, 10_000, 100_000]);
    assert.ok(isValueShape('money'));
    assert.ok(!isValueShape('float'));
  });

  it('parseSizes sorts, dedupes and accepts underscores', () => {
    assert.deepEqual(parseSizes('100,1,10'), [1, 10, 100]);
    assert.deepEqual(parseSizes('10_000, 10000'), [10_000]);
  });

  it('parseSizes rejects zero, negatives, fractions, words, empty items and sizes over the limit', () => {
    for (const bad of ['0', '-1', '1.5', 'ten', '1,,2', '', '100001', '1e3']) {
      assert.throws(() => parseSizes(bad), RangeError, bad);
    }
  });

  it('parseShapes keeps the canonical order and rejects unknown shapes', () => {
    assert.deepEqual(parseShapes('double,int'), ['int', 'double']);
    assert.throws(() => parseShapes('int,float'), /shape "float" is not one of int, money, double/);
  });
});
