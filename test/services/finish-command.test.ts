// `finish` after an exit: runs, sees the exit status as arguments and variables, is time-limited.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DaemonProcess } from '../../src/services/daemon/daemon-process.ts';
import { runFinish } from '../../src/services/daemon/finish-command.ts';
import { SpawnError } from '../../src/services/daemon/spawn-error.ts';
import { Lines, liveGroupMembers } from './proc-helpers.ts';

test('finish runs after a real exit and is told how the process ended', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'finish-'));
  const out = path.join(dir, 'finished');
  const p = await DaemonProcess.start({ command: { kind: 'shell', script: 'exit 7' } });
  const status = await p.exited;
  const fin = await runFinish({
    command: { kind: 'shell', script: `echo "$0 $1 $2 $DAEMON_EXIT_CODE [$DAEMON_EXIT_SIGNAL] $MARK" > ${out}` },
    status,
    env: new Map([['MARK', 'daemon-env']]),
  });
  assert.deepEqual(fin, { code: 0, signal: null });
  assert.equal(await readFile(out, 'utf8'), 'finish 7 0 7 [] daemon-env\n');
});

test('a signal death is -1 and the signal number, plus its name in DAEMON_EXIT_SIGNAL', async () => {
  const p = await DaemonProcess.start({ command: { kind: 'shell', script: 'echo up; exec sleep 1000' } });
  const status = await p.stop();
  const lines = new Lines();
  await runFinish({
    command: { kind: 'exec', argv: ['sh', '-c', 'echo "$@ $DAEMON_EXIT_SIGNAL"', 'finish-argv'] },
    status,
    onLine: lines.onLine,
  });
  assert.deepEqual(lines.seen, [['stdout', '-1 15 SIGTERM\n']]);
});

test('a finish that overruns its time limit is stopped', async () => {
  const lines = new Lines();
  const fin = runFinish({
    command: { kind: 'shell', script: 'echo $$; exec sleep 1000' },
    status: { code: 0, signal: null },
    timeoutMs: 300,
    onLine: lines.onLine,
  });
  assert.deepEqual(await fin, { code: null, signal: 'SIGTERM' });
  // (On a very loaded machine the shell may be stopped before it echoes; nothing to check then.)
  for (const [, pid] of lines.seen) assert.deepEqual(liveGroupMembers(Number(pid)), []);
});

test('a finish that cannot start is a SpawnError', async () => {
  await assert.rejects(runFinish({ command: { kind: 'exec', argv: ['no-such-finish-xyzzy'] }, status: { code: 1, signal: null } }),
    (e: unknown) => e instanceof SpawnError && e.program === 'no-such-finish-xyzzy');
});
