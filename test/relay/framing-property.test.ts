// Properties of the packet reader: chunk boundaries never matter, and arbitrary bytes give
// results or errors but never exceptions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  decode, is, parse, stringify, type Value,
} from '../../src/preserves/index.ts';
import { PacketReader, PacketWriter, type ReadResult } from '../../src/relay/framing.ts';
import { packetToValue, parsePacket } from '../../src/relay/packet.ts';
import { arbitraryValues } from '../preserves/arbitrary-values.ts';

const SAMPLES = [
  '[[0 <A <Says "a b" "hi]" #:[0 3]> 13>] [3 <R 13>]]',
  '[[1 <M <ping {k: [1 2.5 #"x\\"y" |q s|]}>>] [0 <S #:[0 7]>]]',
  '<error "boom" #f>',
  '<ext #t -12345678901234567890>',
  '#f',
  '[]',
];

const show = (r: ReadResult<unknown>): string => (r.ok ? r.syntax + ' ' + stringify(packetToValue(r.packet)) : 'error');

test('splitting the stream anywhere yields the same packets', () => {
  const writer = new PacketWriter();
  fc.assert(fc.property(
    fc.array(fc.tuple(fc.integer({ min: 0, max: SAMPLES.length - 1 }), fc.boolean(), fc.constantFrom('', ' ', '\n', '\t\r\n')), { minLength: 1, maxLength: 8 }),
    fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 20 }),
    (items, cuts) => {
      const parts = items.map(([i, bin, ws]) => {
        const bytes = writer.encode(parsePacket(parse(SAMPLES[i])), bin ? 'binary' : 'text');
        return Buffer.concat([Buffer.from(ws), bytes]);
      });
      const stream = Buffer.concat(parts);
      const whole = new PacketReader().feed(stream).map(show);
      assert.equal(whole.length, items.length);
      const r = new PacketReader();
      const got: string[] = [];
      let at = 0;
      for (let k = 0; at < stream.length; k++) {
        const n = cuts[k % cuts.length];
        got.push(...r.feed(stream.subarray(at, at + n)).map(show));
        at += n;
      }
      assert.deepEqual(got, whole);
    },
  ), { numRuns: 300, seed: 20260518 });
});

const { arbValue } = arbitraryValues(100n);

/** What decoding one packet's bytes on their own gives: the framing must agree exactly. */
function direct(bytes: Uint8Array, bin: boolean): string {
  try {
    const v = bin ? decode(bytes) : parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    return (bin ? 'binary ' : 'text ') + stringify(packetToValue(parsePacket(v)));
  } catch {
    return 'error';
  }
}

test('random packets read through the framing exactly as decoding each alone', () => {
  const writer = new PacketWriter();
  fc.assert(fc.property(fc.array(fc.tuple(arbValue, fc.boolean()), { minLength: 1, maxLength: 4 }), fc.integer({ min: 1, max: 17 }), (items, step) => {
    const encoded = items.map(([body, bin]) =>
      writer.encode({ type: 'turn', events: [{ oid: 0, event: { type: 'message', body } }] }, bin ? 'binary' : 'text'));
    const expected: string[] = [];
    for (let i = 0; i < items.length; i++) {
      expected.push(direct(encoded[i], items[i][1]));
      if (expected[i] === 'error') break;
    }
    const bytes = Buffer.concat(encoded);
    const r = new PacketReader();
    const got: string[] = [];
    for (let at = 0; at < bytes.length && got.at(-1) !== 'error'; at += step) got.push(...r.feed(bytes.subarray(at, at + step)).map(show));
    assert.deepEqual(got, expected);
  }), { numRuns: 500, seed: 20260518 });
});

test('random message bodies round-trip through the writer and reader', () => {
  const writer = new PacketWriter();
  fc.assert(fc.property(arbValue, fc.boolean(), (body, bin) => {
    const [res] = new PacketReader().feed(writer.encode({ type: 'turn', events: [{ oid: 0, event: { type: 'message', body } }] }, bin ? 'binary' : 'text'));
    assert.ok(res.ok, res.ok ? '' : res.error.message);
    const e = res.packet.type === 'turn' ? res.packet.events[0].event : undefined;
    assert.ok(e?.type === 'message' && is(e.body, body), 'body differs');
  }), { numRuns: 3000 });
});

test('regression: a short symbol right at a writer buffer boundary', () => {
  // A 3-character symbol after padding that leaves 9..(10-1) bytes free: ensure(n+6) passes,
  // varint's ensure(10) reallocates, and the characters land in the old buffer.
  for (let pad = 0; pad < 300; pad++) {
    const body: Value = ['x'.repeat(pad), Symbol.for('abc')];
    const [res] = new PacketReader().feed(new PacketWriter().encode({ type: 'turn', events: [{ oid: 0, event: { type: 'message', body } }] }));
    assert.ok(res.ok && res.packet.type === 'turn' && res.packet.events[0].event.type === 'message' && is(res.packet.events[0].event.body, body), 'pad ' + pad);
  }
});

test('arbitrary bytes never throw', () => {
  fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 6 }), (chunks) => {
    const r = new PacketReader({ maxPacketSize: 256, maxDepth: 16 });
    for (const c of chunks) r.feed(c);
  }), { numRuns: 2000 });
  fc.assert(fc.property(fc.array(fc.string({ maxLength: 40 }), { maxLength: 6 }), (chunks) => {
    const r = new PacketReader({ maxPacketSize: 256, maxDepth: 16 });
    for (const c of chunks) r.feed(new TextEncoder().encode(c));
  }), { numRuns: 2000 });
});
