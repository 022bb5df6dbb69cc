// One process on the real OS: output lines, exit status, environment, spawn errors, stopping the
// whole process group (TERM, then KILL), and readiness through fd N and sd_notify.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { parse } from '../../src/preserves/index.ts';
import { RestartBackoff, decideOnExit } from '../../src/services/daemon/backoff.ts';
import { parseDaemonSpec } from '../../src/services/daemon/daemon-spec.ts';
import { DaemonProcess } from '../../src/services/daemon/daemon-process.ts';
import { isSuccess } from '../../src/services/daemon/exit-status.ts';
import { SpawnError } from '../../src/services/daemon/spawn-error.ts';
import type { NotifyMessage } from '../../src/services/daemon/sd-notify.ts';
import { Lines, liveGroupMembers, signal } from './proc-helpers.ts';

const sh = (script: string) => ({ kind: 'shell', script }) as const;

test('stdout and stderr arrive as lines, newline kept, last unterminated line included', async () => {
  const lines = new Lines();
  const p = await DaemonProcess.start({
    command: sh('printf "a\\nb\\n"; printf "e1\\n" >&2; printf "\\377\\376\\n" >&2; printf "tail"'),
    onLine: lines.onLine,
  });
  const bytes: unknown[] = [];
  const status = await p.exited;
  assert.deepEqual(status, { code: 0, signal: null });
  assert.deepEqual(lines.seen.filter(([s]) => s === 'stdout').map(([, l]) => l), ['a\n', 'b\n', 'tail']);
  assert.deepEqual(lines.seen.filter(([s]) => s === 'stderr').map(([, l]) => l), ['e1\n', '\xff\xfe\n']);
  // Invalid UTF-8 is delivered as bytes, not as a string with replacement characters.
  const p2 = await DaemonProcess.start({ command: sh('printf "\\377\\n"'), onLine: (_s, l) => bytes.push(l) });
  await p2.exited;
  assert.ok(bytes[0] instanceof Uint8Array);
  assert.deepEqual([...(bytes[0] as Uint8Array)], [0xff, 0x0a]);
});

test('exit codes and signals are reported', async () => {
  assert.deepEqual(await (await DaemonProcess.start({ command: sh('exit 7') })).exited, { code: 7, signal: null });
  assert.deepEqual(await (await DaemonProcess.start({ command: sh('kill -USR1 $$') })).exited, { code: null, signal: 'SIGUSR1' });
  assert.deepEqual(await (await DaemonProcess.start({ command: { kind: 'exec', argv: ['true'] } })).exited, { code: 0, signal: null });
});

test('env sets and unsets, clearEnv starts empty, dir sets the working directory', async () => {
  process.env.SYNDICATE_TEST_INHERITED = 'yes';
  process.env.SYNDICATE_TEST_REMOVED = 'no';
  const dir = await realpath(await mkdtemp(path.join(tmpdir(), 'dp-dir-')));
  const lines = new Lines();
  const p = await DaemonProcess.start({
    command: { kind: 'exec', argv: ['sh', '-c', 'echo "$SYNDICATE_TEST_INHERITED|${SYNDICATE_TEST_REMOVED-unset}|$NEW|$(pwd)"'] },
    env: new Map([['SYNDICATE_TEST_REMOVED', null], ['NEW', 'n e w']]),
    dir,
    onLine: lines.onLine,
  });
  await p.exited;
  assert.deepEqual(lines.seen, [['stdout', `yes|unset|n e w|${dir}\n`]]);

  const cleared = new Lines();
  const q = await DaemonProcess.start({
    command: { kind: 'exec', argv: ['/usr/bin/env'] }, clearEnv: true, env: new Map([['ONLY', '1']]), onLine: cleared.onLine,
  });
  await q.exited;
  assert.deepEqual(cleared.seen, [['stdout', 'ONLY=1\n']]);
});

