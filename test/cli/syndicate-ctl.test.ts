// syndicate-ctl against a real bus process with real daemons.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

const SERVER = path.resolve('bin/syndicate-server.js');
const CTL = path.resolve('bin/syndicate-ctl.js');

let dir = '';
let state = '';
let socket = '';
let bus: ChildProcess;
let gatekeeperSocket = '';

/** Runs syndicate-ctl to completion. */
function ctl(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return ctlRaw('--socket', socket, ...args);
}

/** Runs syndicate-ctl with exactly these arguments (and no $SYNDICATE_SOCKET). */
function ctlRaw(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env };
    delete env.SYNDICATE_SOCKET;
    const p = spawn(process.execPath, [CTL, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '', err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', (code) => resolve({ code, out, err }));
  });
}

/** Polls `status --json` until `pred` holds for the service (the bus's own pace, not a sleep). */
async function untilStatus(service: string, pred: (s: { state: string; pid: number | null }) => boolean): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const r = await ctl('status', '--json');
    const s = (JSON.parse(r.out) as { service: string; state: string; pid: number | null }[]).find((x) => x.service === service);
    if (s !== undefined && pred(s)) return;
  }
  throw new Error(`${service} never reached the expected state`);
}

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'ctl-config-'));
  state = await mkdtemp(path.join(tmpdir(), 'ctl-state-'));
  socket = path.join(state, 'control.sock');
  gatekeeperSocket = path.join(dir, 'gatekeeper.sock');
  await writeFile(path.join(dir, 'services.pr'), `
    <require-service <daemon sleeper>>
    <daemon sleeper "echo hello from sleeper; exec sleep 1000">
    <require-service <daemon blocked>>
    <depends-on <daemon blocked> <service-state <daemon missing-dep> ready>>
    <daemon blocked "exec sleep 1000">
    <daemon missing-dep ["/nonexistent/program"]>
    <daemon once <one-shot "true">>
    <daemon idle "exec sleep 1000">
    <require-service <daemon nothere>>
    <daemon nothere "exec /nonexistent/program-of-this-test">
  `);
  bus = spawn(process.execPath, [SERVER, '--no-banner', '--state', state, '-c', dir, '-s', gatekeeperSocket], { stdio: ['ignore', 'ignore', 'pipe'] });
  bus.stderr!.resume();
  await new Promise<void>((resolve, reject) => {
    const poll = () => ctl('status').then((r) => (r.code === 0 ? resolve() : bus.exitCode !== null ? reject(new Error('bus exited')) : setImmediate(poll)));
    poll();
  });
  await untilStatus('<daemon sleeper>', (s) => s.state === 'ready');
});

after(async () => {
  bus.kill('SIGTERM');
  await new Promise((r) => bus.on('exit', r));
  await rm(dir, { recursive: true, force: true });
  await rm(state, { recursive: true, force: true });
});

test('status: one line per service with state, time, pid; --json', async () => {
  const r = await ctl('status');
  assert.equal(r.code, 0, r.err);
  const line = r.out.split('\n').find((l) => l.startsWith('<daemon sleeper>'))!;
  assert.match(line, /^<daemon sleeper>\s+ready\s+\d+s\s+\d+\s+0\s+-$/);
  const json = JSON.parse((await ctl('status', '--json')).out) as { service: string; state: string }[];
  assert.equal(json.find((s) => s.service === '<daemon blocked>')!.state, 'waiting');
});

test('why: a service blocked by a missing dependency names it and its state', async () => {
  await untilStatus('<daemon missing-dep>', (s) => s.state === 'failed');
  const r = await ctl('why', 'blocked');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^<daemon blocked>: waiting\n  waits for <daemon missing-dep> to be ready \(now: failed\)$/m);
  const m = await ctl('why', 'missing-dep');
  assert.match(m.out, /failed: cannot start program "\/nonexistent\/program"/);
  const unknown = await ctl('why', '<daemon nobody>');
  assert.equal(unknown.code, 1);
});

