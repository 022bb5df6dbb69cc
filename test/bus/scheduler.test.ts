// The run queue yields by time as well as by count: during a message storm (an entity that
// re-sends every message it gets, for ever) timers and I/O callbacks still run between slices,
// and the looping actor can be stopped from outside.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Actor, settle, type Ref } from '../../src/bus/index.ts';
import { MAX_TASKS_PER_SLICE, runQueueLength } from '../../src/bus/scheduler.ts';

/** Busy for `ms`: a turn as heavy as a big dataspace update. */
function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) { /* work */ }
}

/** An actor whose entity re-sends every message to itself; returns it and a turn counter. */
function startLoop(turnMs: number): { actor: Actor; count: () => number } {
  let n = 0;
  const actor = Actor.boot('message-loop', (t) => {
    const self: Ref = t.ref({
      message(t, body) {
        n++;
        if (turnMs > 0) spin(turnMs);
        t.message(self, body);
      },
    });
    t.message(self, 0);
  });
  return { actor, count: () => n };
}

test('during a message loop of heavy turns, timers fire every few turns, not every 4096', { timeout: 120_000 }, async () => {
  const loop = startLoop(1);
  try {
    // Turns of the loop between consecutive timer callbacks: bounded by the time slice (a few
    // turns of 1 ms or more); a count-only yield would let MAX_TASKS_PER_SLICE through.
    const gaps: number[] = [];
    let last = loop.count();
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setTimeout(r, 0));
      const now = loop.count();
      gaps.push(now - last);
      last = now;
    }
    assert.ok(loop.count() > 0, 'the loop ran');
    assert.ok(Math.max(...gaps) < MAX_TASKS_PER_SLICE / 4, `turns between timer callbacks: ${gaps.join(' ')}`);
    // An I/O callback (a file read through the thread pool) completes during the storm too.
    const before = loop.count();
    const text = await readFile(fileURLToPath(import.meta.url), 'utf8');
    assert.ok(text.includes('message loop'));
    assert.ok(loop.count() > before, 'the loop kept running meanwhile');
  } finally {
    loop.actor.root.turn((t) => t.stopActor());
  }
  await settle();
  assert.equal(loop.actor.alive, false);
  const after = loop.count();
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(loop.count(), after, 'the loop stopped with its actor');
  assert.equal(runQueueLength(), 0);
});

test('a loop of cheap turns still lets timers and I/O in, and is stopped by a turn from outside', { timeout: 120_000 }, async () => {
  const loop = startLoop(0);
  let stopped = false;
  try {
    await new Promise((r) => setTimeout(r, 5));
    const mid = loop.count();
    await readFile(fileURLToPath(import.meta.url));
    await new Promise((r) => setTimeout(r, 5));
    assert.ok(loop.count() > mid, 'the loop runs between callbacks');
    // Stopped from a timer callback, as an operator's request over a socket would.
    await new Promise<void>((resolve) => setTimeout(() => {
      loop.actor.root.turn((t) => t.stopActor());
      stopped = true;
      resolve();
    }, 1));
  } finally {
    if (!stopped) loop.actor.root.turn((t) => t.stopActor());
  }
  await settle();
  assert.equal(loop.actor.alive, false);
  const after = loop.count();
  await new Promise((r) => setImmediate(r));
  assert.equal(loop.count(), after);
});
