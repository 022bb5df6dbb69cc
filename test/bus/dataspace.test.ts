// The dataspace: the pattern language, bag semantics, late observers, messages, meta-observation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Dictionary, double, parse, record, sym } from '../../src/preserves/index.ts';
import type { Turn } from '../../src/bus/actor.ts';
import { observe } from '../../src/bus/dataspace.ts';
import { match, PatternError, type Pattern } from '../../src/bus/pattern.ts';
import type { Assertion, Ref } from '../../src/bus/ref.ts';
import { P, boot, collectingLogs, inTurn, recorder, show } from './harness.ts';

/** A dataspace and an actor to act on it; `observeInto` records events of one pattern. */
async function setup() {
  let ds!: Ref;
  const dsActor = await boot('ds', (t) => void (ds = t.dataspace()));
  const main = (await boot('main')).root;
  const observeInto = async (p: Pattern): Promise<string[]> => {
    const log: string[] = [];
    await inTurn(main, (t) => void recorder(t, ds, p, log));
    return log;
  };
  const act = (f: (t: Turn) => void) => inTurn(main, f);
  return { ds, dsActor, main, observeInto, act };
}

const v = (text: string): Assertion => parse(text) as Assertion;

test('record patterns match by label and listed fields, ignoring extra fields', async () => {
  const { ds, observeInto, act } = await setup();
  const log = await observeInto(P.rec('says', P.lit('alice'), P.bind()));
  await act((t) => {
    t.assert(ds, v('<says "alice" "hi">'));
    t.assert(ds, v('<says "alice" "extra" field>'));
    t.assert(ds, v('<says "bob" "hi">'));
    t.assert(ds, v('<said "alice" "hi">'));
    t.assert(ds, v('<says "alice">'));
  });
  assert.deepEqual(log, ['+["hi"]', '+["extra"]']);
});

test('sequence and dictionary patterns; discard requires presence', async () => {
  const { ds, observeInto, act } = await setup();
  const arr = await observeInto(P.arr(P.discard(), P.bind()));
  const dict = await observeInto(P.dict({ name: P.bind(), age: P.discard() }));
  await act((t) => {
    t.assert(ds, v('[1 2]'));
    t.assert(ds, v('[1 2 3]'));
    t.assert(ds, v('[1]'));
    t.assert(ds, v('{name: "x" age: 3 other: 1}'));
    t.assert(ds, v('{name: "y"}'));
  });
  assert.deepEqual(arr, ['+[2]']);
  assert.deepEqual(dict, ['+["x"]']);
});

test('literals compare by Preserves equality: a double 1.0 is not the integer 1', async () => {
  const { ds, observeInto, act } = await setup();
  const log = await observeInto(P.rec('n', P.lit(1), P.bind()));
  await act((t) => {
    t.assert(ds, record('n', double(1), 'double'));
    t.assert(ds, record('n', 1n, 'bigint one'));
  });
  assert.deepEqual(log, ['+["bigint one"]']);
});

test('a compound literal matches structurally and ignores extra fields', async () => {
  const { ds, observeInto, act } = await setup();
  const log = await observeInto(P.rec('x', P.lit(v('<a 1>')), P.bind()));
  await act((t) => {
    t.assert(ds, v('<x <a 1 2> "extended">'));
    t.assert(ds, v('<x <a 2> "no">'));
  });
  assert.deepEqual(log, ['+["extended"]']);
  assert.throws(() => P.lit(v('#{1}')), PatternError);
});

test('captures come in pre-order, a bind before its sub-pattern, groups in key order', async () => {
  const p = P.bind(P.dict([[sym('b'), P.bind()], [sym('a'), P.rec('r', P.bind(P.rec('q', P.bind())))]]));
  const caps = match(p, v('{a: <r <q 1>> b: 2}'));
  assert.equal(show(caps), '[{a: <r <q 1>>, b: 2} <q 1> 1 2]');
});