test('a program that does not exist is a SpawnError naming it', async () => {
  await assert.rejects(DaemonProcess.start({ command: { kind: 'exec', argv: ['no-such-program-xyzzy', '-v'] } }),
    (e: unknown) => {
      assert.ok(e instanceof SpawnError);
      assert.equal(e.program, 'no-such-program-xyzzy');
      assert.equal(e.code, 'ENOENT');
      assert.match(e.message, /cannot start program "no-such-program-xyzzy": not found \(ENOENT\)/);
      return true;
    });
  await assert.rejects(DaemonProcess.start({ command: sh('true'), dir: '/no/such/dir' }),
    /cannot start program "sh": working directory "\/no\/such\/dir" does not exist/);
});

test('stop takes the whole process group down, leaving no process of it alive', async () => {
  const lines = new Lines();
  const p = await DaemonProcess.start({
    command: sh('sleep 1000 & echo started; sleep 1000'), stopTimeoutMs: 5000, onLine: lines.onLine,
  });
  await lines.until((_s, l) => l === 'started\n');
  // The background sleep was forked before the echo, so the group has at least sh and it.
  assert.ok(liveGroupMembers(p.pid).length >= 2, 'group populated');
  const status = await p.stop();
  assert.deepEqual(status, { code: null, signal: 'SIGTERM' });
  assert.deepEqual(liveGroupMembers(p.pid), []);
  assert.deepEqual(await p.stop(), status, 'stop after stop is harmless');
});

test('a group that ignores SIGTERM is SIGKILLed after stopTimeout', async () => {
  const lines = new Lines();
  const p = await DaemonProcess.start({
    command: sh('trap "" TERM; sleep 1000 & echo started; exec sleep 1000'), stopTimeoutMs: 200, onLine: lines.onLine,
  });
  await lines.until((_s, l) => l === 'started\n');
  const t0 = performance.now();
  const status = await p.stop();
  assert.ok(performance.now() - t0 >= 190, 'waited the grace period');
  assert.deepEqual(status, { code: null, signal: 'SIGKILL' });
  assert.deepEqual(liveGroupMembers(p.pid), []);
});

test('processes left behind by an exiting leader do not survive it', async () => {
  const lines = new Lines();
  const p = await DaemonProcess.start({ command: sh('sleep 1000 & echo $!'), stopTimeoutMs: 5000, onLine: lines.onLine });
  const status = await p.exited;
  assert.deepEqual(status, { code: 0, signal: null });
  const orphan = Number(lines.seen[0][1]);
  assert.ok(orphan > 0);
  assert.deepEqual(liveGroupMembers(p.pid), []);
});

test('readyNotify <fd N>: the first line on fd N means ready', async () => {
  for (const fd of [3, 5]) {
    const ready = signal();
    const lines = new Lines();
    const p = await DaemonProcess.start({
      command: sh(`echo before; echo ready >&${fd}; echo after; exec sleep 1000`),
      readyNotify: { kind: 'fd', fd },
      onReady: () => ready.fire(),
      onLine: lines.onLine,
    });
    await ready.promise;
    assert.equal(p.ready, true);
    await lines.until((_s, l) => l === 'after\n');
    await p.stop();
  }
  // A process that never writes the line is never ready.
  let fired = false;
  const q = await DaemonProcess.start({ command: sh('printf "no newline" >&3'), readyNotify: { kind: 'fd', fd: 3 }, onReady: () => { fired = true; } });
  await q.exited;
  assert.equal(fired, false);
  assert.equal(q.ready, false);
});

const NOTIFY_PY = `
import os, socket
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.sendto(b"STATUS=starting", os.environ["NOTIFY_SOCKET"])
s.sendto(b"READY=1\\nSTATUS=up", os.environ["NOTIFY_SOCKET"])
print("sent", flush=True)
os.execvp("sleep", ["sleep", "1000"])
`;

