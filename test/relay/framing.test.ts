// Packet framing over byte streams (spec §6.5, §6.6): syntax per packet, partial input,
// limits, and the writer mirroring the reader.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Embedded, encode, is, parse, stringify, type Value } from '../../src/preserves/index.ts';
import {
  FramingError, PacketReader, PacketWriter, type ReadResult, type Syntax,
} from '../../src/relay/framing.ts';
import { PacketError, packetToValue, parsePacket, type Packet } from '../../src/relay/packet.ts';
import { parseWireRef, wireRefToValue, type WireRef } from '../../src/relay/wire-ref.ts';

const utf8 = new TextEncoder();
const text = (s: string): Uint8Array => utf8.encode(s);
const cat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
};

/** Every packet kind, in text; embeddeds are WireRefs. */
const PACKETS = [
  '[[0 <A <Says "a" "hi" #:[0 3]> 13>] [3 <R 13>] [1 <M <ping #:[1 2 <reject <_>>]>>] [0 <S #:[0 7]>]]',
  '[]',
  '<error "boom" <detail [1 2.5 #"bytes" {k: v}]>>',
  '<credit-flow-control 202506>',
  '#f',
];

type W = WireRef;
const wireDecode = (v: Value<any>) => new Embedded<W>(parseWireRef(v));
const wireEncode = (w: W) => wireRefToValue(w);
const show = (p: Packet<W>) => stringify(packetToValue(p), { embeddedEncode: wireEncode });
const wireReader = (opts = {}) => new PacketReader<W>({ embeddedDecode: wireDecode, ...opts });
const wireWriter = (syntax: Syntax) => new PacketWriter<W>({ syntax, embeddedEncode: wireEncode });
const packetOf = (s: string): Packet<W> => parsePacket(parse<W>(s, { embeddedDecode: wireDecode }));

function okPackets(results: ReadResult<W>[]): { packet: Packet<W>; syntax: Syntax }[] {
  return results.map((r) => {
    if (!r.ok) throw r.error;
    return { packet: r.packet, syntax: r.syntax };
  });
}

test('every packet kind round-trips in both syntaxes', () => {
  for (const syntax of ['binary', 'text'] as const) {
    const w = wireWriter(syntax);
    for (const s of PACKETS) {
      const bytes = w.encode(packetOf(s));
      if (syntax === 'text') assert.equal(bytes[bytes.length - 1], 10, 'text packets end with a newline');
      else assert.ok(bytes[0] >= 0x80, 'binary packets start with a tag byte');
      const r = wireReader();
      const got = okPackets(r.feed(bytes));
      assert.equal(got.length, 1, s);
      assert.equal(got[0].syntax, syntax);
      assert.equal(r.lastSyntax, syntax);
      assert.equal(show(got[0].packet), stringify(parse(s)), s);
      assert.equal(r.buffered, 0);
    }
  }
});

test('byte-at-a-time feeding yields each packet exactly when its last byte arrives', () => {
  for (const syntax of ['binary', 'text'] as const) {
    const w = wireWriter(syntax);
    const encoded = PACKETS.map((s) => w.encode(packetOf(s)));
    const stream = cat(...encoded);
    const ends = new Set<number>();
    let at = 0;
    for (const e of encoded) ends.add((at += e.length) - (syntax === 'text' && e[0] !== 0x23 ? 2 : 1));
    const r = wireReader();
    const seen: string[] = [];
    for (let i = 0; i < stream.length; i++) {
      const got = okPackets(r.feed(stream.subarray(i, i + 1)));
      for (const g of got) seen.push(show(g.packet));
      if (syntax === 'binary') assert.equal(got.length, ends.has(i) ? 1 : 0, 'byte ' + i);
    }
    assert.deepEqual(seen, PACKETS.map((s) => stringify(parse(s))));
  }
});

test('a text packet completes at its closing bracket, without waiting for the newline', () => {
  const r = new PacketReader();
  assert.deepEqual(r.feed(text('[[0 <R 1>]')), []);
  assert.equal(okPackets(r.feed(text(']')) as ReadResult<W>[]).length, 1);
  assert.deepEqual(r.feed(text('\n')), []);
  assert.equal(r.buffered, 0);
});

