import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { is, parse, parseAll } from '../../src/preserves/index.ts';

const tool = fileURLToPath(new URL('../../bin/preserves-tool.js', import.meta.url));
function run(args: string[], input: string | Uint8Array) {
  return spawnSync(process.execPath, [tool, ...args], { input });
}

test('convert to binary and back gives an equal value', () => {
  const src = '<a 1 2.0 "x" #"b" [c] {d: e} #{f}>';
  const bin = run(['convert', '--output-format', 'binary'], src);
  assert.equal(bin.status, 0);
  assert.ok(bin.stdout[0] >= 0x80, 'binary output');
  const back = run(['convert', '--input-format', 'binary'], bin.stdout);
  assert.equal(back.status, 0);
  assert.ok(is(parse(back.stdout.toString()), parse(src)));
});

test('many values per stream, auto-detected, indented and canonical output', () => {
  const out = run(['convert', '--output-format', 'canonical'], '#{b a} {z: 1, y: 2} 3');
  assert.equal(out.stdout.toString('hex'), 'b6b30161b3016284' + 'b7b30179b00102b3017ab0010184' + 'b00103');
  const ind = run(['convert', '--output-format', 'indented'], out.stdout);
  assert.ok(is(parseAll(ind.stdout.toString()), parseAll('#{a b} {y: 2, z: 1} 3')));
});

test('check exits 1 with LINE:COLUMN on bad input, 0 on good input', () => {
  const bad = run(['check'], '<a');
  assert.equal(bad.status, 1);
  assert.match(bad.stderr.toString(), /^1:3: /);
  const bad2 = run(['check'], '[1\n 2 }');
  assert.equal(bad2.status, 1);
  assert.match(bad2.stderr.toString(), /^2:4: unexpected \}/);
  assert.equal(run(['check'], '<a> [b]').status, 0);
  assert.equal(run(['frobnicate'], '').status, 2);
});

test('check of empty or whitespace-only input exits 1 with one line saying there is no value', () => {
  for (const input of ['', '  \n\t\n', '# only a comment\n']) {
    const r = run(['check'], input);
    assert.equal(r.status, 1, JSON.stringify(input));
    const lines = r.stderr.toString().split('\n').filter((l) => l !== '');
    assert.equal(lines.length, 1);
    assert.match(lines[0], /no value/);
  }
  assert.equal(run(['check', '--input-format', 'binary'], new Uint8Array(0)).status, 1);
});

test('a string starting with U+FEFF keeps it through binary and back', () => {
  const bin = run(['convert', '--output-format', 'binary'], '"\ufeffbom" |\ufeff|');
  assert.equal(bin.status, 0);
  assert.equal(bin.stdout.subarray(0, 8).toString('hex'), 'b106efbbbf626f6d');
  const back = run(['convert', '--input-format', 'binary'], bin.stdout);
  assert.ok(is(parseAll(back.stdout.toString()), ['\ufeffbom', Symbol.for('\ufeff')]));
});