test('duplicate assertions are counted: observers see the first copy appear and the last go', async () => {
  const { ds, observeInto, act } = await setup();
  const log = await observeInto(P.rec('item', P.bind()));
  let h1 = 0, h2 = 0;
  await act((t) => {
    h1 = t.assert(ds, record('item', 1));
    h2 = t.assert(ds, record('item', 1));
  });
  await act((t) => t.retract(h1));
  assert.deepEqual(log, ['+[1]']);
  await act((t) => t.retract(h2));
  assert.deepEqual(log, ['+[1]', '-[1]']);
});

test('each observer sees each distinct capture tuple once', async () => {
  const { ds, observeInto, act } = await setup();
  const log = await observeInto(P.rec('pair', P.bind(), P.discard()));
  let h = 0;
  await act((t) => {
    h = t.assert(ds, record('pair', 'a', 1));
    t.assert(ds, record('pair', 'a', 2));
  });
  await act((t) => t.retract(h));
  assert.deepEqual(log, ['+["a"]']);
});

test('late observers see what is already there; leaving retracts what they were shown', async () => {
  const { ds, main, act } = await setup();
  await act((t) => {
    t.assert(ds, record('item', 1));
    t.assert(ds, record('item', 2));
  });
  const log: string[] = [];
  let sub!: import('../../src/bus/actor.ts').Facet;
  await act((t) => {
    sub = t.facet((t) => void recorder(t, ds, P.rec('item', P.bind()), log));
  });
  assert.deepEqual(log.sort(), ['+[1]', '+[2]']);
  await inTurn(main, (t) => t.stop(sub));
  await act((t) => t.assert(ds, record('item', 3)));
  assert.deepEqual(log.length, 2);
});

test('messages reach every matching observer and are not kept', async () => {
  const { ds, observeInto, act } = await setup();
  const a = await observeInto(P.rec('ping', P.bind()));
  await act((t) => t.message(ds, record('ping', 1)));
  const b = await observeInto(P.rec('ping', P.bind()));
  await act((t) => t.message(ds, record('ping', 2)));
  assert.deepEqual(a, ['![1]', '![2]']);
  assert.deepEqual(b, ['![2]']);
});

test('Observe records are assertions too: meta-observation sees subscriptions come and go', async () => {
  const { ds, main, observeInto, act } = await setup();
  const meta = await observeInto(P.rec('Observe', P.bind(), P.discard()));
  meta.length = 0; // the recorder's own two subscriptions
  let sub!: import('../../src/bus/actor.ts').Facet;
  await act((t) => {
    sub = t.facet((t) => void t.onMessage(ds, P.rec('Says', P.bind()), () => {}));
  });
  assert.equal(meta.length, 1);
  assert.match(meta[0], /^\+\[<group <rec Says>/);
  await inTurn(main, (t) => t.stop(sub));
  assert.equal(meta.length, 2);
  assert.match(meta[1], /^-/);
});

test('an observer ref with caveats receives its deliveries through them', async () => {
  const { ds, act } = await setup();
  const seen: string[] = [];
  const { C } = await import('../../src/bus/rewrite.ts');
  await act((t) => {
    const obs = t.ref({ assert: (_t, x) => void seen.push(show(x)) });
    const attenuated = { ...obs, attenuation: [C.reject(v('<arr [<lit 2>]>'))] };
    t.assert(ds, observe(P.rec('item', P.bind()), attenuated));
  });
  await act((t) => {
    t.assert(ds, record('item', 1));
    t.assert(ds, record('item', 2));
  });
  assert.deepEqual(seen, ['[1]']);
});

test('malformed subscriptions and unknown handles are logged and ignored', async () => {
  const { ds, dsActor, act, observeInto } = await setup();
  await collectingLogs(async (logs) => {
    await act((t) => {
      t.assert(ds, observe(v('<nonsense>'), t.ref({})));
      ds.target.retract!(t, 424242);
    });
    assert.ok(logs.some((e) => /ignoring subscription/.test(e.message)), 'bad pattern logged');
  });
  const log = await observeInto(P.rec('ok', P.bind()));
  await act((t) => t.assert(ds, record('ok', new Dictionary())));
  assert.deepEqual(log, ['+[{}]']);
  assert.equal(dsActor.alive, true);
});
