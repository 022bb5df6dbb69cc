// A daemon's process joins its cgroup itself, in the `sh` that then runs (or execs) its program
// (`Cgroup.joinArgs`): the program runs inside from its first instruction, with its argv, fds,
// environment and directory as without a cgroup; a program that is missing or not executable
// is still a SpawnError before anything runs; a process that cannot join does not run its
// program and says why.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cgroup2Mount, daemonCgroupRoot, removeCgroupTree } from '../../src/services/daemon/cgroup.ts';
import { DaemonProcess } from '../../src/services/daemon/daemon-process.ts';
import { SpawnError } from '../../src/services/daemon/spawn-error.ts';
import { Lines } from './proc-helpers.ts';

const cgroupsWork = process.getuid?.() === 0 && cgroup2Mount() !== null;

/** A state folder and its daemon cgroup root for one test; removed afterwards, also on failure. */
async function withRoot(f: (root: string, dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), `cgroup-join-${process.pid}-`));
  const root = daemonCgroupRoot(dir);
  try {
    assert.ok(root !== null, 'cgroup v2 is writable');
    await f(root, dir);
  } finally {
    if (root !== null) await removeCgroupTree(root);
    await rm(dir, { recursive: true, force: true });
  }
}

const stdoutOf = (lines: Lines) => lines.seen.filter(([s]) => s === 'stdout').map(([, l]) => String(l).trimEnd());

test('argv and shell commands run inside their cgroup, with argv, env, clearEnv, dir and fd readiness as given', { skip: !cgroupsWork && 'needs writable cgroup v2 (root)' }, async () => {
  await withRoot(async (root, dir) => {
    const mount = cgroup2Mount()!;
    const script = 'echo "$0|$1|$FOO|$(pwd)"; grep "^0::" /proc/self/cgroup; echo up >&4; exec sleep 100';
    for (const [kind, command] of [['exec', { kind: 'exec', argv: ['sh', '-c', script, 'argv0', 'one'] }], ['shell', { kind: 'shell', script }]] as const) {
      const lines = new Lines();
      let ready!: () => void;
      const isReady = new Promise<void>((r) => (ready = r));
      const cg = path.join(root, 'd', kind);
      const p = await DaemonProcess.start({
        command, extraArgs: kind === 'shell' ? ['one'] : [], name: 'argv0', env: new Map([['FOO', 'bar']]), dir,
        readyNotify: { kind: 'fd', fd: 4 }, onReady: () => ready(), onLine: lines.onLine, cgroup: cg,
      });
      await isReady;
      assert.equal((await readFile(`/proc/${p.pid}/cgroup`, 'utf8')).split('\n').find((l) => l.startsWith('0::')), `0::/${path.relative(mount, cg)}`, `${kind}: the process is in its cgroup`);
      await p.stop();
      assert.deepEqual(stdoutOf(lines), [`argv0|one|bar|${dir}`, `0::/${path.relative(mount, cg)}`], `${kind}: what the program saw`);
    }
    // clearEnv: the program's environment is exactly what the spec gives (the joining sh adds none).
    const lines = new Lines();
    const p = await DaemonProcess.start({ command: { kind: 'exec', argv: ['/usr/bin/env'] }, clearEnv: true, env: new Map([['ONLY', '1']]), onLine: lines.onLine, cgroup: path.join(root, 'd', 'env') });
    assert.deepEqual(await p.exited, { code: 0, signal: null });
    assert.deepEqual(stdoutOf(lines), ['ONLY=1']);
  });
});

test('under a cgroup, a missing or non-executable argv program is a SpawnError and nothing runs', { skip: !cgroupsWork && 'needs writable cgroup v2 (root)' }, async () => {
  await withRoot(async (root, dir) => {
    await assert.rejects(DaemonProcess.start({ command: { kind: 'exec', argv: ['no-such-program-cgjoin'] }, cgroup: path.join(root, 'd', 'a') }),
      (e: unknown) => e instanceof SpawnError && e.code === 'ENOENT' && /cannot start program "no-such-program-cgjoin": not found/.test(e.message));
    assert.equal(DaemonProcess.startNow({ command: { kind: 'exec', argv: ['no-such-program-cgjoin'] }, cgroup: path.join(root, 'd', 'a') }), null);
    const plain = path.join(dir, 'plain');
    await writeFile(plain, '#!/bin/sh\n');
    await chmod(plain, 0o644);
    await assert.rejects(DaemonProcess.start({ command: { kind: 'exec', argv: [plain] }, cgroup: path.join(root, 'd', 'b') }),
      (e: unknown) => e instanceof SpawnError && e.code === 'EACCES');
    await assert.rejects(DaemonProcess.start({ command: { kind: 'exec', argv: ['true'] }, dir: path.join(dir, 'gone'), cgroup: path.join(root, 'd', 'c') }),
      (e: unknown) => e instanceof SpawnError && /working directory ".*gone" does not exist/.test(e.message));
  });
});

test('a process that cannot join its cgroup does not run its program: exit 126, and it says why', async () => {
  // Not a cgroup: a folder whose cgroup.procs is a folder, so the join's write fails (no root needed).
  const dir = await mkdtemp(path.join(tmpdir(), `cgroup-join-fail-${process.pid}-`));
  try {
    for (const command of [{ kind: 'exec', argv: ['touch', path.join(dir, 'ran')] }, { kind: 'shell', script: `touch ${dir}/ran` }] as const) {
      // (Made again each time: the process's exit removes its "cgroup" folder and what is in it.)
      await mkdir(path.join(dir, 'cg', 'cgroup.procs'), { recursive: true });
      const lines = new Lines();
      const p = await DaemonProcess.start({ command, cgroup: path.join(dir, 'cg'), onLine: lines.onLine });
      assert.deepEqual(await p.exited, { code: 126, signal: null });
      assert.equal(p.cgroupJoinError, `cannot join cgroup ${path.join(dir, 'cg')}`);
      assert.ok(lines.seen.some(([s, l]) => s === 'stderr' && String(l).startsWith('cannot join cgroup')), 'the reason is in its output');
      await assert.rejects(readFile(path.join(dir, 'ran')), 'the program did not run');
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
