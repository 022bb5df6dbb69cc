// The config watcher on a real temporary directory: initial scan, add, edit without flicker,
// delete, rename, syntax errors keeping the old version, parse errors removing it.
// A new version is written as an operator's tool should, atomically (temp + rename): a plain
// writeFile truncates first, and the watcher may load the empty file in between (an empty file
// is a valid, empty configuration; see the last-but-one file test below).
// Every test closes what it opened through t.after, also when an assertion fails or it times out,
// so that a failure never leaves a watcher holding the test file open.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, renameSync, symlinkSync } from 'node:fs';
import { mkdtemp, mkdir, rename, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Embedded } from '../../src/preserves/index.ts';
import { Actor, Dataspace, P, settle, type Ref } from '../../src/bus/index.ts';
import { startConfigWatcher } from '../../src/config-lang/config-watcher.ts';
import { writeFileDurable } from '../../src/config-lang/durable-file.ts';
import { show } from '../bus/harness.ts';

/** A bound on each test, so that a wait that never ends fails the test (and runs its cleanup) instead of hanging the run. */
const LIMIT = { timeout: 120_000 };

/** Replaces `file` with a new version in one step, as an editor's atomic save does. */
const replace = (file: string, text: string) => writeFileDurable(file, text, 0o644);

/**
 * A watcher on a fresh directory, an event log of `<fact ...>` assertions, and a way to wait.
 * The watcher is stopped and the directory removed after the test `t`, whatever its outcome.
 */
async function setup(t: TestContext, files: Record<string, string> = {}) {
  const dir = await mkdtemp(path.join(tmpdir(), `watch-test-${process.pid}-`));
  let actor: Actor | null = null;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (actor !== null) {
      actor.root.turn((t) => t.stopActor());
      await settle();
    }
    await rm(dir, { recursive: true, force: true });
  };
  t.after(stop);
  for (const [name, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), text);
  }
  const events: string[] = [];
  const errors: string[] = [];
  const applied: string[] = [];
  const waiters: { pred: () => boolean; resolve: () => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) if (w.pred()) { waiters.splice(waiters.indexOf(w), 1); w.resolve(); }
  };
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  const space = new Dataspace('config');
  actor = Actor.boot('watcher-test', (t) => {
    const config: Ref = t.ref(space);
    t.observe(config, P.rec('fact', P.bind()), {
      added: (_t, [x]) => { events.push('+' + show(x)); check(); },
      removed: (_t, [x]) => { events.push('-' + show(x)); check(); },
    });
    t.facet((t) => startConfigWatcher(t, dir, new Map([['config', new Embedded<Ref>(config)]]), {
      onReady: () => ready(),
      report: (m) => { errors.push(m); check(); },
      onApplied: (_t, paths) => { applied.push(...paths.map((p) => path.basename(p))); check(); },
    }));
  });
  await isReady;
  await settle();
  /** Resolves once `pred` holds (checked after every event). */
  const until = (pred: () => boolean) => new Promise<void>((resolve) => {
    if (pred()) resolve();
    else waiters.push({ pred, resolve });
  });
  const facts = () => [...space.assertions()].map(show).filter((s) => s.startsWith('<fact')).sort();
  return { dir, events, errors, applied, until, facts, stop };
}

test('initial scan: every script, depth-first in name order, in one turn, hidden ones skipped', LIMIT, async (t) => {
  const w = await setup(t, {
    'b.pr': '<fact b>', 'a/z.pr': '<fact az>', 'a/y.pr': '<fact ay>', 'c.txt': '<fact txt>',
    '.hidden.pr': '<fact hidden>', '.dir/x.pr': '<fact hidden-dir>',
  });
  assert.deepEqual(w.events, ['+ay', '+az', '+b']);
});

