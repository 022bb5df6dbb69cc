import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadScriptText } from '../../src/config-lang/script-file.ts';
import type { Instruction } from '../../src/config-lang/instruction.ts';
import { stringify, strip } from '../../src/preserves/index.ts';

function ok(src: string): Instruction[] {
  const r = loadScriptText(src, 'test.pr');
  assert.equal(r.kind, 'ok', r.kind !== 'ok' ? r.errors.map((e) => e.message).join('\n') : '');
  return (r as { instructions: Instruction[] }).instructions;
}

/** A compact rendering of instructions, to compare against expectations. */
function show(ins: Instruction[]): string {
  const one = (i: Instruction): string => {
    switch (i.kind) {
      case 'assert': return `assert@${i.target} ${stringify(strip(i.template))}`;
      case 'send': return `send@${i.target} ${stringify(strip(i.template))}`;
      case 'block': return `[${show(i.body)}]`;
      case 'during': return `during@${i.target} ${stringify(strip(i.pattern))} {${one(i.body)}}`;
      case 'on-message': return `on-message@${i.target} ${stringify(strip(i.pattern))} {${one(i.body)}}`;
      case 'on-stop': return `on-stop {${one(i.body)}}`;
      case 'let': return `let ${stringify(strip(i.pattern))} = ${JSON.stringify(i.expr.kind)}`;
      case 'match': return `match ${i.variable} ${stringify(strip(i.pattern))} then {${one(i.then)}} else {${show(i.otherwise)}}`;
    }
  };
  return ins.map(one).join('; ');
}

test('plain assertions, += and messages go to config', () => {
  assert.equal(show(ok('<a 1> {k: v} += "s" ! <m>')), 'assert@config <a 1>; assert@config {k: v}; assert@config "s"; send@config <m>');
});

test('retargeting nests and is inherited by reaction bodies', () => {
  assert.equal(show(ok('$a $b <x>')), 'assert@b <x>');
  assert.equal(show(ok('$ds ? <req ?k> <ack $k>')), 'during@ds <req ?k> {assert@ds <ack $k>}');
  assert.equal(show(ok('$ds [<a> ! <b>]')), '[assert@ds <a>; send@ds <b>]');
});

test('?, ?? and ?- take exactly one body instruction', () => {
  assert.equal(show(ok('? <x ?y> [<a> <b>] <c>')), 'during@config <x ?y> {[assert@config <a>; assert@config <b>]}; assert@config <c>');
  assert.equal(show(ok('?? <ping ?x> <seen $x>')), 'on-message@config <ping ?x> {assert@config <seen $x>}');
  assert.equal(show(ok('?- <bye>')), 'on-stop {assert@config <bye>}');
});

test('let forms and expressions', () => {
  assert.equal(show(ok('let ?ds = dataspace let <p ?a> = <p 1> let ?s = stringify $x let ?j = join "," [a b]')),
    'let ?ds = "dataspace"; let <p ?a> = "template"; let ?s = "stringify"; let ?j = "join"');
});

test('=~ takes the retarget as the tested variable and the rest of the block as else', () => {
  assert.equal(show(ok('[$x =~ <foo ?y> [<then $y>] <else1> <else2>] <after>')),
    '[match x <foo ?y> then {[assert@config <then $y>]} else {assert@config <else1>; assert@config <else2>}]; assert@config <after>');
  assert.equal(show(ok('$ds [$x =~ <foo> <t> <e>]')), '[match x <foo> then {assert@ds <t>} else {assert@ds <e>}]');
});

test('comments and a trailing comment are fine', () => {
  assert.equal(show(ok('# first\n<a> # after\n# last line\n')), 'assert@config <a>');
});

test('every parse error is reported with file, line and column, and nothing loads', () => {
  const r = loadScriptText('<good>\nfoo\n  ?x <bad>\nlet ?y <z>\n$tail', 'conf/x.pr');
  assert.equal(r.kind, 'parse-errors');
  const msgs = r.kind === 'parse-errors' ? r.errors.map((e) => e.message) : [];
  assert.deepEqual(msgs, [
    'conf/x.pr:2:1: Invalid token foo',
    'conf/x.pr:3:3: Invalid use of pattern binder in target',
    'conf/x.pr:4:8: Invalid let statement: expected let PATTERN = EXPRESSION',
    'conf/x.pr:5:1: Retarget $tail at end of input',
  ]);
});

test('a Preserves syntax error and an embedded value are syntax errors with positions', () => {
  const r = loadScriptText('<a>\n<b', 'f.pr');
  assert.equal(r.kind, 'syntax-error');
  assert.match(r.kind === 'syntax-error' ? r.errors[0].message : '', /^f\.pr:2:3: /);
  const e = loadScriptText('<a #:x>', 'g.pr');
  assert.equal(e.kind, 'syntax-error');
  assert.match(e.kind === 'syntax-error' ? e.errors[0].message : '', /^g\.pr:1:4: embedded values are not allowed/);
});

test('bare atoms, ? without body and missing pieces are errors', () => {
  for (const src of ['"str"', '42', '? <x>', '??', '?-', '!', '_', 'let ?x =']) {
    const r = loadScriptText(src, 'e.pr');
    assert.equal(r.kind, 'parse-errors', src);
  }
});
