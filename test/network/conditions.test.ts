/**
 * --network conditions: the built-in profiles and the inline spec parser
 * (no link, no root needed).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { NETWORK_PROFILES, NetworkSpecError, parseNetworkCondition, parseNetworkList } from '../../bench/options/network.ts';
import { queueBytesFor } from '../../bench/network/link.ts';

describe('network conditions', () => {
  test('loopback is no emulation; every other profile is a condition with its name', () => {
    assert.equal(parseNetworkCondition('loopback'), null);
    for (const name of Object.keys(NETWORK_PROFILES).filter((n) => n !== 'loopback')) {
      const condition = parseNetworkCondition(name)!;
      assert.equal(condition.name, name);
      assert.ok(condition.rttMs > 0, name);
    }
    assert.deepEqual(parseNetworkCondition('mobile'), { name: 'mobile', rttMs: 60, jitterMs: 20, upMbit: 5, downMbit: 10, lossPercent: 0.5 });
  });

  test('inline specs: fields joined with +, units converted', () => {
    assert.deepEqual(parseNetworkCondition('rtt=40ms+rate=10mbit+loss=1%'), {
      name: 'rtt=40ms+rate=10mbit+loss=1%', rttMs: 40, jitterMs: 0, upMbit: 10, downMbit: 10, lossPercent: 1,
    });
    assert.deepEqual(parseNetworkCondition('rtt=1.5s+jitter=200us+up=500kbit+down=1gbit'), {
      name: 'rtt=1.5s+jitter=200us+up=500kbit+down=1gbit', rttMs: 1500, jitterMs: 0.2, upMbit: 0.5, downMbit: 1000, lossPercent: 0,
    });
    assert.equal(parseNetworkCondition('rtt=0ms')!.rttMs, 0);
  });

  test('bad specs: one line naming the field and what it accepts', () => {
    const bad: [string, RegExp][] = [
      ['rtt=20ms+speed=1mbit', /unknown field "speed"; fields: rtt, jitter, rate, up, down, loss/],
      ['rtt=20', /rtt must be a duration like 20ms/],
      ['rtt=20s', /rtt must be from 0 to 10000 ms, got 20000 ms/],
      ['loss=60%', /loss must be from 0 to 50 %/],
      ['loss=2', /loss must be a percentage/],
      ['rate=1bit', /rate must be a rate like 500kbit/],
      ['rate=20gbit', /rate must be from 0.008 to 10000 mbit/],
      ['rtt=10ms+jitter=20ms', /jitter \(20 ms\) must not exceed rtt/],
      ['rate=1mbit+up=2mbit', /give rate \(both ways\) or up\/down, not both/],
      ['rtt=1ms+rtt=2ms', /"rtt" given twice/],
      ['rtt', /unknown network "rtt"; profiles: loopback, lan/],
      ['rtt=5ms+', /"" is not field=value/],
    ];
    for (const [spec, message] of bad) {
      assert.throws(() => parseNetworkCondition(spec), (e: Error) => e instanceof NetworkSpecError && message.test(e.message) && !e.message.includes('\n'), spec);
    }
  });

  test('a list keeps its order, drops repeats, rejects empty items', () => {
    assert.deepEqual(parseNetworkList('loopback,lossy,loopback').map((c) => c?.name ?? null), [null, 'lossy']);
    assert.throws(() => parseNetworkList('lan,,lossy'), /without empty items/);
  });

  test('the rate limiter queues 100 ms at the rate or one bandwidth-delay product, at least 64 KiB', () => {
    assert.equal(queueBytesFor(null, 20), 0);
    assert.equal(queueBytesFor(20, 0), 250_000);
    assert.equal(queueBytesFor(1, 0), 64 * 1024);
    assert.equal(queueBytesFor(100, 200), 2_500_000);
  });
});