test('adding, editing, deleting and renaming files', LIMIT, async (t) => {
  const w = await setup(t, { 'one.pr': '<fact shared> <fact old>' });
  await replace(path.join(w.dir, 'two.pr'), '<fact two>');
  await w.until(() => w.events.includes('+two'));

  // An edit: the new version starts before the old stops, so the shared fact never goes.
  const tmp = path.join(w.dir, '.one.pr.tmp');
  await writeFile(tmp, '<fact shared> <fact new>');
  await rename(tmp, path.join(w.dir, 'one.pr'));
  await w.until(() => w.events.includes('-old'));
  assert.deepEqual(w.events.slice(-2).sort(), ['+new', '-old']);
  assert.ok(!w.events.includes('-shared'), 'the shared assertion was never retracted');

  await rename(path.join(w.dir, 'two.pr'), path.join(w.dir, 'three.pr'));
  await w.until(() => w.applied.includes('three.pr') && w.applied.includes('two.pr'));
  assert.deepEqual(w.facts(), ['<fact new>', '<fact shared>', '<fact two>'], 'the renamed file still asserts');

  await rm(path.join(w.dir, 'one.pr'));
  await w.until(() => w.events.includes('-shared'));
  assert.deepEqual(w.facts(), ['<fact two>']);
});

test('a syntax error keeps the old version; a script parse error removes it', LIMIT, async (t) => {
  const w = await setup(t, { 'f.pr': '<fact v1>' });
  await replace(path.join(w.dir, 'f.pr'), '<fact v2');
  await w.until(() => w.errors.length >= 1);
  assert.match(w.errors[0], /f\.pr:1:9: /);
  assert.deepEqual(w.facts(), ['<fact v1>']);

  await replace(path.join(w.dir, 'f.pr'), '<fact v3>\n?x <fact bad>\n_');
  await w.until(() => w.events.includes('-v1'));
  assert.deepEqual(w.facts(), []);
  const parseErrors = w.errors.slice(2);
  assert.equal(parseErrors.length, 2, parseErrors.join('\n'));
  assert.match(parseErrors[0], /f\.pr:2:1: Invalid use of pattern binder in target/);
  assert.match(parseErrors[1], /f\.pr:3:1: Invalid use of discard in target/);

  await replace(path.join(w.dir, 'f.pr'), '<fact v4>');
  await w.until(() => w.events.includes('+v4'));
});

test('a save that truncates first can be seen empty: an empty file is an empty configuration, and a syntax error after it keeps that', LIMIT, async (t) => {
  // What writeFile, or an editor saving in place, does in two steps, with the pause a loaded
  // machine can put between them made certain.
  const w = await setup(t, { 'f.pr': '<fact v1>' });
  const file = path.join(w.dir, 'f.pr');
  await truncate(file);
  await w.until(() => w.events.includes('-v1'));
  assert.deepEqual(w.facts(), []);
  assert.deepEqual(w.errors, [], 'an empty file is no error');

  await writeFile(file, '<fact v2');
  await w.until(() => w.errors.length >= 1);
  assert.match(w.errors[0], /f\.pr:1:9: /);
  assert.deepEqual(w.facts(), [], 'the version in force is the empty one the disk showed');

  // The running set ends with the last version on disk, however it was written.
  await writeFile(file, '<fact v3>');
  await w.until(() => w.events.includes('+v3'));
  assert.deepEqual(w.facts(), ['<fact v3>']);
});

test('a file that vanishes while the tree is rescanned counts as removed, not as a syntax error that keeps the old version', LIMIT, async (t) => {
  // What a settings daemon does at start: narrows the folder's mode (the parent sees the root
  // change, so the whole tree is rescanned and chokidar restarted) and sets a bad file aside.
  // The dangling link is a file listed by the rescan that is gone when it is read.
  const w = await setup(t, { 'keep.pr': '<fact keep>', 'gone.pr': '<fact gone>' });
  assert.deepEqual(w.facts(), ['<fact gone>', '<fact keep>']);
  chmodSync(w.dir, 0o700);
  symlinkSync(path.join(w.dir, 'nowhere'), path.join(w.dir, '.gone.pr.link'));
  renameSync(path.join(w.dir, '.gone.pr.link'), path.join(w.dir, 'gone.pr'));
  await w.until(() => w.events.includes('-gone'));
  assert.deepEqual(w.facts(), ['<fact keep>']);
  assert.ok(!w.errors.some((e) => e.includes('stays in force')), w.errors.join('\n'));
});

