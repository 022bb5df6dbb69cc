// syndicate-server as a real process: --check, and running a config folder with the logger.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

const BIN = path.resolve('bin/syndicate-server.js');

test('--check exits 0 on valid scripts and prints every error with line and column otherwise', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'check-'));
  await writeFile(path.join(dir, 'ok.pr'), '<a> ? <b ?x> [ <c $x> ]\n');
  const ok = spawnSync(process.execPath, [BIN, '--check', dir], { encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
  await writeFile(path.join(dir, 'two.pr'), '<fine>\n?x <a>\n  _ <b>\n');
  const bad = spawnSync(process.execPath, [BIN, '--check', dir], { encoding: 'utf8' });
  assert.equal(bad.status, 1);
  const lines = bad.stderr.split('\n').filter((l) => l.includes('two.pr:'));
  assert.deepEqual(lines.map((l) => l.replace(dir, 'DIR')), [
    'DIR/two.pr:2:1: Invalid use of pattern binder in target',
    'DIR/two.pr:3:3: Invalid use of discard in target',
  ]);
});

test('--check: invalid daemon specs, bad depends-on and listener records, cycles, each at file:line:col; non-scripts named as skipped', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), `check-records-${process.pid}-`));
  try {
    await writeFile(path.join(dir, 'bad.pr'), [
      '<daemon c 42>',
      '<daemon d {argv: ["sleep", 1000]}>',
      '<daemon e {argv: "sleep 1" restart: sometimes}>',
      '<depends-on <a> <service-state <b> up>>',
      '<depends-on <b> <service-state <a> ready>>',
      '<depends-on <x> <service-state <y> running>>',
      '<require-service <relay-listener <tcp "x" 70000> $gatekeeper>>',
      '? <q ?z> [ <daemon $z "ok"> <daemon fine "true"> ]',
    ].join('\n') + '\n');
    await writeFile(path.join(dir, 'notes.txt'), 'not a script\n');
    const r = spawnSync(process.execPath, [BIN, '--check', dir], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.deepEqual(r.stderr.replaceAll(dir, 'DIR').trim().split('\n'), [
      'DIR/notes.txt: skipped, not a .pr script',
      'DIR/bad.pr:1:11: <daemon c>: daemon spec: expected a shell string, [program args...], <one-shot CMD> or {argv: CMD ...}, got 42',
      'DIR/bad.pr:2:18: <daemon d>: daemon spec field "argv": element 1 must be a string, got 1000',
      'DIR/bad.pr:3:37: <daemon e>: daemon spec field "restart": expected one of always, on-error, all, never',
      'DIR/bad.pr:6:36: depends-on: unknown service state running (one of started, ready, failed, complete, up)',
      'DIR/bad.pr:7:34: relay-listener: <tcp HOST PORT>: PORT must be 0–65535',
      'DIR/bad.pr:4:1: dependency cycle: <a> -> <b> -> <a> (none of these can start)',
      'checked 1 file(s), 1 skipped: 6 error(s)',
    ]);
    const only = spawnSync(process.execPath, [BIN, '--check', path.join(dir, 'notes.txt')], { encoding: 'utf8' });
    assert.equal(only.status, 1);
    assert.match(only.stderr, /notes\.txt: skipped, not a \.pr script\nchecked 0 file\(s\), 1 skipped: 0 error\(s\); no script to check\n$/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('--no-banner hides only the banner; --quiet hides state lines; --log-level is checked', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), `quiet-${process.pid}-`));
  const state = path.join(dir, 'state');
  await writeFile(path.join(dir, 'a.pr'), '<service-state <milestone shown> ready>\n');
  const firstLines = (args: string[], until: RegExp) => new Promise<string>((resolve, reject) => {
    const p = spawn(process.execPath, [BIN, '--state', state, '-c', path.join(dir, 'a.pr'), ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    const done = () => { p.removeAllListeners('exit'); p.once('exit', () => resolve(err)); p.kill('SIGTERM'); };
    p.stderr.on('data', (d) => { err += d; if (until.test(err)) done(); });
    p.once('exit', () => reject(new Error('exited early: ' + err)));
  });
  try {
    const plain = await firstLines(['--no-banner'], /<milestone shown>: ready\n/);
    assert.doesNotMatch(plain, /syndicate-bus: /);
    // Quiet: no state line at all; the control ref appearing says the bus is up.
    const { stat } = await import('node:fs/promises');
    await rm(path.join(state, 'control.ref'), { force: true });
    const quiet = spawn(process.execPath, [BIN, '--quiet', '--state', state, '-c', path.join(dir, 'a.pr')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let qerr = '';
    quiet.stderr.on('data', (d) => (qerr += d));
    for (let i = 0; i < 1200 && !(await stat(path.join(state, 'control.ref')).catch(() => null)); i++) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => { quiet.once('exit', r); quiet.kill('SIGTERM'); });
    assert.match(qerr, /^syndicate-bus: config /);
    assert.doesNotMatch(qerr, /: ready|: started/);
    const bad = spawnSync(process.execPath, [BIN, '--log-level', 'loud'], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /^syndicate-server: bad --log-level loud: one of error, warn, info, debug\n/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('-c runs the scripts of a folder; the logger prints log messages; SIGTERM exits 0', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'serve-'));
  await writeFile(path.join(dir, 'hello.pr'), [
    '<greeting "hi">',
    '? <greeting ?g> $log ! <log "2026-01-01T00:00:00+00:00" {service: <hello>, stream: stdout, line: $g, extra: 1}>',
  ].join('\n'));
  const p = spawn(process.execPath, [BIN, '--no-banner', '--state', path.join(dir, 'state'), '-c', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  await new Promise<void>((resolve, reject) => {
    p.stderr.on('data', (d) => { err += d; if (err.includes('stdout: hi')) resolve(); });
    p.on('exit', () => reject(new Error('server exited early: ' + err)));
  });
  // State lines (services) come too; the log message is one line of its own.
  assert.ok(err.split('\n').includes('2026-01-01T00:00:00+00:00 <hello> stdout: hi extra=1'), err);
  p.kill('SIGTERM');
  const code = await new Promise<number | null>((r) => p.on('exit', (c) => r(c)));
  assert.equal(code, 0);
});

test('npx syndicate-server --check works from the project folder (the package links its own bins)', () => {
  const r = spawnSync('npx', ['--no-install', 'syndicate-server', '--check', 'etc/syndicate'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /checked \d+ file\(s\): 0 error\(s\)/);
});
