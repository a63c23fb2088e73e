/**
 * HPACK: the decoder against RFC 7541 Appendix C (header blocks decoded in
 * sequence on one decoder, dynamic table checked after each), Huffman
 * round trips, malformed input, and the request encoder's blocks.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HpackDecoder, HpackError, type HeaderSink } from '../../bench/drivers/http2/hpack-decoder.ts';
import { encodeRequestHeaderBlocks } from '../../bench/drivers/http2/hpack-request-encoder.ts';
import { huffmanDecode, huffmanEncode, HuffmanError } from '../../bench/drivers/http2/huffman.ts';

type Field = [string, string];

function decodeHex(decoder: HpackDecoder, hex: string): Field[] {
  const fields: Field[] = [];
  const sink: HeaderSink = { onHeader: (name, value) => fields.push([name, value]) };
  const block = Buffer.from(hex.replace(/\s+/g, ''), 'hex');
  decoder.decode(block, 0, block.length, sink);
  return fields;
}

interface Example {
  id: string;
  hex: string;
  headers: Field[];
  table: Field[];
}

/** RFC 7541 Appendix C.3-C.6: wire bytes, decoded fields, dynamic table afterwards (newest first). */
// prettier-ignore
const EXAMPLES: Example[] = [
  { id: "C.3.1", hex: "828684410f7777772e6578616d706c652e636f6d",
    headers: [[":method","GET"],[":scheme","http"],[":path","/"],[":authority","www.example.com"]],
    table: [[":authority","www.example.com"]] },
  { id: "C.3.2", hex: "828684be58086e6f2d6361636865",
    headers: [[":method","GET"],[":scheme","http"],[":path","/"],[":authority","www.example.com"],["cache-control","no-cache"]],
    table: [["cache-control","no-cache"],[":authority","www.example.com"]] },
  { id: "C.3.3", hex: "828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565",
    headers: [[":method","GET"],[":scheme","https"],[":path","/index.html"],[":authority","www.example.com"],["custom-key","custom-value"]],
    table: [["custom-key","custom-value"],["cache-control","no-cache"],[":authority","www.example.com"]] },
  { id: "C.4.1", hex: "828684418cf1e3c2e5f23a6ba0ab90f4ff",
    headers: [[":method","GET"],[":scheme","http"],[":path","/"],[":authority","www.example.com"]],
    table: [[":authority","www.example.com"]] },
  { id: "C.4.2", hex: "828684be5886a8eb10649cbf",
    headers: [[":method","GET"],[":scheme","http"],[":path","/"],[":authority","www.example.com"],["cache-control","no-cache"]],
    table: [["cache-control","no-cache"],[":authority","www.example.com"]] },
  { id: "C.4.3", hex: "828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf",
    headers: [[":method","GET"],[":scheme","https"],[":path","/index.html"],[":authority","www.example.com"],["custom-key","custom-value"]],
    table: [["custom-key","custom-value"],["cache-control","no-cache"],[":authority","www.example.com"]] },
  { id: "C.5.1", hex: "4803333032580770726976617465611d4d6f6e2c203231204f637420323031332032303a31333a323120474d546e1768747470733a2f2f7777772e6578616d706c652e636f6d",
    headers: [[":status","302"],["cache-control","private"],["date","Mon, 21 Oct 2013 20:13:21 GMT"],["location","https://www.example.com"]],
    table: [["location","https://www.example.com"],["date","Mon, 21 Oct 2013 20:13:21 GMT"],["cache-control","private"],[":status","302"]] },
  { id: "C.5.2", hex: "4803333037c1c0bf",
    headers: [[":status","307"],["cache-control","private"],["date","Mon, 21 Oct 2013 20:13:21 GMT"],["location","https://www.example.com"]],
    table: [[":status","307"],["location","https://www.example.com"],["date","Mon, 21 Oct 2013 20:13:21 GMT"],["cache-control","private"]] },
  { id: "C.5.3", hex: "88c1611d4d6f6e2c203231204f637420323031332032303a31333a323220474d54c05a04677a69707738666f6f3d4153444a4b48514b425a584f5157454f50495541585157454f49553b206d61782d6167653d333630303b2076657273696f6e3d31",
    headers: [[":status","200"],["cache-control","private"],["date","Mon, 21 Oct 2013 20:13:22 GMT"],["location","https://www.example.com"],["content-encoding","gzip"],["set-cookie","foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"]],
    table: [["set-cookie","foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"],["content-encoding","gzip"],["date","Mon, 21 Oct 2013 20:13:22 GMT"]] },
  { id: "C.6.1", hex: "488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad171863c78f0b97c8e9ae82ae43d3",
    headers: [[":status","302"],["cache-control","private"],["date","Mon, 21 Oct 2013 20:13:21 GMT"],["location","https://www.example.com"]],
    table: [["location","https://www.example.com"],["date","Mon, 21 Oct 2013 20:13:21 GMT"],["cache-control","private"],[":status","302"]] },
  { id: "C.6.2", hex: "4883640effc1c0bf",
    headers: [[":status","307"],["cache-control","private"],["date","Mon, 21 Oct 2013 20:13:21 GMT"],["location","https://www.example.com"]],
    table: [[":status","307"],["location","https://www.example.com"],["date","Mon, 21 Oct 2013 20:13:21 GMT"],["cache-control","private"]] },
  { id: "C.6.3", hex: "88c16196d07abe941054d444a8200595040b8166e084a62d1bffc05a839bd9ab77ad94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007",
    headers: [[":status","200"],["cache-control","private"],["date","Mon, 21 Oct 2013 20:13:22 GMT"],["location","https://www.example.com"],["content-encoding","gzip"],["set-cookie","foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"]],
    table: [["set-cookie","foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"],["content-encoding","gzip"],["date","Mon, 21 Oct 2013 20:13:22 GMT"]] },
];

