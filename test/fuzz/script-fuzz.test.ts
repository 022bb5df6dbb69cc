// Mutated configuration scripts (the shipped tree plus samples of every instruction form)
// through the script parser, the `--check` validation and, for those that parse, the evaluator
// on a real engine. Failure: any exception that is not our typed error, a crashed script actor,
// or any input taking over a second to parse and check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { Embedded } from '../../src/preserves/index.ts';
import { Actor, Dataspace, setLogHook, settle, type LogEntry, type Ref } from '../../src/bus/index.ts';
import { loadScriptText } from '../../src/config-lang/script-file.ts';
import { ScriptError } from '../../src/config-lang/script-error.ts';
import { validateScript } from '../../src/config-lang/validate.ts';
import { checkPaths } from '../../src/config-lang/check.ts';
import { startScript } from '../../src/config-lang/evaluator.ts';
import type { Environment } from '../../src/config-lang/environment.ts';
import { budget, fuzz, mutateText, showText } from './fuzz-harness.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Every shipped script, and one sample per instruction form (spec §1.3–§1.7). */
function seedScripts(): string[] {
  const out: string[] = [];
  const etc = path.resolve(here, '../../etc/syndicate');
  for (const layer of readdirSync(etc)) {
    for (const f of readdirSync(path.join(etc, layer))) if (f.endsWith('.pr')) out.push(readFileSync(path.join(etc, layer, f), 'utf8'));
  }
  out.push(
    '<a 1> {k: "v"} += 42 ! <ping>',
    '? <user ?u _> <present $u>',
    '?? <ping ?n> ! <pong $n>',
    '<alive> ?- <file-gone>',
    '? <on ?x> [ <active $x> ?- <was-active $x> ]',
    'let ?ds = dataspace\n$ds [ <inner> ? <q ?z> $config <seen $z> ]',
    'let ?t = timestamp let ?f = facet let ?d = scriptdir <when $t $d>',
    'let ?s = stringify <a [1 2] {b: c}>\nlet ?j = join ", " ["x" "y" $s]\n<joined $j>',
    'let ?v = <a 1>\n$v =~ <a ?n> <matched $n> <else>',
    '? <?whole <rec ?x =lit _>> <got $whole $x>',
    '<cap <* $config [<accept <allowed _>> <rewrite <r ?x> <w $x>> <or [<accept _>]> <reject <no>>]>>',
    '? <service-state <daemon ?name> ready> [ <up $name> ?- <down $name> ]',
    '$config ? <a ?x> $config ? <b $x> <ab $x>',
  );
  return out;
}

const SCRIPTS = seedScripts();
const NAME = '/fuzz/x.pr';
const POSITIONED = /^\/fuzz\/x\.pr:\d+:\d+: /;

/** The parser and the validator: they return errors, and never throw. */
function parseAndCheck(text: string): ReturnType<typeof loadScriptText> {
  const loaded = loadScriptText(text, NAME);
  const errors = loaded.kind === 'ok' ? validateScript(loaded.instructions) : loaded.errors;
  for (const e of errors) {
    if (!(e instanceof ScriptError)) throw new Error('not a ScriptError: ' + String(e));
    if (e.pos && !POSITIONED.test(e.message)) throw new Error('error without file:line:column: ' + e.message);
  }
  return loaded;
}

test('fuzz: mutated scripts through the parser and the --check validation', { timeout: 120_000 }, async () => {
  await fuzz({
    name: 'script parser and check', seed: 0x5c1, maxInputs: 30_000, budgetMs: budget(5000),
    input: (rng) => mutateText(rng, rng.pick(SCRIPTS)),
    run: (text) => void parseAndCheck(text),
    allowed: () => false,
    show: showText,
  });
});

test('fuzz: mutated script files through checkPaths, as --check runs', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), `fuzz-check-${process.pid}-`));
  try {
    const file = path.join(dir, 'x.pr');
    await fuzz({
      name: '--check on files', seed: 0xc4ec, maxInputs: 2_000, budgetMs: budget(3000),
      input: (rng) => mutateText(rng, rng.pick(SCRIPTS)),
      run: async (text) => {
        writeFileSync(file, text);
        const report = await checkPaths([dir]);
        assert.equal(report.files, 1);
        for (const e of report.errors) assert.ok(e.startsWith(file + ':') || e.startsWith(file), e);
      },
      allowed: () => false,
      show: showText,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('fuzz: mutated scripts that parse run without crashing their actor', { timeout: 120_000 }, async () => {
  const crashes: LogEntry[] = [];
  const old = setLogHook((e) => { if (e.message === 'actor crashed') crashes.push(e); });
  try {
    let ran = 0;
    await fuzz({
      name: 'script evaluation', seed: 0xe7a1, maxInputs: 3_000, budgetMs: budget(4000),
      input: (rng) => mutateText(rng, rng.pick(SCRIPTS)),
      run: async (text) => {
        const loaded = parseAndCheck(text);
        if (loaded.kind !== 'ok') return;
        ran++;
        const space = new Dataspace('config');
        const actor = Actor.boot('fuzz-script', (t) => {
          const env: Environment = new Map([['config', new Embedded<Ref>(t.ref(space))]]);
          startScript(t, loaded.instructions, env, { path: NAME, scriptDir: '/fuzz', report: () => {} });
        });
        // A script may loop on messages for ever: give it a moment, then stop it.
        await Promise.race([settle(), new Promise((r) => setTimeout(r, 50))]);
        if (actor.alive) actor.root.turn((t) => t.stopActor());
        await Promise.race([settle(), new Promise((r) => setTimeout(r, 200))]);
        if (crashes.length > 0) throw new Error('script actor crashed: ' + String(crashes[0].error));
      },
      allowed: () => false,
      show: showText,
    });
    console.log(`fuzz script evaluation: ${ran} mutated scripts parsed and ran`);
  } finally {
    setLogHook(old);
  }
});
