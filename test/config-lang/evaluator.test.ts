// Each construct of the config language, run on the engine, judged by what lands in the dataspace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from '../../src/preserves/index.ts';
import type { Assertion } from '../../src/bus/index.ts';
import { rfc3339 } from '../../src/config-lang/evaluator.ts';
import { runScript } from './script-harness.ts';

const v = (s: string) => parse(s) as Assertion;

test('records and dictionaries are asserted bare; += asserts any value', async () => {
  const r = await runScript('<a 1> {k: "v"} += 42 += "text"');
  assert.deepEqual(r.contents(), ['"text"', '42', '<a 1>', '{k: "v"}']);
});

test('? makes one facet per distinct capture tuple; retraction tears that one down', async () => {
  const r = await runScript('? <user ?u _> <present $u>');
  let h1 = 0, h2 = 0, h3 = 0;
  await r.act((t) => {
    h1 = t.assert(r.config, v('<user "ann" 1>'));
    h2 = t.assert(r.config, v('<user "ann" 2>'));
    h3 = t.assert(r.config, v('<user "bob" 1>'));
  });
  assert.deepEqual(r.contents().filter((s) => s.startsWith('<present')), ['<present "ann">', '<present "bob">']);
  await r.act((t) => t.retract(h1));
  assert.ok(r.contents().includes('<present "ann">'), 'ann is still there once');
  await r.act((t) => { t.retract(h2); t.retract(h3); });
  assert.deepEqual(r.contents().filter((s) => s.startsWith('<present')), []);
});

test('?- runs in the parent: a top-level stop action outlives the file', async () => {
  const r = await runScript('<alive> ?- <file-gone>');
  assert.deepEqual(r.contents(), ['<alive>']);
  await r.act((t) => t.stop(r.file!));
  assert.deepEqual(r.contents(), ['<file-gone>']);
});

test('a file whose only content is ?- is reaped at once and its stop actions run', async () => {
  const r = await runScript('?- <ran-at-once>');
  assert.deepEqual(r.contents(), ['<ran-at-once>']);
  assert.equal(r.file!.isLive, false);
});

test('?- inside a match runs when the match is retracted, in the observer facet', async () => {
  const r = await runScript('? <on ?x> [ <active $x> ?- <was-active $x> ]');
  let h = 0;
  await r.act((t) => void (h = t.assert(r.config, v('<on 1>'))));
  assert.deepEqual(r.contents(), ['<active 1>', '<on 1>']);
  await r.act((t) => t.retract(h));
  assert.deepEqual(r.contents(), ['<was-active 1>']);
});

test('blocks are not scopes; reactions snapshot the environment when evaluated', async () => {
  const r = await runScript('[ let ?x = 1 ] <x-is $x> ? <go> <saw $x> let ?x = 2 <x-now $x>');
  await r.act((t) => void t.assert(r.config, v('<go>')));
  assert.deepEqual(r.contents(), ['<go>', '<saw 1>', '<x-is 1>', '<x-now 2>']);
});

test('retargeting applies to the next instruction and is inherited by reaction bodies', async () => {
  const r = await runScript(`
    let ?ds = dataspace
    $ds ? <req ?k> <ack $k>
    $ds <req 7>
    ? <probe> $ds += <seen-probe>
    <in-config>
    $ds ? <ack ?k> $config <acked $k>
  `);
  assert.deepEqual(r.contents(), ['<acked 7>', '<in-config>']);
});

test('?? runs a facet per message; it persists only if it asserted something', async () => {
  const r = await runScript('?? <ping ?x> <seen $x> ?? <poke ?x> $config ! <poked $x> ?? <poked ?x> <got-poked $x>');
  await r.act((t) => {
    t.message(r.config, v('<ping 1>'));
    t.message(r.config, v('<ping 2>'));
    t.message(r.config, v('<poke 3>'));
  });
  assert.deepEqual(r.contents(), ['<got-poked 3>', '<seen 1>', '<seen 2>']);
});

test('a runtime error inside a reaction stops only that match, reported with its position', async () => {
  const r = await runScript('<top> ? <item ?x> [ <ok $x> $x =~ 1 [ <bad $undefined> ] ]');
  await r.act((t) => {
    t.assert(r.config, v('<item 1>'));
    t.assert(r.config, v('<item 2>'));
  });
  assert.deepEqual(r.contents(), ['<item 1>', '<item 2>', '<ok 2>', '<top>']);
  assert.equal(r.errors.length, 1);
  assert.match(r.errors[0], /^\/etc\/test\/script\.pr:1:\d+: Undefined variable \$undefined$/);
});