test('graph as text and dot', async () => {
  assert.match((await ctl('graph')).out, /<daemon blocked> \[waiting\] -> <daemon missing-dep> \(ready\)  \(unmet\)/);
  assert.match((await ctl('graph', '--dot')).out, /^digraph services \{/);
});

test('start --wait on a one-shot returns once it is complete', async () => {
  const r = await ctl('start', 'once', '--wait');
  assert.equal(r.code, 0, r.out + r.err);
  await untilStatus('<daemon once>', (s) => s.state === 'complete');
});

test('stop and start hold across syndicate-ctl exiting; restart --wait gets a new process', async () => {
  const before = JSON.parse((await ctl('status', '--json')).out).find((s: { service: string }) => s.service === '<daemon sleeper>');
  const r = await ctl('restart', 'sleeper', '--wait');
  assert.equal(r.code, 0, r.out + r.err);
  await untilStatus('<daemon sleeper>', (s) => s.state === 'ready' && s.pid !== before.pid);
  assert.equal((await ctl('stop', 'sleeper', '--wait')).code, 0);
  await untilStatus('<daemon sleeper>', (s) => s.state === 'held');
  assert.equal((await ctl('start', 'sleeper', '--wait')).code, 0);
  await untilStatus('<daemon sleeper>', (s) => s.state === 'ready');
});

test('logs shows a daemon\'s output lines', async () => {
  const r = await ctl('logs', 'sleeper', '-n', '5');
  assert.equal(r.code, 0, r.out + r.err);
  assert.match(r.out, /stdout hello from sleeper/);
});

test('assert, retract and send; watch shows assertions come and go', async () => {
  const w = spawn(process.execPath, [CTL, '--socket', socket, 'watch', '<note ?x>'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const waiting = new Set<() => void>();
  w.stdout.on('data', (d) => { out += d; for (const f of waiting) f(); });
  const seen = (s: string) => new Promise<void>((resolve) => {
    const check = () => { if (out.includes(s)) { waiting.delete(check); resolve(); } };
    waiting.add(check);
    check();
  });
  await new Promise((r) => setImmediate(r));
  assert.equal((await ctl('assert', '<note "kept">')).code, 0);
  await seen('+ <note "kept">');
  assert.equal((await ctl('retract', '<note "kept">')).code, 0);
  await seen('- <note "kept">');
  assert.equal((await ctl('send', '<note "message">')).code, 0);
  w.kill('SIGINT');
  await new Promise((r) => w.on('exit', r));
});

test('errors are one clear line and a non-zero exit', async () => {
  const none = await new Promise<{ code: number | null; err: string }>((resolve) => {
    const p = spawn(process.execPath, [CTL, '--socket', path.join(state, 'nothing.sock'), 'status'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', (code) => resolve({ code, err }));
  });
  assert.notEqual(none.code, 0);
  assert.match(none.err, /^syndicate-ctl: cannot connect to .*nothing\.sock: no bus is listening there\n$/);
  const bad = await ctl('watch', '<unclosed');
  assert.notEqual(bad.code, 0);
  assert.equal(bad.err.trim().split('\n').length, 1);
  assert.match(bad.err, /bad PATTERN/);
});

/** One line on stderr, nothing on stdout, and the exit code. */
function oneLine(r: { code: number | null; out: string; err: string }, code: number, pattern: RegExp): void {
  assert.equal(r.code, code, r.out + r.err);
  assert.equal(r.out, '');
  assert.equal(r.err.split('\n').length, 2, r.err);
  assert.match(r.err, pattern);
}

test('unknown services: status, start --wait, stop, restart, logs, why: one line, exit 1, nothing kept', async () => {
  const { readdir } = await import('node:fs/promises');
  const keptBefore = await readdir(path.join(state, 'ctl'));
  oneLine(await ctl('status', '<daemon nosuch>'), 1, /^syndicate-ctl: <daemon nosuch>: no such service \(no <daemon nosuch …> in the bus's configuration\)\n$/);
  oneLine(await ctl('start', 'nosuch', '--wait'), 1, /^syndicate-ctl: <daemon nosuch>: no such service/);
  oneLine(await ctl('stop', 'nosuch'), 1, /<daemon nosuch>: no such service/);
  oneLine(await ctl('restart', 'nosuch', '--wait'), 1, /<daemon nosuch>: no such service/);
  oneLine(await ctl('logs', 'nosuch'), 1, /<daemon nosuch>: no such service/);
  oneLine(await ctl('why', '<milestone nosuch>'), 1, /<milestone nosuch>: no such service \(nothing requires it/);
  const kept = await readdir(path.join(state, 'ctl'));
  assert.deepEqual(kept, keptBefore, 'nothing more kept');
  const json = JSON.parse((await ctl('status', '--json')).out) as { service: string }[];
  assert.ok(!json.some((s) => s.service === '<daemon nosuch>'), 'not shown');
});

test('a configured service nothing requires: status shows it idle, restart refuses in one line', async () => {
  const r = await ctl('status', 'idle');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^<daemon idle>\s+idle\s/m);
  oneLine(await ctl('restart', 'idle', '--wait'), 1, /^syndicate-ctl: <daemon idle>: not running \(idle\), so not restarted/);
});

test('retract of a value never asserted: one line, exit 1; assert/retract of odd values round-trips', async () => {
  oneLine(await ctl('retract', '<never-asserted>'), 1, /^syndicate-ctl: <never-asserted> was not kept by syndicate-ctl assert; nothing retracted\n$/);
  const odd = '<odd {a: $b, "s": ?c, _: [_ "\ufeffq" =x]}>';
  assert.equal((await ctl('assert', odd)).code, 0);
  const { readdir, readFile, stat } = await import('node:fs/promises');
  const contents = async () => Promise.all((await readdir(path.join(state, 'ctl'))).map(async (f) => [f, await readFile(path.join(state, 'ctl', f), 'utf8')]));
  const file = (await contents()).find(([, text]) => text.startsWith('<odd {'));
  assert.ok(file !== undefined);
  assert.equal((await stat(path.join(state, 'ctl', file[0]))).mode & 0o777, 0o600);
  assert.equal((await ctl('retract', odd)).code, 0);
  assert.ok(!(await contents()).some(([, text]) => text.startsWith('<odd {')));
});

test('restart --wait of a service whose program is missing fails', async () => {
  const r = await ctl('restart', 'nothere', '--wait', '--timeout', '60');
  assert.notEqual(r.code, 0, r.out + r.err);
  assert.equal(r.err.split('\n').length, 2, r.err);
});

test('arguments are checked before connecting: usage errors exit 2 even with no bus', async () => {
  const none = path.join(state, 'nothing.sock');
  for (const args of [['frob'], ['status', '--timeout', 'abc'], ['logs', 'x', '-n', 'abc'], ['logs', 'x', '-n', '0'], ['start'], ['status', '--frob'], ['why', 'a', 'b'], ['assert', '<unclosed']]) {
    const r = await ctlRaw('--socket', none, ...args);
    assert.equal(r.code, 2, args.join(' ') + ': ' + r.err);
    assert.equal(r.err.split('\n').length, 2, r.err);
    assert.match(r.err, /^syndicate-ctl: /);
  }
});

test('through a -s gatekeeper listener ctl resolves the control ref, or says in one line it is not a control socket', async () => {
  const r = await ctlRaw('--socket', gatekeeperSocket, '--state', state, 'status', 'sleeper');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^<daemon sleeper>\s+ready/m);
  const other = await mkdtemp(path.join(tmpdir(), 'ctl-noref-'));
  try {
    const n = await ctlRaw('--socket', gatekeeperSocket, '--state', other, 'status');
    oneLine(n, 3, /^syndicate-ctl: .*gatekeeper\.sock is not a control socket .*no control ref is readable at .*control\.ref\n$/);
    await writeFile(path.join(other, 'control.ref'), '<ref {oid: syndicate-control, sig: #x"00112233445566778899aabbccddeeff"}>\n');
    const w = await ctlRaw('--socket', gatekeeperSocket, '--state', other, 'stop', 'sleeper', '--wait');
    oneLine(w, 3, /is not a control socket: it did not resolve the control ref/);
  } finally {
    await rm(other, { recursive: true, force: true });
  }
  const ref = await import('node:fs/promises').then((f) => f.stat(path.join(state, 'control.ref')));
  assert.equal(ref.mode & 0o777, 0o600);
});

test('status of 1 000 services through a slow pipe prints every line', async () => {
  const many = Array.from({ length: 1000 }, (_, i) => `<service-state <bulk s${String(i).padStart(4, '0')} "${'x'.repeat(60)}"> ready>`).join('\n');
  await writeFile(path.join(dir, 'bulk.pr'), many + '\n');
  try {
    await untilStatus('<bulk s0999 "' + 'x'.repeat(60) + '">', (s) => s.state === 'ready');
    const { code, lines } = await new Promise<{ code: number | null; lines: number }>((resolve) => {
      const p = spawn(process.execPath, [CTL, '--socket', socket, 'status'], { stdio: ['ignore', 'pipe', 'ignore'] });
      let text = '';
      // A slow reader: take a chunk, then let the writer wait a while.
      p.stdout.on('data', (d) => { text += d; p.stdout.pause(); setTimeout(() => p.stdout.resume(), 20); });
      p.on('close', (c) => resolve({ code: c, lines: text.split('\n').filter((l) => l.startsWith('<bulk ')).length }));
    });
    assert.equal(code, 0);
    assert.equal(lines, 1000);
  } finally {
    await rm(path.join(dir, 'bulk.pr'), { force: true });
  }
});

test('start --wait of a service that cannot get ready times out: exit 4, one line; the start itself is kept', async () => {
  await untilStatus('<daemon missing-dep>', (s) => s.state === 'failed');
  try {
    oneLine(await ctl('start', 'blocked', '--wait', '--timeout', '3'), 4,
      /^syndicate-ctl: <daemon blocked>: timed out after 3 s waiting for start to finish\n$/);
    // Acknowledged before the wait ran out: the request is kept, and retract finds it.
    assert.equal((await ctl('retract', '<require-service <daemon blocked>>')).code, 0);
  } finally {
    await ctl('retract', '<require-service <daemon blocked>>');
  }
});
