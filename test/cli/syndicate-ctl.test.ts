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

/** Runs syndicate-ctl to completion. */
function ctl(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CTL, '--socket', socket, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
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
  await writeFile(path.join(dir, 'services.pr'), `
    <require-service <daemon sleeper>>
    <daemon sleeper "echo hello from sleeper; exec sleep 1000">
    <require-service <daemon blocked>>
    <depends-on <daemon blocked> <service-state <daemon missing-dep> ready>>
    <daemon blocked "exec sleep 1000">
    <daemon missing-dep ["/nonexistent/program"]>
    <daemon once <one-shot "true">>
  `);
  bus = spawn(process.execPath, [SERVER, '--no-banner', '--state', state, '-c', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
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
  const seen = (s: string) => new Promise<void>((resolve) => {
    const check = () => { if (out.includes(s)) resolve(); else w.stdout.once('data', (d) => { out += d; check(); }); };
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