test('a runtime error at top level stops the whole file, retracting what it asserted', async () => {
  const r = await runScript('<first>\nlet <pair ?a ?b> = <triple 1 2 3>\n<never>');
  assert.deepEqual(r.contents(), []);
  assert.equal(r.file!.isLive, false);
  assert.match(r.errors[0], /script\.pr:2:1: let: value does not match/);
});

test('=~ runs then-branch on match, otherwise every remaining instruction', async () => {
  const r = await runScript(`
    let ?v = <pair 1 2>
    [ $v =~ <pair ?a ?b> <matched $a $b> <else-1> ]
    [ $v =~ <other ?z> <matched-other> <else-2> <else-3> ]
    <after $a>
  `);
  assert.deepEqual(r.contents(), ['<after 1>', '<else-2>', '<else-3>', '<matched 1 2>']);
});

test('expressions: stringify, join, scriptdir, timestamp, facet', async () => {
  const r = await runScript(`
    let ?s = stringify <a "b" c>
    let ?j = join "-" ["x" 1 sym]
    let ?one = join ", " "alone"
    let ?d = scriptdir
    let ?ts = timestamp
    <out $s $j $one $d>
    <stamp $ts>
  `);
  const out = r.contents();
  assert.ok(out.includes('<out "<a \\"b\\" c>" "x-1-sym" "alone" "/etc/test">'), out.join('\n'));
  assert.match(out.find((s) => s.startsWith('<stamp'))!, /^<stamp "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+\+00:00">$/);
  assert.equal(rfc3339(new Date(0)), '1970-01-01T00:00:00.000+00:00');

  const f = await runScript('? <make ?n> [ let ?f = facet <holder $n $f> <made $n> ] ? <holder ?n ?f> ? <kill $n> $f ! stop');
  await f.act((t) => void t.assert(f.config, v('<make 1>')));
  assert.ok(f.contents().includes('<made 1>'));
  await f.act((t) => void t.assert(f.config, v('<kill 1>')));
  assert.ok(!f.contents().includes('<made 1>'), 'the facet was stopped by its ref');
});

test('<?x P> binds x to the whole value and P\'s binders to parts (outer name first)', async () => {
  const r = await runScript('? <?whole <foo ?y>> <got $whole $y>');
  await r.act((t) => void t.assert(r.config, v('<foo 5>')));
  assert.ok(r.contents().includes('<got <foo 5> 5>'));
});

test('patterns: $x literals ignore extra fields, =sym escapes, duplicate binders take the later', async () => {
  const r = await runScript(`
    let ?lit = <a 1>
    ? <x $lit> <lit-matched>
    ? <q =?k> <escaped>
    ? <dup ?z ?z> <dup-is $z>
    ? {name: ?n} <named $n>
  `);
  await r.act((t) => {
    t.assert(r.config, v('<x <a 1 2>>'));
    t.assert(r.config, v('<q ?k>'));
    t.assert(r.config, v('<dup 1 2>'));
    t.assert(r.config, v('{name: "n1" other: 2}'));
  });
  const out = r.contents();
  for (const s of ['<lit-matched>', '<escaped>', '<dup-is 2>', '<named "n1">']) assert.ok(out.includes(s), s);
});

test('attenuation: <* $ds [...]> filters and rewrites; caveat patterns are exact-arity', async () => {
  const r = await runScript(`
    let ?ds = dataspace
    let ?ro = <* $ds [<accept <Says _ _>>]>
    let ?rw = <* $ds [<rewrite <Shout ?who ?what> <Says $who $what>>]>
    $ro <Says "a" "ok">
    $ro <Says "a" "too" "long">
    $ro <Other>
    $rw <Shout "b" "hey">
    $ds ? ?any $config <in-ds $any>
  `);
  assert.deepEqual(r.contents().filter((s) => s.startsWith('<in-ds <S')), ['<in-ds <Says "a" "ok">>', '<in-ds <Says "b" "hey">>']);
});

test('a target that is not a ref, and a wildcard in a template, are runtime errors', async () => {
  const r = await runScript('let ?n = 5\n$n <x>');
  assert.match(r.errors[0], /:2:4: \$n is not a ref/);
  const w = await runScript('<x _>');
  assert.match(w.errors[0], /Invalid use of wildcard in template/);
});
