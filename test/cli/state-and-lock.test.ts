// Where the bus keeps its state and how syndicate-ctl finds it, and one bus per state folder:
// real server and ctl processes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { defaultStateDir, locateState } from '../../src/cli/state-dir.ts';

const SERVER = path.resolve('bin/syndicate-server.js');
const CTL = path.resolve('bin/syndicate-ctl.js');

type Run = { code: number | null; out: string; err: string };

/** Runs a program to completion with exactly `env`. */
function runTo(args: string[], env: NodeJS.ProcessEnv, uid?: number): Promise<Run> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env, uid, gid: uid });
    let out = '', err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', (code) => resolve({ code, out, err }));
  });
}

/** Starts a bus; resolves once its stderr has shown `ready` for the control socket listener. */
function startBus(args: string[], env: NodeJS.ProcessEnv, uid?: number): Promise<{ bus: ChildProcess; err: () => string }> {
  return new Promise((resolve, reject) => {
    const bus = spawn(process.execPath, [SERVER, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env, uid, gid: uid });
    let err = '';
    bus.stderr!.on('data', (d) => {
      err += d;
      if (/control\.sock"> #:ref>: ready/.test(err)) resolve({ bus, err: () => err });
    });
    bus.on('exit', () => reject(new Error('bus exited: ' + err)));
  });
}

async function stopBus(bus: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (bus.exitCode !== null || bus.signalCode !== null) return;
  bus.removeAllListeners('exit'); // startBus's "exited early" rejection
  const gone = new Promise((r) => bus.once('exit', r));
  bus.kill(signal);
  await gone;
}

const baseEnv = (): NodeJS.ProcessEnv => {
  const env = { ...process.env };
  delete env.SYNDICATE_SOCKET;
  delete env.XDG_RUNTIME_DIR;
  return env;
};

test('the rule: /run/syndicate as root, $XDG_RUNTIME_DIR/syndicate otherwise, TMPDIR/syndicate-UID without it; flags first', () => {
  assert.equal(defaultStateDir({ XDG_RUNTIME_DIR: '/run/user/1000' }, 0), '/run/syndicate');
  assert.equal(defaultStateDir({ XDG_RUNTIME_DIR: '/run/user/1000' }, 1000), '/run/user/1000/syndicate');
  assert.equal(defaultStateDir({}, 1000), path.join(tmpdir(), 'syndicate-1000'));
  assert.equal(defaultStateDir({ XDG_RUNTIME_DIR: 'relative' }, 1000), path.join(tmpdir(), 'syndicate-1000'));
  assert.deepEqual(locateState({ state: '/s', root: '/r' }, { SYNDICATE_SOCKET: '/x/y.sock' }), { dir: '/s', socket: '/s/control.sock', from: '--state' });
  assert.deepEqual(locateState({ root: '/r' }, { SYNDICATE_SOCKET: '/x/y.sock' }), { dir: '/r/run/syndicate', socket: '/r/run/syndicate/control.sock', from: '--root' });
  assert.deepEqual(locateState({}, { SYNDICATE_SOCKET: '/x/y.sock' }), { dir: '/x', socket: '/x/y.sock', from: '$SYNDICATE_SOCKET' });
});

test('with no flags, a bus and syndicate-ctl of the same user find each other under $XDG_RUNTIME_DIR', async () => {
  // As root the rule says /run/syndicate, which a test must not touch: run both as nobody then.
  const asRoot = process.getuid?.() === 0;
  const uid = asRoot ? 65534 : undefined;
  const runtime = await mkdtemp(path.join(tmpdir(), `xdg-${process.pid}-`));
  const config = await mkdtemp(path.join(tmpdir(), `xdg-config-${process.pid}-`));
  if (asRoot) {
    await chown(runtime, 65534, 65534);
    await chmod(config, 0o755);
  }
  await writeFile(path.join(config, 'a.pr'), '<service-state <milestone found-me> ready>\n');
  await chmod(path.join(config, 'a.pr'), 0o644);
  const env = { ...baseEnv(), XDG_RUNTIME_DIR: runtime, HOME: runtime };
  let bus: ChildProcess | null = null;
  try {
    const started = await startBus(['-c', config], env, uid);
    bus = started.bus;
    const state = path.join(runtime, 'syndicate');
    assert.match(started.err(), new RegExp(`state in ${state} \\(pid \\d+\\); syndicate-ctl status`));
    const r = await runTo([CTL, 'status', '<milestone found-me>'], env, uid);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^<milestone found-me>\s+ready/m);
    assert.equal((await stat(state)).mode & 0o777, 0o700);
    assert.equal((await stat(path.join(state, 'control.sock'))).mode & 0o777, 0o600);
  } finally {
    if (bus !== null) await stopBus(bus);
    await rm(runtime, { recursive: true, force: true });
    await rm(config, { recursive: true, force: true });
  }
});

test('one bus per state folder: a second exits 1 naming the first and starts nothing; a kill -9ed bus leaves no lock', async () => {
  const state = await mkdtemp(path.join(tmpdir(), `lock-state-${process.pid}-`));
  const config = await mkdtemp(path.join(tmpdir(), `lock-config-${process.pid}-`));
  const marker = path.join(config, 'started');
  // A one-shot daemon that leaves a mark each time a bus starts it.
  await writeFile(path.join(config, 'a.pr'), `<require-service <daemon mark>>\n<daemon mark <one-shot ["sh" "-c" "echo x >> '${marker}'"]>>\n`);
  // Looser than it should be: narrowed, and said so in one line.
  await chmod(state, 0o755);
  await mkdir(path.join(state, 'log'), { mode: 0o755 });
  await chmod(path.join(state, 'log'), 0o755);
  await writeFile(path.join(state, 'log', 'old'), 'x', { mode: 0o644 });
  const env = baseEnv();
  let first: ChildProcess | null = null;
  let third: ChildProcess | null = null;
  try {
    const a = await startBus(['--no-banner', '--state', state, '-c', config], env);
    first = a.bus;
    assert.match(a.err(), new RegExp(`^syndicate-server: narrowed the permissions of 3 entries in ${state} to 0700/0600$`, 'm'));
    assert.equal((await stat(state)).mode & 0o777, 0o700);
    assert.equal((await stat(path.join(state, 'log', 'old'))).mode & 0o777, 0o600);
    const second = await runTo([SERVER, '--state', state, '-c', config], env);
    assert.equal(second.code, 1);
    assert.equal(second.err, `syndicate-server: a bus is already running with state in ${state} (pid ${first.pid}); not starting a second one\n`);
    await stopBus(first, 'SIGKILL');
    first = null;
    const c = await startBus(['--no-banner', '--state', state, '-c', config], env);
    third = c.bus;
    const { readFile } = await import('node:fs/promises');
    // Polls until the mark appears (bounded at a minute; the outcome is what is asserted).
    for (let i = 0; i < 1200 && (await readFile(marker, 'utf8').catch(() => '')).split('\n').length < 3; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(await readFile(marker, 'utf8'), 'x\nx\n', 'the refused bus started nothing; the one after kill -9 did');
  } finally {
    if (first !== null) await stopBus(first);
    if (third !== null) await stopBus(third);
    await rm(state, { recursive: true, force: true });
    await rm(config, { recursive: true, force: true });
  }
});
