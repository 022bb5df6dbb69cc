// Scripts nested past MAX_SCRIPT_NESTING (issue 10: `'?- '` × 5000 then `<a>`, chained `$x`,
// `? P`, `?? P`, `=~`, `stringify`) are one file:line:column error in the parser, in `--check`
// (in-process and as the real program) and in a running watcher, which goes on loading the
// valid file beside them; scripts at the limit still parse, check and run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Embedded } from '../../src/preserves/index.ts';
import { Actor, Dataspace, P, settle, type Ref } from '../../src/bus/index.ts';
import { MAX_SCRIPT_NESTING } from '../../src/config-lang/parser.ts';
import { loadScriptText } from '../../src/config-lang/script-file.ts';
import { checkPaths } from '../../src/config-lang/check.ts';
import { startConfigWatcher } from '../../src/config-lang/config-watcher.ts';
import { show } from '../bus/harness.ts';
import { runScript } from './script-harness.ts';

const N = MAX_SCRIPT_NESTING;

/** The hostile scripts of the issue, each nested far past the limit. */
const HOSTILE: { [name: string]: string } = {
  'on-stop': '?- '.repeat(5000) + '<a>\n',
  'retarget': '$x '.repeat(4100) + '<a>\n',
  'during': '? P '.repeat(4100) + '<a>\n',
  'on-message': '?? P '.repeat(4100) + '<a>\n',
  'match': '=~ P '.repeat(2050) + '<a>\n',
  'stringify': 'let ?x = ' + 'stringify '.repeat(5000) + '1\n',
  'join': 'let ?x = ' + 'join "," '.repeat(3000) + '[]\n',
  'blocks-and-prefixes': '? <p> '.repeat(600) + '['.repeat(600) + '<a>' + ']'.repeat(600) + '\n',
};

const DEEP = /^\/etc\/test\/x\.pr:1:\d+: (Instructions|Expressions) nested deeper than 1000 levels$/;

for (const [name, text] of Object.entries(HOSTILE)) {
  test(`parser: ${name} past the nesting limit is one error with file:line:column`, () => {
    const loaded = loadScriptText(text, '/etc/test/x.pr');
    assert.equal(loaded.kind, 'parse-errors');
    if (loaded.kind !== 'parse-errors') return;
    assert.equal(loaded.errors.length, 1, loaded.errors.map((e) => e.message).join('\n'));
    assert.match(loaded.errors[0].message, DEEP);
  });
}

test('scripts nested exactly to the limit parse and run', async () => {
  const atLimit = [
    '?- '.repeat(N) + '<a>',
    '=~ _ '.repeat(N) + '<a>',
    '$config '.repeat(N) + '<a>',
    '['.repeat(N - 1) + '<a>' + ']'.repeat(N - 1),
    'let ?x = ' + 'stringify '.repeat(N - 1) + '1\n<a $x>',
  ];
  for (const text of atLimit) {
    const loaded = loadScriptText(text, '/etc/test/x.pr');
    assert.equal(loaded.kind, 'ok', text.slice(0, 40));
  }
  const matched = await runScript(atLimit[1]);
  assert.deepEqual(matched.contents(), ['<a>']);
  assert.deepEqual(matched.errors, []);
  const retargeted = await runScript(atLimit[2]);
  assert.deepEqual(retargeted.contents(), ['<a>']);
  const block = await runScript(atLimit[3]);
  assert.deepEqual(block.contents(), ['<a>']);
  // 1000 nested reactions: each level waits for <p>, the innermost asserts <a>.
  const duringRec = await runScript('? <p> '.repeat(N) + '<a>\n<p>');
  assert.deepEqual(duringRec.contents(), ['<a>', '<p>']);
  // 1000 nested stop handlers run when the file facet stops.
  const stops = await runScript('?- '.repeat(N) + '<a>');
  await stops.act((t) => t.stop(stops.file!));
  assert.deepEqual(stops.errors, []);
});

async function folder(files: { [name: string]: string }): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), `nesting-${process.pid}-`));
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
  return dir;
}

