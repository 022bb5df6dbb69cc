// syndicate-ctl's listing order: exactly localeCompare's, also where it is computed without ICU.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compareText, compareTextIn, rootCollation } from '../../src/cli/ctl/text-order.ts';

const printable = Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i));
const collators = [new Intl.Collator('en'), new Intl.Collator('und')];

test('every pair of printable ASCII characters, and pairs of pairs, compare as the root and English collations do', () => {
  const twos = printable.flatMap((a) => ['', 'a', 'B', ' ', '_', '9'].map((b) => a + b));
  for (const a of twos) {
    for (const b of twos) {
      for (const c of collators) assert.equal(compareTextIn(true, a, b), Math.sign(c.compare(a, b)), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
    }
  }
});

test('random service-like names compare as the root and English collations do', () => {
  // Few characters, so that ties at the first level (case, prefixes) are frequent.
  const name = fc.array(fc.constantFrom(...'<>aAbBzZ09 _-."{}/:#'), { maxLength: 12 }).map((cs) => cs.join(''));
  fc.assert(fc.property(name, name, (a, b) => {
    for (const c of collators) assert.equal(compareTextIn(true, a, b), Math.sign(c.compare(a, b)));
  }), { numRuns: 20000 });
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 8 }), fc.string({ unit: 'binary', maxLength: 8 }), (a, b) => {
    assert.equal(compareTextIn(true, a, b), Math.sign(collators[0].compare(a, b)));
  }), { numRuns: 5000 });
});

test('in this process, compareText is localeCompare; sorting service names gives its order', () => {
  const names = ['<daemon sshd>', '<daemon SSHD>', '<milestone core>', '<config-watcher "/etc" {}>', '<daemon a-b>', '<daemon a_b>', '<daemon ab>', '<daemon é>', '<daemon 10>', '<daemon 9>'];
  assert.deepEqual([...names].sort(compareText), [...names].sort((a, b) => a.localeCompare(b)));
});

test('locales that tailor ASCII (Danish aa, Turkish i) are left to localeCompare', () => {
  assert.equal(rootCollation({}), true);
  assert.equal(rootCollation({ LANG: 'C.UTF-8' }), true);
  assert.equal(rootCollation({ LANG: 'en_GB.UTF-8' }), true);
  assert.equal(rootCollation({ LANG: 'da_DK.UTF-8' }), false);
  assert.equal(rootCollation({ LANG: 'en_US.UTF-8', LC_ALL: 'tr_TR.UTF-8' }), false);
  assert.equal(rootCollation({ LANG: 'tr_TR.UTF-8', LC_MESSAGES: 'en_US.UTF-8' }), true);
  // Delegating gives the tailored order.
  const da = new Intl.Collator('da');
  assert.equal(Math.sign(da.compare('aa', 'b')), 1);
  assert.equal(compareTextIn(false, 'aa', 'b'), Math.sign('aa'.localeCompare('b')));
});
