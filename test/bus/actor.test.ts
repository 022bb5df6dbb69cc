// Actors, facets and turns: atomic commit, crash isolation, stop order, inert reaping, links.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { record, sym } from '../../src/preserves/index.ts';
import type { Facet, Turn } from '../../src/bus/actor.ts';
import type { Ref } from '../../src/bus/ref.ts';
import { P, boot, collectingLogs, inTurn, recorder } from './harness.ts';

/** A dataspace in its own actor plus a recorder of `<item ?x>` events. */
async function setup(): Promise<{ ds: Ref; log: string[]; main: Facet }> {
  let ds!: Ref;
  const log: string[] = [];
  await boot('ds', (t) => {
    ds = t.dataspace();
    recorder(t, ds, P.rec('item', P.bind()), log);
  });
  const main = (await boot('main')).root;
  return { ds, log, main };
}

test('effects of a turn are delivered together at its end, in order', async () => {
  const { ds, log, main } = await setup();
  await inTurn(main, (t) => {
    t.assert(ds, record('item', 1));
    t.message(ds, record('item', 2));
    const h = t.assert(ds, record('item', 3));
    t.retract(h);
    assert.deepEqual(log, [], 'nothing is visible before the turn ends');
  });
  assert.deepEqual(log, ['+[1]', '![2]', '+[3]', '-[3]']);
});

test('a turn that throws commits nothing and retracts all its actor asserted, newest first', async () => {
  const { ds, log, main } = await setup();
  await inTurn(main, (t) => {
    t.assert(ds, record('item', 1));
    t.assert(ds, record('item', 2));
  });
  await collectingLogs(async (logs) => {
    await inTurn(main, (t) => {
      t.assert(ds, record('item', 3));
      t.message(ds, record('item', 4));
      throw new Error('boom');
    });
    assert.equal(logs.length, 1);
    assert.equal(logs[0].actor, 'main');
    assert.match(String(logs[0].error), /boom/);
  });
  assert.deepEqual(log, ['+[1]', '+[2]', '-[2]', '-[1]']);
  assert.equal(main.actor.alive, false);
});

test('a retraction made in a failed turn is still carried out by the crash', async () => {
  const { ds, log, main } = await setup();
  let h = 0;
  await inTurn(main, (t) => void (h = t.assert(ds, record('item', 1))));
  await collectingLogs(async () => {
    await inTurn(main, (t) => {
      t.retract(h);
      throw new Error('boom');
    });
  });
  assert.deepEqual(log, ['+[1]', '-[1]']);
});

test('a crash ends only the crashing actor; others go on', async () => {
  const { ds, log, main } = await setup();
  const other = (await boot('other')).root;
  await collectingLogs(async () => {
    await inTurn(main, () => {
      throw new Error('boom');
    });
  });
  await inTurn(other, (t) => t.assert(ds, record('item', 'still here')));
  assert.deepEqual(log, ['+["still here"]']);
});

test('an entity that throws ends its own actor, not the sender', async () => {
  let target!: Ref;
  const bad = await boot('bad', (t) => {
    target = t.ref({ message: () => { throw new Error('entity failure'); } });
  });
  const { ds, log, main } = await setup();
  await collectingLogs(async (logs) => {
    await inTurn(main, (t) => {
      t.message(target, 1);
      t.assert(ds, record('item', 'sender fine'));
    });
    assert.equal(logs[0].actor, 'bad');
  });
  assert.equal(bad.alive, false);
  assert.equal(main.actor.alive, true);
  assert.deepEqual(log, ['+["sender fine"]']);
});