test('a broken file never disturbs what other files started', LIMIT, async (t) => {
  const w = await setup(t, { 'good.pr': '<fact good>' });
  await replace(path.join(w.dir, 'bad.pr'), '<fact half> let ?x = <nope> let <yes> = $x');
  await w.until(() => w.errors.length >= 1);
  await w.until(() => w.events.includes('-half'));
  assert.deepEqual(w.facts(), ['<fact good>']);
});

test('a missing folder is an empty configuration that loads once it appears', LIMIT, async (t) => {
  const parent = await mkdtemp(path.join(tmpdir(), `watch-missing-${process.pid}-`));
  let actor: Actor | null = null;
  t.after(async () => {
    if (actor !== null) {
      actor.root.turn((t) => t.stopActor());
      await settle();
    }
    await rm(parent, { recursive: true, force: true });
  });
  const dir = path.join(parent, 'later');
  const space = new Dataspace('config');
  const errors: string[] = [];
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  let arrived!: () => void;
  const hasArrived = new Promise<void>((r) => (arrived = r));
  actor = Actor.boot('missing-test', (t) => {
    const config: Ref = t.ref(space);
    t.observe(config, P.rec('fact', P.bind()), { added: () => arrived() });
    t.facet((t) => startConfigWatcher(t, dir, new Map([['config', new Embedded<Ref>(config)]]), {
      onReady: () => ready(), report: (m) => void errors.push(m),
    }));
  });
  await isReady;
  assert.match(errors[0], /does not exist/);
  await mkdir(dir);
  await replace(path.join(dir, 'a.pr'), '<fact appeared>');
  await hasArrived;
});

test('a watched folder moved away stops its scripts; moved back, they return and are followed again', LIMIT, async (t) => {
  const w = await setup(t, { 'a.pr': '<fact a>', 'sub/b.pr': '<fact b>' });
  const away = w.dir + '-away';
  t.after(() => rm(away, { recursive: true, force: true }));
  await rename(w.dir, away);
  await w.until(() => w.facts().length === 0);
  assert.ok(w.errors.some((e) => /does not exist any more/.test(e)), 'the loss is reported');
  await rename(away, w.dir);
  await w.until(() => w.facts().length === 2);
  assert.deepEqual(w.facts(), ['<fact a>', '<fact b>']);
  // The returned tree is watched: an edit there lands.
  await replace(path.join(w.dir, 'sub/b.pr'), '<fact b2>');
  await w.until(() => w.events.includes('+b2'));
  // Away and straight back (no time for the timer to see it): still followed.
  await rename(w.dir, away);
  await rename(away, w.dir);
  await replace(path.join(w.dir, 'c.pr'), '<fact c>');
  await w.until(() => w.facts().includes('<fact c>'));
  assert.deepEqual(w.facts(), ['<fact a>', '<fact b2>', '<fact c>']);
});

test('a watched folder swapped by rename: the new tree replaces the old one, and only it is followed', LIMIT, async (t) => {
  const w = await setup(t, { 'a.pr': '<fact old-a>', 'same.pr': '<fact same>', 'gone.pr': '<fact old-only>' });
  const fresh = w.dir + '-new', old = w.dir + '-old';
  t.after(async () => {
    await rm(fresh, { recursive: true, force: true });
    await rm(old, { recursive: true, force: true });
  });
  await mkdir(fresh);
  await writeFile(path.join(fresh, 'a.pr'), '<fact new-a>');
  await writeFile(path.join(fresh, 'same.pr'), '<fact same>');
  await writeFile(path.join(fresh, 'c.pr'), '<fact new-c>');
  await rename(w.dir, old);
  await rename(fresh, w.dir);
  await w.until(() => w.facts().join() === '<fact new-a>,<fact new-c>,<fact same>');
  // Edits in the old tree do nothing; edits in the new tree land.
  await writeFile(path.join(old, 'zz.pr'), '<fact from-old-tree>');
  await replace(path.join(w.dir, 'd.pr'), '<fact new-d>');
  await w.until(() => w.facts().includes('<fact new-d>'));
  assert.ok(!w.events.includes('+from-old-tree'));
});

