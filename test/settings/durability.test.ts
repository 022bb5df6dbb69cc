// Nothing acknowledged is lost: kill -9 of the daemon, and of the bus, at random points during
// 1 000 sets and 1 000 unsets. Afterwards every acknowledged change is on disk, every file is
// whole and named by its hash, and no temp file is left once the daemon has started again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { record } from '../../src/preserves/index.ts';
import type { Assertion } from '../../src/bus/index.ts';
import { Settings } from '../../src/settings/protocol.ts';
import { readSettingText, settingFileName, settingFileText } from '../../src/settings/setting-file.ts';
import { Bus, SettingsRoot, until } from './bus-harness.ts';

const N = 1000;
const IN_FLIGHT = 16;
const item = (i: number): Assertion => record('durability', i, 'payload '.repeat(1 + (i % 20))) as Assertion;

/** `count` distinct random points in [1, n), ascending. */
function randomPoints(count: number, n: number): number[] {
  const s = new Set<number>();
  while (s.size < count) s.add(1 + Math.floor(Math.random() * (n - 1)));
  return [...s].sort((a, b) => a - b);
}

/**
 * Runs `kind` RPCs for `todo` with IN_FLIGHT outstanding, adding each acknowledged index to
 * `acked`. After each acknowledgement `onAck` may act (kill something); when it returns true the
 * run stops taking new work and resolves (outstanding RPCs are abandoned).
 */
function pump(bus: Bus, kind: 'assert' | 'retract', todo: number[], acked: Set<number>, onAck: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    let next = 0, outstanding = 0, stopped = false;
    const launch = () => {
      while (!stopped && outstanding < IN_FLIGHT && next < todo.length) {
        const i = todo[next++];
        outstanding++;
        void bus.rpc({ kind, item: item(i) }).then((answer) => {
          outstanding--;
          if (stopped) return;
          assert.equal(answer, 'done');
          acked.add(i);
          if (onAck()) {
            stopped = true;
            resolve();
            return;
          }
          if (next >= todo.length && outstanding === 0) resolve();
          else launch();
        });
      }
    };
    launch();
  });
}

/** The folder's state: every file whole and hash-named, no temp; returns the indices kept. */
async function checkFolder(dir: string): Promise<Set<number>> {
  const kept = new Set<number>();
  for (const name of await readdir(dir)) {
    assert.ok(!name.startsWith('.'), `no temp file is left (${name})`);
    assert.ok(name.endsWith('.pr'), `only settings files (${name})`);
    const r = readSettingText(await readFile(path.join(dir, name), 'utf8'), name, name);
    assert.ok(r.ok, r.ok ? '' : r.problem);
    kept.add(Number((r.item as unknown as { fields: unknown[] }).fields[0]));
  }
  return kept;
}

async function expectOnDisk(dir: string, indices: Iterable<number>): Promise<void> {
  for (const i of indices) assert.equal(await readFile(path.join(dir, settingFileName(item(i))), 'utf8'), settingFileText(item(i)));
}

test('kill -9 of the daemon at random points during 1 000 sets and 1 000 unsets', async () => {
  // The bus's restart backoff (1 s, doubling) is not under test here: restart at once.
  const root = await SettingsRoot.create({}, 'restartDelay: 0.05 restartMaxDelay: 0.2');
  let bus: Bus | null = null;
  try {
    bus = await Bus.start(root);
    const b = bus;
    const all = Array.from({ length: N }, (_, i) => i);
    for (const kind of ['assert', 'retract'] as const) {
      const acked = new Set<number>();
      const kills = randomPoints(4, N);
      const killsAt = [...kills];
      // Requests stand in $config while the daemon is down; the restarted daemon performs them.
      await pump(b, kind, all, acked, () => {
        if (kills.length > 0 && acked.size >= kills[0]) {
          kills.shift();
          void b.killDaemon();
        }
        return false;
      });
      assert.equal(acked.size, N, `every ${kind} acknowledged (kills after ${killsAt.join(', ')})`);
      // One more crash, and the folder as the next daemon finds it.
      const old = await b.killDaemon();
      await until(async () => (await b.daemonPid()) !== old && b.has(Settings.folder(root.settingsDir)), 'the daemon restarted');
      const kept = await checkFolder(root.settingsDir);
      if (kind === 'assert') {
        assert.equal(kept.size, N, `every acknowledged set is on disk (kills after ${killsAt.join(', ')})`);
        await expectOnDisk(root.settingsDir, acked);
        await until(() => b.all('user-setting').length === N, 'every setting published');
      } else {
        assert.equal(kept.size, 0, `every acknowledged unset is on disk (kills after ${killsAt.join(', ')})`);
      }
    }
  } finally {
    await bus?.stop();
    await root.remove();
  }
});

test('kill -9 of the bus at random points during 1 000 sets and 1 000 unsets', async () => {
  const root = await SettingsRoot.create();
  let bus: Bus | null = null;
  try {
    for (const kind of ['assert', 'retract'] as const) {
      const acked = new Set<number>();
      const kills = randomPoints(2, N);
      for (let round = 0; round <= kills.length; round++) {
        bus = await Bus.start(root);
        // After each restart: everything acknowledged so far is there, whole, and no temp is left.
        const kept = await checkFolder(root.settingsDir);
        for (const i of acked) assert.equal(kept.has(i), kind === 'assert', `${kind} of ${i} acknowledged before the kill (kills after ${kills.join(', ')})`);
        if (kind === 'assert') await expectOnDisk(root.settingsDir, acked);
        const todo = Array.from({ length: N }, (_, i) => i).filter((i) => !acked.has(i));
        const until = round < kills.length ? kills[round] : Infinity;
        await pump(bus, kind, todo, acked, () => acked.size >= until);
        if (round < kills.length) {
          await bus.kill9();
          bus = null;
        }
      }
      assert.equal(acked.size, N);
      await bus!.stop();
      bus = null;
    }
    bus = await Bus.start(root);
    assert.equal((await checkFolder(root.settingsDir)).size, 0, 'every unset on disk');
  } finally {
    await bus?.stop();
    await root.remove();
  }
});
