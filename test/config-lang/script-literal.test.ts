// Values written as scripts assert themselves exactly, whatever symbols they hold.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from '../../src/preserves/index.ts';
import { scriptAsserting } from '../../src/config-lang/script-literal.ts';
import { runScript } from './script-harness.ts';

test('special symbols survive the trip through a script', async () => {
  for (const text of ['<require-service <daemon x>>', '<weird $x ?y _ =z [$a {k: ?v}]>', '42', '"s"', '<* a b>']) {
    const r = await runScript(scriptAsserting(parse(text)));
    assert.deepEqual(r.contents(), [text], text);
    assert.deepEqual(r.errors, []);
  }
});