test('two packets in one chunk, mixed text and binary; whitespace between text packets skipped', () => {
  const b = wireWriter('binary');
  const stream = cat(
    text('  [[0 <R 1>]]\n\n'),
    b.encode(packetOf('[[1 <R 2>]]')),
    text('\t#f\r\n'),
    b.encode(packetOf('#f')),
    text('<error "e" 1>'),
    text('\n'),
  );
  const r = wireReader();
  const got = okPackets(r.feed(stream));
  assert.deepEqual(got.map((g) => g.syntax), ['text', 'binary', 'text', 'binary', 'text']);
  assert.deepEqual(got.map((g) => show(g.packet)), ['[[0 <R 1>]]', '[[1 <R 2>]]', '#f', '#f', '<error "e" 1>']);
  assert.equal(r.lastSyntax, 'text');
});

test('text packets may hold strings, comments, annotations and byte strings with brackets inside', () => {
  const src = '# a comment ] with a bracket\n[[0 <M ["]>" |s]y| #"]" #x"5d" #[XQ==] @"ann" x #{a} {k: v}]>]]\n<ext #t>';
  const r = new PacketReader();
  const results = r.feed(text(src));
  const got = results.map((x) => { if (!x.ok) throw x.error; return x.packet; });
  assert.equal(got.length, 2);
  assert.ok(is(packetToValue(got[0]), parse('[[0 <M ["]>" |s]y| #"]" #"]" #"]" x #{a} {k: v}]>]]')));
  // `<ext #t>` already closed: no newline is needed.
  assert.ok(is(packetToValue(got[1]), parse('<ext #t>')));
});

test('the writer mirrors the syntax of the last packet read', () => {
  const r = new PacketReader();
  const w = new PacketWriter();
  assert.equal(w.syntax, 'binary');
  w.mirror(r);
  assert.equal(w.syntax, 'binary', 'nothing read yet: unchanged');
  r.feed(text('#f\n'));
  w.mirror(r);
  assert.equal(w.syntax, 'text');
  assert.equal(new TextDecoder().decode(w.encode({ type: 'nop' })), '#f\n');
  r.feed(Uint8Array.of(0x80));
  w.mirror(r);
  assert.equal(w.syntax, 'binary');
  assert.deepEqual([...w.encode({ type: 'nop' })], [0x80]);
});

test('a malformed packet value gives a PacketError result, and the reader stays failed', () => {
  const r = new PacketReader();
  const results = r.feed(cat(text('[[0 <R -1>]] '), text('#f ')));
  assert.equal(results.length, 1);
  const [res] = results;
  assert.ok(!res.ok);
  if (res.ok) return;
  assert.ok(res.error instanceof PacketError && !(res.error instanceof FramingError));
  assert.equal(res.error.message, 'turn event 0: retract handle must be a non-negative integer');
  assert.equal(res.syntax, 'text');
  assert.equal(r.next(), res, 'the error is sticky: the connection must be closed');
});