test('a file that makes the parser throw costs only that file, at the first scan and later', LIMIT, async (t) => {
  // Deep enough to overflow a recursive parser's stack; a parser with a depth limit reports it instead.
  const deep = '?- '.repeat(5000) + '<fact deep>';
  const w = await setup(t, { 'good.pr': '<fact good>', 'deep.pr': deep });
  assert.deepEqual(w.facts(), ['<fact good>']);
  assert.ok(w.errors.some((e) => e.includes('deep.pr')), 'the bad file is named');
  await replace(path.join(w.dir, 'deep2.pr'), deep);
  await w.until(() => w.errors.some((e) => e.includes('deep2.pr')));
  await replace(path.join(w.dir, 'later.pr'), '<fact later>');
  await w.until(() => w.facts().includes('<fact later>'));
  assert.deepEqual(w.facts(), ['<fact good>', '<fact later>']);
});

// The same through a real bus: the services of a moved folder stop and come back, and a
// folder swapped by rename runs the new tree's services instead of the old one's.
import { spawnSync } from 'node:child_process';
import { startBus, until as eventually } from '../relay/server-process.ts';
import { alive } from '../services/proc-helpers.ts';

/** `syndicate-ctl status --json` of a bus: service text → pid (null when not running). */
function daemonPids(stateDir: string): Map<string, number | null> {
  const r = spawnSync(process.execPath, [path.resolve('bin/syndicate-ctl.js'), '--socket', path.join(stateDir, 'control.sock'), 'status', '--json'], { encoding: 'utf8' });
  const rows = r.status === 0 ? JSON.parse(r.stdout) as { service: string; pid: number | null; state: string }[] : [];
  return new Map(rows.filter((s) => s.service.startsWith('<daemon')).map((s) => [s.service, s.state === 'ready' ? s.pid : null]));
}


test('a real bus: a config folder moved away stops its daemons, moved back starts them, swapped runs the new tree', LIMIT, async () => {
  const daemon = (id: string) => `<require-service <daemon ${id}>>\n<daemon ${id} "sleep 1000">\n`;
  const bus = await startBus({ scripts: { 'd.pr': daemon('first') } });
  const away = bus.configDir + '-away', fresh = bus.configDir + '-new';
  try {
    let pid = 0;
    await eventually(() => { pid = daemonPids(bus.stateDir).get('<daemon first>') ?? 0; return pid > 0; }, 'the daemon running', 30000);
    await rename(bus.configDir, away);
    await eventually(() => !alive(pid), 'the daemon stopped once its folder moved away', 30000);
    await rename(away, bus.configDir);
    let again = 0;
    await eventually(() => { again = daemonPids(bus.stateDir).get('<daemon first>') ?? 0; return again > 0 && alive(again); }, 'the daemon back', 30000);
    assert.notEqual(again, pid);
    await mkdir(fresh);
    await writeFile(path.join(fresh, '00-bind.pr'), '<bind <ref {oid: "syndicate" key: #[]}> $config #f>\n');
    await writeFile(path.join(fresh, 'd.pr'), daemon('second'));
    await rename(bus.configDir, away);
    await rename(fresh, bus.configDir);
    await eventually(() => (daemonPids(bus.stateDir).get('<daemon second>') ?? 0) > 0 && !alive(again), 'the new tree running instead of the old', 30000);
    assert.ok(!daemonPids(bus.stateDir).has('<daemon first>') || daemonPids(bus.stateDir).get('<daemon first>') === null, 'the old tree stopped');
  } finally {
    await bus.stop();
    await rm(away, { recursive: true, force: true });
    await rm(fresh, { recursive: true, force: true });
  }
});
