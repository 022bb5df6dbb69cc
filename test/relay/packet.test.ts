// Wire packets (spec §6.1): parsing in the schema's order, every event kind, clear errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Embedded, is, parse, stringify, sym, type Value } from '../../src/preserves/index.ts';
import {
  NOP, PacketError, assertEvent, errorPacket, extensionPacket, messageEvent, packetToValue, parsePacket,
  retractEvent, syncEvent, turnPacket, type Packet,
} from '../../src/relay/packet.ts';

const v = (s: string): Value => parse(s);

/** Parses text to a packet, checks it re-encodes to the same value, returns it. */
function roundTrip(text: string): Packet<unknown> {
  const p = parsePacket(v(text));
  assert.ok(is(packetToValue(p), v(text)), stringify(packetToValue(p)) + ' != ' + text);
  return p;
}

test('a turn holding every event kind parses and re-encodes', () => {
  const p = roundTrip('[[0 <A <Says "a" "hi"> 13>] [3 <R 13>] [1 <M <ping #:[0 2]>>] [0 <S #:[0 7]>]]');
  assert.equal(p.type, 'turn');
  if (p.type !== 'turn') return;
  assert.equal(p.events.length, 4);
  assert.deepEqual(p.events.map((e) => [e.oid, e.event.type]), [[0, 'assert'], [3, 'retract'], [1, 'message'], [0, 'sync']]);
  const a = p.events[0].event;
  assert.ok(a.type === 'assert' && a.handle === 13 && is(a.assertion, v('<Says "a" "hi">')));
  const s = p.events[3].event;
  assert.ok(s.type === 'sync' && s.peer instanceof Embedded && is(s.peer, v('#:[0 7]')));
});

test('the spec example packet parses', () => {
  const p = roundTrip('[[0 <A <Observe <group <rec Says> {0: <bind <_>>}> #:[0 3]> 13>]]');
  assert.ok(p.type === 'turn' && p.events[0].event.type === 'assert');
});

test('an empty turn, an error, an extension and a nop', () => {
  assert.deepEqual(roundTrip('[]'), turnPacket([]));
  const e = roundTrip('<error "boom" <detail 1>>');
  assert.ok(e.type === 'error' && e.message === 'boom' && is(e.detail, v('<detail 1>')));
  const x = roundTrip('<credit-flow-control 202506>');
  assert.ok(x.type === 'extension' && x.label === sym('credit-flow-control') && is(x.fields[0], 202506));
  assert.deepEqual(roundTrip('#f'), NOP);
});

test('alternatives are tried in order: a malformed <error …> is an Extension', () => {
  for (const s of ['<error "only message">', '<error 5 6>', '<error>']) {
    const p = parsePacket(v(s));
    assert.equal(p.type, 'extension', s);
    assert.ok(is(packetToValue(p), v(s)));
  }
});

test('constructors build the same values the parser reads', () => {
  const peer = Embedded.generic<unknown>([0, 1]);
  const p = turnPacket([
    { oid: 0, event: assertEvent(v('x'), 3) },
    { oid: 0, event: retractEvent(3) },
    { oid: 2, event: messageEvent(v('"m"')) },
    { oid: 1, event: syncEvent(peer) },
  ]);
  assert.ok(is(packetToValue(p), v('[[0 <A x 3>] [0 <R 3>] [2 <M "m">] [1 <S #:[0 1]>]]')));
  assert.ok(is(packetToValue(errorPacket('e', false)), v('<error "e" #f>')));
  assert.ok(is(packetToValue(extensionPacket(sym('will'), [1])), v('<will 1>')));
});

test('annotations are looked through', () => {
  const p = parsePacket(parse('@"note" [@a [0 @b <A 1 @c 2>]]', { includeAnnotations: true }));
  assert.ok(p.type === 'turn' && p.events[0].event.type === 'assert' && p.events[0].event.handle === 2);
});

test('malformed packets say what is wrong', () => {
  const cases: [string, string][] = [
    ['#t', 'packet must be a turn (sequence), a record or #f'],
    ['"hello"', 'packet must be a turn (sequence), a record or #f'],
    ['[0]', 'turn event 0: must be a two-element sequence [OID EVENT]'],
    ['[[0 <A x 1>] [0 <A y 2> 3]]', 'turn event 1: must be a two-element sequence [OID EVENT]'],
    ['[[-1 <R 1>]]', 'turn event 0: oid must be a non-negative integer'],
    ['[["a" <R 1>]]', 'turn event 0: oid must be a non-negative integer'],
    ['[[0 <A x 1>] [0 <M y>] [0 <R -5>]]', 'turn event 2: retract handle must be a non-negative integer'],
    ['[[0 <A x 1.5>]]', 'turn event 0: assert handle must be a non-negative integer'],
    ['[[0 <A x>]]', 'turn event 0: assert needs 2 fields (assertion, handle), got 1'],
    ['[[0 <R>]]', 'turn event 0: retract needs 1 field (handle), got 0'],
    ['[[0 <M a b>]]', 'turn event 0: message needs 1 field (body), got 2'],
    ['[[0 <S [0 1]>]]', 'turn event 0: sync peer must be an embedded ref'],
    ['[[0 <Q 1>]]', 'turn event 0: unknown event label Q'],
    ['[[0 [A 1]]]', 'turn event 0: event must be a record <A …>, <R …>, <M …> or <S …>'],
    ['[[99999999999999999999 <R 1>]]', 'turn event 0: oid must be a non-negative integer'],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parsePacket(v(text)), (e: unknown) => {
      assert.ok(e instanceof PacketError, text);
      assert.equal(e.message, message, text);
      assert.ok(is(e.packet as Value, v(text)));
      return true;
    });
  }
});