test('syntax errors are FramingErrors (a kind of PacketError) naming the stream offset', () => {
  const bad: [Uint8Array, Syntax, RegExp][] = [
    [text('#f [1 2 >'), 'text', /^text packet at stream byte 3: /],
    [text('> '), 'text', /text packet at stream byte 0/],
    [text('#f\n{a b}'), 'text', /^text packet at stream byte 3: 1:4: expected ":"/],
    [text('#q '), 'text', /invalid # syntax/],
    [Uint8Array.of(0x80, 0xb5, 0x99, 0x84), 'binary', /^binary packet at stream byte 1: invalid tag 0x99/],
    [Uint8Array.of(0x84), 'binary', /unexpected end marker/],
    [Uint8Array.of(0xb0, 0x02, 0x00, 0x01), 'binary', /non-minimal integer/],
    [cat(text('["'), Uint8Array.of(0xff), text('"]')), 'text', /invalid UTF-8/],
  ];
  for (const [bytes, syntax, re] of bad) {
    const results = new PacketReader().feed(bytes);
    const last = results[results.length - 1];
    assert.ok(last && !last.ok, String(bytes));
    if (last.ok) continue;
    assert.ok(last.error instanceof FramingError && last.error instanceof PacketError);
    assert.equal((last.error as FramingError).reason, 'syntax');
    assert.equal(last.syntax, syntax);
    assert.match(last.error.message, re);
  }
});

test('an embedded the hook refuses is an error result, not an exception', () => {
  const r = wireReader();
  const [res] = r.feed(text('[[0 <A #:[7 1] 1>]]'));
  assert.ok(!res.ok && res.error instanceof FramingError && res.error.reason === 'embedded');
  assert.match(res.error.message, /must start with 0 \(mine\) or 1 \(yours\)/);
});

test('an oversize packet is refused, early when a binary length says so', () => {
  const r = new PacketReader({ maxPacketSize: 100 });
  // A byte string declaring a megabyte: refused from its header alone.
  const [res] = r.feed(Uint8Array.of(0xb5, 0xb2, 0x80, 0x80, 0x40));
  assert.ok(!res.ok && res.error instanceof FramingError && res.error.reason === 'too-large');
  assert.match(res.error.message, /larger than the limit of 100 bytes/);

  const t = new PacketReader({ maxPacketSize: 100 });
  let failed: ReadResult<unknown> | undefined;
  for (let i = 0; i < 20 && !failed; i++) failed = t.feed(text('[' + 'x '.repeat(10)))[0];
  assert.ok(failed && !failed.ok && (failed.error as FramingError).reason === 'too-large');

  const ok = new PacketReader({ maxPacketSize: 100 });
  const fits = encode(parse('[[0 <M "' + 'y'.repeat(80) + '">]]'));
  assert.ok(fits.length <= 100);
  assert.ok(ok.feed(fits)[0].ok);
});

test('nesting deeper than maxDepth is refused before the packet ends', () => {
  const r = new PacketReader({ maxDepth: 50 });
  const [res] = r.feed(text('['.repeat(60)));
  assert.ok(!res.ok && res.error instanceof FramingError && res.error.reason === 'too-deep');
  const b = new PacketReader({ maxDepth: 50 });
  const [bres] = b.feed(new Uint8Array(60).fill(0xb5));
  assert.ok(!bres.ok && (bres.error as FramingError).reason === 'too-deep');
  const fine = new PacketReader({ maxDepth: 50 });
  assert.ok(fine.feed(text('[[0 <M ' + '['.repeat(20) + ']'.repeat(20) + '>]]'))[0].ok);
});

test('a large binary packet fed in small chunks is decoded once and buffers are reused', () => {
  const body = 'z'.repeat(300_000);
  const bytes = new PacketWriter().encode(packetOf('[[0 <M "' + body + '">]]') as Packet<unknown>);
  const r = new PacketReader();
  let got: ReadResult<unknown>[] = [];
  for (let i = 0; i < bytes.length; i += 1000) got = got.concat(r.feed(bytes.subarray(i, i + 1000)));
  assert.equal(got.length, 1);
  assert.ok(got[0].ok && got[0].packet.type === 'turn');
  assert.equal(r.buffered, 0);
  assert.equal(r.inPacket, false);
});

test('annotations on a whole packet are read through in both syntaxes', () => {
  const r = new PacketReader();
  const bin = encode(parse('@"note" @x [[0 <R 1>]]', { includeAnnotations: true }), { includeAnnotations: true });
  assert.equal(bin[0], 0x85);
  const got = r.feed(cat(text('@"note" @x [[0 <R 2>]] '), bin, text('# comment\n#f ')));
  assert.deepEqual(got.map((g) => (g.ok ? g.syntax + ' ' + stringify(packetToValue(g.packet)) : g.error.message)),
    ['text [[0 <R 2>]]', 'binary [[0 <R 1>]]', 'text #f']);
  const [emb] = new PacketReader().feed(text('#:[0 1] '));
  assert.ok(!emb.ok && !(emb.error instanceof FramingError), 'a lone embedded is well-formed Preserves but no packet');
});