function runSequence(prefix: string, tableSize: number): void {
  it(`decodes ${prefix}.1-3 in sequence on one decoder (table size ${tableSize})`, () => {
    const decoder = new HpackDecoder(tableSize);
    for (const example of EXAMPLES.filter((e) => e.id.startsWith(prefix))) {
      assert.deepEqual(decodeHex(decoder, example.hex), example.headers, example.id);
      assert.deepEqual(decoder.entries(), example.table, `${example.id} table`);
      const size = example.table.reduce((sum, [n, v]) => sum + n.length + v.length + 32, 0);
      assert.equal(decoder.tableSize, size, `${example.id} table size`);
    }
  });
}

describe('HPACK decoder: RFC 7541 Appendix C', () => {
  it('C.2.1 literal with indexing', () => {
    const decoder = new HpackDecoder();
    assert.deepEqual(decodeHex(decoder, '400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572'), [
      ['custom-key', 'custom-header'],
    ]);
    assert.deepEqual(decoder.entries(), [['custom-key', 'custom-header']]);
    assert.equal(decoder.tableSize, 55);
  });
  it('C.2.2 literal without indexing', () => {
    const decoder = new HpackDecoder();
    assert.deepEqual(decodeHex(decoder, '040c 2f73 616d 706c 652f 7061 7468'), [[':path', '/sample/path']]);
    assert.equal(decoder.tableSize, 0);
  });
  it('C.2.3 literal never indexed', () => {
    const decoder = new HpackDecoder();
    assert.deepEqual(decodeHex(decoder, '1008 7061 7373 776f 7264 0673 6563 7265 74'), [['password', 'secret']]);
    assert.equal(decoder.tableSize, 0);
  });
  it('C.2.4 indexed field', () => {
    assert.deepEqual(decodeHex(new HpackDecoder(), '82'), [[':method', 'GET']]);
  });
  runSequence('C.3', 4096);
  runSequence('C.4', 4096);
  // C.5 and C.6 run with SETTINGS_HEADER_TABLE_SIZE 256, so entries get evicted.
  runSequence('C.5', 256);
  runSequence('C.6', 256);
});

