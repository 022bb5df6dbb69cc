// during, message handlers, dataflow fields, timers and sync.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { record } from '../../src/preserves/index.ts';
import type { Facet } from '../../src/bus/actor.ts';
import type { Ref } from '../../src/bus/ref.ts';
import { P, boot, inTurn, recorder } from './harness.ts';

async function setup() {
  let ds!: Ref;
  await boot('ds', (t) => void (ds = t.dataspace()));
  const main = (await boot('main')).root;
  return { ds, main };
}

test('during runs a facet per distinct capture tuple and stops it when the tuple goes', async () => {
  const { ds, main } = await setup();
  const log = await (async () => {
    const l: string[] = [];
    await inTurn(main, (t) => void recorder(t, ds, P.rec('present', P.bind()), l));
    return l;
  })();
  await inTurn(main, (t) => {
    t.during(ds, P.rec('user', P.bind(), P.discard()), (t, [u]) => {
      t.assert(ds, record('present', u));
      t.onStop(() => void log.push('stopped ' + String(u)));
    });
  });
  let h1 = 0, h2 = 0;
  await inTurn(main, (t) => {
    h1 = t.assert(ds, record('user', 'ann', 1));
    h2 = t.assert(ds, record('user', 'ann', 2));
    t.assert(ds, record('user', 'bob', 1));
  });
  assert.deepEqual(log, ['+["ann"]', '+["bob"]']);
  await inTurn(main, (t) => t.retract(h1));
  assert.deepEqual(log.length, 2, 'ann is still asserted once');
  await inTurn(main, (t) => t.retract(h2));
  assert.deepEqual(log, ['+["ann"]', '+["bob"]', 'stopped ann', '-["ann"]']);
});

test('dataflow fields: blocks re-run within the same turn when what they read changes', async () => {
  const { ds, main } = await setup();
  const log: string[] = [];
  await inTurn(main, (t) => void recorder(t, ds, P.rec('sum', P.bind()), log));
  let setA!: (n: number) => void;
  let runs = 0;
  await inTurn(main, (t) => {
    const a = t.field(1, 'a');
    const b = t.field(10, 'b');
    const sum = t.field(0, 'sum');
    t.dataflow(() => {
      runs++;
      sum.value = a.value + b.value;
    });
    t.assertDataflow(ds, () => record('sum', sum.value));
    setA = (n) => main.turn(() => void (a.value = n));
  });
  assert.deepEqual(log, ['+[11]']);
  setA(5);
  await inTurn(main, () => {});
  assert.deepEqual(log, ['+[11]', '+[15]', '-[11]'], 'one turn: the new sum replaces the old');
  setA(5);
  await inTurn(main, () => {});
  assert.equal(runs, 2, 'an unchanged value triggers nothing');
});

test('timers belong to facets: after fires once, every repeats, both stop with the facet', async () => {
  const { main } = await setup();
  const fired: string[] = [];
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  let ticker!: Facet;
  let cancelled!: Facet;
  await inTurn(main, (t) => {
    cancelled = t.facet((t) => t.after(30, () => void fired.push('cancelled fired')));
    ticker = t.facet((t) => {
      let n = 0;
      t.every(1, (t) => {
        fired.push('tick');
        if (++n === 3) t.stop(ticker, () => done());
      });
    });
    t.stop(cancelled); // its pending timer must be cleared with it
  });
  assert.equal(ticker.isLive, true, 'a pending timer keeps a new facet from being reaped');
  await finished;
  // A later timer as sentinel: once it fires, the cancelled 30 ms timer would have fired too.
  await new Promise<void>((r) => main.turn((t) => t.after(60, () => r())));
  assert.deepEqual(fired, ['tick', 'tick', 'tick']);
  assert.equal(cancelled.isLive, false);
});

test('sync answers after everything sent before it has been processed', async () => {
  const { ds, main } = await setup();
  const order: string[] = [];
  await inTurn(main, (t) => void t.onMessage(ds, P.rec('m', P.bind()), (_t, [x]) => void order.push('message ' + String(x))));
  let synced!: () => void;
  const p = new Promise<void>((r) => (synced = r));
  main.turn((t) => {
    t.message(ds, record('m', 1));
    t.message(ds, record('m', 2));
    t.sync(ds, () => {
      order.push('synced');
      synced();
    });
  });
  await p;
  assert.deepEqual(order, ['message 1', 'message 2', 'synced']);
});