test('stopping a facet stops its children, runs stop actions in the parent, retracts its assertions', async () => {
  const { ds, log, main } = await setup();
  let outer!: Facet;
  await inTurn(main, (t) => {
    outer = t.facet((t) => {
      t.assert(ds, record('item', 'outer'));
      t.facet((t) => {
        t.assert(ds, record('item', 'inner'));
        t.onStop((t) => {
          assert.equal(t.activeFacet, outer, 'inner stop action runs in its parent');
          t.assert(ds, record('item', 'left by inner'));
        });
      });
      t.onStop((t) => void t.assert(ds, record('item', 'left by outer')));
    });
  });
  await inTurn(main, (t) => t.stop(outer));
  assert.deepEqual(log, [
    '+["outer"]', '+["inner"]',
    '+["left by inner"]', '-["inner"]', '+["left by outer"]', '-["left by inner"]', '-["outer"]',
  ]);
  assert.equal(outer.isLive, false);
});

test('a new facet with nothing to do is reaped at the end of its turn and its stop actions run', async () => {
  const { ds, log, main } = await setup();
  let inert!: Facet;
  let kept!: Facet;
  await inTurn(main, (t) => {
    inert = t.facet((t) => t.onStop((t) => void t.assert(ds, record('item', 'reaped'))));
    kept = t.facet((t) => void t.preventInertCheck());
  });
  assert.equal(inert.isLive, false);
  assert.equal(kept.isLive, true);
  assert.deepEqual(log, ['+["reaped"]']);
});

test('retracting twice, or an unknown handle, is harmless', async () => {
  const { ds, log, main } = await setup();
  await inTurn(main, (t) => {
    const h = t.assert(ds, record('item', 1));
    t.retract(h);
    t.retract(h);
    t.retract(999999);
  });
  assert.deepEqual(log, ['+[1]', '-[1]']);
  assert.equal(main.actor.alive, true);
});

test('linked actors: the child ends with the facet, and the facet stops when the child ends', async () => {
  const { ds, log, main } = await setup();
  let holder!: Facet;
  let child!: import('../../src/bus/actor.ts').Actor;
  await inTurn(main, (t) => {
    holder = t.facet((t) => {
      child = t.spawn('child', (t) => void t.assert(ds, record('item', 'child')), { link: true });
    });
  });
  assert.equal(holder.isLive, true, 'a linked child keeps its facet alive');
  await inTurn(main, (t) => t.stop(holder));
  assert.equal(child.alive, false);
  assert.deepEqual(log, ['+["child"]', '-["child"]']);

  let holder2!: Facet;
  let child2!: import('../../src/bus/actor.ts').Actor;
  await inTurn(main, (t) => {
    holder2 = t.facet((t) => {
      child2 = t.spawn('child2', () => {}, { link: true });
      t.assert(ds, record('item', 'holder2'));
    });
  });
  await inTurn(child2.root, (t) => t.stopActor());
  assert.equal(holder2.isLive, false);
  assert.deepEqual(log.slice(2), ['+["holder2"]', '-["holder2"]']);
});

test('an actor stopped cleanly runs stop actions; a crashed one does not', async () => {
  const { ds, log } = await setup();
  const clean = await boot('clean', (t) => t.onStop((t) => void t.message(ds, record('item', 'clean stop'))));
  await inTurn(clean.root, (t) => t.stopActor());
  const crash = await boot('crash', (t) => t.onStop((t) => void t.message(ds, record('item', 'crash stop'))));
  await collectingLogs(() => inTurn(crash.root, () => { throw new Error('x'); }));
  assert.deepEqual(log, ['!["clean stop"]']);
  assert.equal(clean.exitReason?.ok, true);
  assert.equal(crash.exitReason?.ok, false);
});

test('spawned actors boot after the spawning turn commits, and not at all if it fails', async () => {
  const { ds, log, main } = await setup();
  await collectingLogs(() => inTurn(main, (t) => {
    t.spawn('never', (t) => void t.assert(ds, record('item', 'never')));
    throw new Error('fail');
  }));
  assert.deepEqual(log, []);
  const other = (await boot('other')).root;
  await inTurn(other, (t) => {
    t.spawn('child', (t: Turn) => void t.assert(ds, record('item', sym('booted'))));
  });
  assert.deepEqual(log, ['+[booted]']);
});
