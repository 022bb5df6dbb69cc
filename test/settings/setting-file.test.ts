// One setting, one file: names are sha1(canonical(ITEM)) + .pr, and the content is a script that
// asserts exactly ITEM when the config language runs it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { canonicalEncode, double, is, parse, record, type Value } from '../../src/preserves/index.ts';
import type { Assertion } from '../../src/bus/index.ts';
import { readSettingText, settingFileName, settingFileText } from '../../src/settings/setting-file.ts';

/** The seed's vectors (spec synit.md §5), plus values that need care in a script. */
const VECTORS: [string, string][] = [
  ['<mobile-data-enabled>', '8814297f352be4ebbff19137770e619b2ebc5e91'],
  ['<mobile-data-apn "internet">', 'd64373b53ec3476d647b5a2f5d5c5f81345cc1f1'],
  ['<example 1 #t "x">', '4d5779bb0837d814df3edc323bf73f3e65f557a3'],
  ['<example {a: 1 b: "two"}>', '5112f65400daaadc6965cfdf3df98d522d6c4666'],
];

const MORE: Assertion[] = [
  record('selected-wifi-network', 'home', 'wpa-psk', 'pass phrase'),
  parse('{ssid: "café" priority: 2 hidden: #f}') as Assertion,
  '\uFEFFa string that starts with a byte-order mark',
  parse('[$x ?y _ =z = ?]') as Assertion,
  parse('<* $cap [<accept _>]>') as Assertion,
  parse('<$label {$k: ?v}>') as Assertion,
  parse('#{a b c}') as Assertion,
  Symbol.for('let'),
  42, double(1.5), -7, true, parse('#x"00ff"') as Assertion,
];

test('the seed vectors: the file name is the lowercase hex SHA-1 of the canonical form', () => {
  for (const [text, sha] of VECTORS) {
    const v = parse(text) as Assertion;
    assert.equal(settingFileName(v), sha + '.pr', text);
    assert.equal(createHash('sha1').update(canonicalEncode(v as Value)).digest('hex'), sha);
  }
  assert.equal(settingFileText(parse('<mobile-data-enabled>') as Assertion), '<mobile-data-enabled>\n');
});

test('every file reads back, as the config language runs it, to exactly its item', () => {
  for (const v of [...VECTORS.map(([t]) => parse(t) as Assertion), ...MORE]) {
    const name = settingFileName(v);
    const back = readSettingText(settingFileText(v), '/s/' + name, name);
    assert.ok(back.ok, `${settingFileText(v)}: ${back.ok ? '' : back.problem}`);
    assert.ok(is(back.item as Value, v as Value), `${settingFileText(v)} reads back as itself`);
    assert.equal(settingFileName(back.item), name);
  }
});

test('names that are not the hash, and texts that are not one value, are problems with the path', () => {
  const misnamed = readSettingText('<mobile-data-enabled>\n', '/s/0000.pr', '0000.pr');
  assert.deepEqual(misnamed, { ok: false, problem: '/s/0000.pr: the name is not the hash of the content (that would be 8814297f352be4ebbff19137770e619b2ebc5e91.pr)' });
  assert.deepEqual(readSettingText('<a', '/s/x.pr', 'x.pr'), { ok: false, problem: '/s/x.pr:1:3: unexpected end of input' });
  assert.deepEqual(readSettingText('<a> <b>', '/s/x.pr', 'x.pr'), { ok: false, problem: '/s/x.pr: not a setting: a settings file holds exactly one value' });
  assert.deepEqual(readSettingText('? <a> [<b>]', '/s/x.pr', 'x.pr'), { ok: false, problem: '/s/x.pr: not a setting: a settings file holds exactly one value' });
  assert.deepEqual(readSettingText('<a $x>', '/s/x.pr', 'x.pr'), { ok: false, problem: '/s/x.pr:1:4: Undefined variable $x' });
  assert.equal(readSettingText('', '/s/x.pr', 'x.pr').ok, false);
});
