/**
 * A deliberately wrong contender for the bench tests: node-http with every
 * result one too high. Registered only inside the tests (registerContender);
 * the bench's child process loads it with serve-contender.ts --module.
 */
import { getContender, type Contender } from '../../servers/contenders/index.ts';
import { listenHttp1 } from '../../servers/listen.ts';
import { createHttp1Server } from '../../servers/rest-server.ts';
import { restHttp1Listener } from '../../servers/contenders/node-http.ts';
import { JSON_CODEC } from '../../servers/contenders/rest-protocol.ts';

const offByOne = { ...JSON_CODEC, encodeResult: (value: number) => JSON_CODEC.encodeResult(value + 1) };

export const contender: Contender = {
  ...getContender('node-http'),
  name: 'off-by-one',
  implementation: 'node:http, results + 1',
  start: (options) => listenHttp1(createHttp1Server(options, restHttp1Listener(offByOne)), options, 'off-by-one'),
};