describe('HPACK decoder: size updates and malformed blocks', () => {
  it('applies a size update at the start of a block and evicts', () => {
    const decoder = new HpackDecoder();
    decodeHex(decoder, '400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572');
    assert.equal(decoder.tableSize, 55);
    // 0x20: size update to 0 empties the table; then index 62 no longer exists.
    assert.deepEqual(decodeHex(decoder, '20 82'), [[':method', 'GET']]);
    assert.equal(decoder.tableSize, 0);
    assert.throws(() => decodeHex(decoder, 'be'), HpackError);
  });
  it('rejects a size update after a field, above the settings limit, and index 0', () => {
    assert.throws(() => decodeHex(new HpackDecoder(), '82 20'), HpackError);
    assert.throws(() => decodeHex(new HpackDecoder(4096), '3fe21f'), HpackError); // 4097
    assert.throws(() => decodeHex(new HpackDecoder(), '80'), HpackError);
  });
  it('rejects truncated strings and integers', () => {
    assert.throws(() => decodeHex(new HpackDecoder(), '400a 6375'), HpackError);
    assert.throws(() => decodeHex(new HpackDecoder(), 'ff'), HpackError);
  });
  it('drops an entry larger than the whole table, emptying it', () => {
    const decoder = new HpackDecoder(64);
    decodeHex(decoder, '4001 61 01 62'); // a: b, 34 bytes
    assert.equal(decoder.tableSize, 34);
    const long = 'x'.repeat(40);
    decodeHex(decoder, `4001 61 28 ${Buffer.from(long).toString('hex')}`);
    assert.equal(decoder.tableSize, 0);
  });
});

describe('Huffman', () => {
  it('round-trips every byte value', () => {
    let text = '';
    for (let i = 0; i < 256; i++) text += String.fromCharCode(i);
    const encoded = huffmanEncode(text);
    assert.equal(huffmanDecode(encoded, 0, encoded.length), text);
  });
  it('rejects padding that is not EOS-prefix ones, or 8 bits or longer', () => {
    // 'a' is 00011 (5 bits); padding with zeros is invalid.
    assert.throws(() => huffmanDecode(Buffer.from([0b00011000]), 0, 1), HuffmanError);
    assert.equal(huffmanDecode(Buffer.from([0b00011111]), 0, 1), 'a');
    assert.throws(() => huffmanDecode(Buffer.from([0b00011111, 0xff]), 0, 2), HuffmanError);
  });
});

describe('request header encoder', () => {
  const fields: Field[] = [
    [':method', 'POST'],
    [':scheme', 'http'],
    [':path', '/calculator.v1.Calculator/Add'],
    [':authority', '127.0.0.1:50051'],
    ['content-type', 'application/grpc'],
    ['te', 'trailers'],
    ['user-agent', 'test'],
    ['x-tenant', 'bench'],
  ];

  it('indexes on the first request and refers to the table afterwards', () => {
    const blocks = encodeRequestHeaderBlocks(fields, 4096, false);
    const decoder = new HpackDecoder();
    assert.deepEqual(decodeHex(decoder, blocks.first.toString('hex')), fields);
    // Six fields need the dynamic table; each later request is one byte per field.
    assert.equal(blocks.repeat.length, fields.length);
    for (let i = 0; i < 3; i++) assert.deepEqual(decodeHex(decoder, blocks.repeat.toString('hex')), fields);
  });

  it('announces a smaller table and still indexes when it fits', () => {
    const blocks = encodeRequestHeaderBlocks(fields, 512, false);
    assert.equal(blocks.first[0] & 0xe0, 0x20);
    const decoder = new HpackDecoder(512);
    assert.deepEqual(decodeHex(decoder, blocks.first.toString('hex')), fields);
    assert.deepEqual(decodeHex(decoder, blocks.repeat.toString('hex')), fields);
  });

  it('falls back to plain literals when the fields do not fit the table', () => {
    const big: Field[] = [...fields, ['x-big', 'y'.repeat(5000)]];
    const blocks = encodeRequestHeaderBlocks(big, 4096, false);
    const decoder = new HpackDecoder();
    assert.deepEqual(decodeHex(decoder, blocks.first.toString('hex')), big);
    assert.deepEqual(decodeHex(decoder, blocks.repeat.toString('hex')), big);
    assert.equal(decoder.tableSize, 0);
  });
});
