// Splitting output into lines independently of how the pipe chunks it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineSplitter, type OutputLine } from '../../src/services/daemon/line-splitter.ts';

const enc = new TextEncoder();
const split = (chunks: Uint8Array[], max?: number): OutputLine[] => {
  const out: OutputLine[] = [];
  const s = new LineSplitter((l) => out.push(l), max);
  for (const c of chunks) s.push(c);
  s.end();
  return out;
};

test('lines are the same whatever the chunking, UTF-8 split across chunks included', () => {
  const text = enc.encode('héllo wörld\nsecond €\n\nlast');
  const expected = ['héllo wörld\n', 'second €\n', '\n', 'last'];
  for (let cut = 0; cut <= text.length; cut++) {
    assert.deepEqual(split([text.subarray(0, cut), text.subarray(cut)]), expected, `cut at ${cut}`);
  }
  assert.deepEqual(split([...text].map((b) => Uint8Array.of(b))), expected);
});

test('an over-long line is delivered in pieces of the limit', () => {
  assert.deepEqual(split([enc.encode('abcdefghij\nxy')], 4), ['abcd', 'efgh', 'ij\n', 'xy']);
  assert.deepEqual(split([enc.encode('abc'), enc.encode('defgh\n')], 4), ['abcd', 'efgh', '\n']);
});

test('nothing is delivered for empty input, and invalid UTF-8 comes as bytes', () => {
  assert.deepEqual(split([]), []);
  const [bad] = split([Uint8Array.of(0xc3, 0x28, 0x0a)]);
  assert.ok(bad instanceof Uint8Array);
  assert.deepEqual([...bad], [0xc3, 0x28, 0x0a]);
});