test('readyNotify sd-notify: READY=1 on NOTIFY_SOCKET means ready', async () => {
  const runtimeDir = await mkdtemp(path.join(tmpdir(), 'dp-run-'));
  const ready = signal();
  const messages: NotifyMessage[] = [];
  const order: string[] = [];
  const p = await DaemonProcess.start({
    command: { kind: 'exec', argv: ['python3', '-c', NOTIFY_PY] },
    readyNotify: { kind: 'sd-notify' },
    runtimeDir,
    onNotify: (m) => { messages.push(m); order.push('notify:' + (m.get('STATUS') ?? '')); },
    onReady: () => { order.push('ready'); ready.fire(); },
  });
  await ready.promise;
  assert.deepEqual(order, ['notify:starting', 'notify:up', 'ready']);
  assert.equal(messages[1].get('READY'), '1');
  await p.stop();
  assert.deepEqual(liveGroupMembers(p.pid), []);
  // The receiver is gone and its private directory removed.
  assert.deepEqual(execFileSync('ls', ['-A', runtimeDir]).toString(), '');
});

test('readyNotify sd-notify works with systemd-notify, when installed', async (t) => {
  const which = (() => { try { return execFileSync('sh', ['-c', 'command -v systemd-notify']).toString().trim(); } catch { return ''; } })();
  if (which === '' || !existsSync(which)) { t.skip('systemd-notify not installed'); return; }
  const ready = signal();
  const p = await DaemonProcess.start({
    command: sh('systemd-notify --ready --status=ok; exec sleep 1000'), readyNotify: { kind: 'sd-notify' }, onReady: () => ready.fire(),
  });
  await ready.promise;
  await p.stop();
});

test('protocol mode gives the relay stdin and raw stdout', async () => {
  const p = await DaemonProcess.start({ command: { kind: 'exec', argv: ['cat'] }, protocol: 'text/syndicate' });
  assert.ok(p.stdin && p.stdout);
  const got = new Promise<string>((resolve) => p.stdout!.once('data', (d: Buffer) => resolve(d.toString())));
  p.stdin.write('packet\n');
  assert.equal(await got, 'packet\n');
  p.stdin.end();
  assert.deepEqual(await p.exited, { code: 0, signal: null });
});

test('the README example: a parsed spec spreads into the process options', async () => {
  const spec = parseDaemonSpec(parse('{argv: ["sh" "-c" "echo hi; echo ready >&3; exec sleep 1000"] readyNotify: <fd 3> stopTimeout: 2}'));
  const lines = new Lines();
  const ready = signal();
  const p = await DaemonProcess.start({ ...spec, onLine: lines.onLine, onReady: () => ready.fire() });
  const backoff = new RestartBackoff({ firstDelayMs: spec.restartDelayMs, maxDelayMs: spec.restartMaxDelayMs, resetAfterMs: spec.restartResetAfterMs });
  await ready.promise;
  const status = await p.stop();
  assert.deepEqual(lines.seen, [['stdout', 'hi\n']]);
  assert.equal(decideOnExit(spec.restart, isSuccess(status)), 'restart');
  assert.equal(backoff.nextDelay(isSuccess(status), Date.now() - p.startedAt), 1000);
});

test('short-lived processes started together lose no output, with or without a pid file', async () => {
  // Regression: the output readers were attached only after the pid file was written; a
  // process that exited first had its pipes drained to nowhere by Node and its lines lost.
  const dir = await mkdtemp(path.join(tmpdir(), `dp-quick-${process.pid}-`));
  try {
    const n = 24;
    const lines = new Lines();
    const procs = await Promise.all(Array.from({ length: n }, (_, i) => DaemonProcess.start({
      command: { kind: 'exec', argv: ['echo', `quick-${i}`] },
      ...(i % 4 === 3 ? {} : { pidFile: path.join(dir, `quick-${i}.pid`) }),
      onLine: lines.onLine,
    })));
    const statuses = await Promise.all(procs.map((p) => p.exited));
    assert.ok(statuses.every((s) => s.code === 0));
    assert.deepEqual(lines.seen.map(([, l]) => l).sort(), Array.from({ length: n }, (_, i) => `quick-${i}\n`).sort());
    // Each pid file is removed after its process is gone, even when it exited before the write.
    for (let i = 0; i < n; i++) assert.equal(existsSync(path.join(dir, `quick-${i}.pid`)), false, `quick-${i}.pid left behind`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