test('text and values that double per step are runtime errors at a bound, not out of memory', async () => {
  // Each stringify of a string doubles its backslashes: 60 would need 2^60 characters.
  const str = await runScript('let ?x = ' + 'stringify '.repeat(60) + '"q"\n<a $x>');
  assert.deepEqual(str.contents(), []);
  assert.equal(str.errors.length, 1);
  assert.match(str.errors[0], /^\/etc\/test\/script\.pr:1:1: stringify: result longer than 1048576 characters$/);
  const few = await runScript('let ?x = stringify stringify "q"\n<a $x>');
  assert.deepEqual(few.contents(), ['<a "\\"\\\\\\"q\\\\\\"\\"">']);
  // Each let doubles a shared value; as a tree it would have 2^60 nodes.
  let doubling = 'let ?v0 = [1]\n';
  for (let i = 1; i <= 60; i++) doubling += `let ?v${i} = [$v${i - 1} $v${i - 1}]\n`;
  const dbl = await runScript(doubling + '<a $v60>');
  assert.deepEqual(dbl.contents(), []);
  assert.equal(dbl.errors.length, 1);
  assert.match(dbl.errors[0], /^\/etc\/test\/script\.pr:\d+:\d+: Template builds a value of more than 1048576 nodes$/);
  const small = await runScript('let ?v0 = [1]\nlet ?v1 = [$v0 $v0]\n<a $v1>');
  assert.deepEqual(small.contents(), ['<a [[1] [1]]>']);
});

test('--check in-process: one error per hostile file, the valid file passes', async () => {
  const files: { [name: string]: string } = { 'valid.pr': '<ok>\n' };
  for (const [name, text] of Object.entries(HOSTILE)) files[name + '.pr'] = text;
  const dir = await folder(files);
  try {
    const report = await checkPaths([dir]);
    assert.equal(report.files, Object.keys(files).length);
    assert.equal(report.errors.length, Object.keys(HOSTILE).length, report.errors.join('\n'));
    for (const e of report.errors) assert.match(e, /^\/.*\.pr:1:\d+: (Instructions|Expressions) nested deeper than 1000 levels$/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('syndicate-server --check on the 15 KB ?- script prints one file:line:col line and exits 1', async () => {
  const dir = await folder({ 'deep.pr': HOSTILE['on-stop'], 'valid.pr': '<ok>\n' });
  try {
    const server = fileURLToPath(new URL('../../bin/syndicate-server.js', import.meta.url));
    const child = spawn(process.execPath, [server, '--check', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b) => (out += b));
    child.stderr.on('data', (b) => (out += b));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 1, out);
    assert.doesNotMatch(out, /RangeError|Maximum call stack|\n\s+at /);
    const errorLines = out.split('\n').filter((l) => l.includes('deep.pr'));
    assert.equal(errorLines.length, 1, out);
    assert.match(errorLines[0], /deep\.pr:1:3004: Instructions nested deeper than 1000 levels/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a watcher loads the valid file beside a hostile one, at start and when one is dropped in', async () => {
  const dir = await folder({ 'a-deep.pr': HOSTILE['on-stop'], 'b-valid.pr': '<fact valid>\n' });
  const facts: string[] = [];
  const errors: string[] = [];
  const waiters: (() => void)[] = [];
  const poke = () => waiters.splice(0).forEach((w) => w());
  const until = async (pred: () => boolean) => { while (!pred()) await new Promise<void>((r) => waiters.push(r)); };
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  const space = new Dataspace('config');
  const actor = Actor.boot('nesting-watcher-test', (t) => {
    const config: Ref = t.ref(space);
    t.observe(config, P.rec('fact', P.bind()), { added: (_t, [x]) => { facts.push(show(x)); poke(); } });
    t.facet((t) => startConfigWatcher(t, dir, new Map([['config', new Embedded<Ref>(config)]]), {
      onReady: () => ready(),
      report: (m) => { errors.push(m); poke(); },
    }));
  });
  try {
    await isReady;
    await settle();
    await until(() => facts.includes('valid') && errors.length >= 1);
    assert.match(errors.join('\n'), /a-deep\.pr:1:3004: Instructions nested deeper than 1000 levels/);
    await writeFile(path.join(dir, 'c-match.pr'), HOSTILE['match']);
    await writeFile(path.join(dir, 'd-later.pr'), '<fact later>\n');
    await until(() => facts.includes('later') && errors.some((e) => e.includes('c-match.pr')));
    assert.match(errors.find((e) => e.includes('c-match.pr'))!, /c-match\.pr:1:\d+: Instructions nested deeper/);
    assert.ok(actor.alive, 'the watcher actor is still running');
  } finally {
    actor.root.turn((t) => t.stopActor());
    await settle();
    await rm(dir, { recursive: true, force: true });
  }
});
