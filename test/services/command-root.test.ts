// --root: a program named by an absolute path runs from under the root when the root holds it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { commandUnderRoot, type Command } from '../../src/services/command.ts';

test('commandUnderRoot moves absolute programs the root has, and leaves everything else', async () => {
  const root = await mkdtemp(path.join(tmpdir(), `cmd-root-${process.pid}-`));
  try {
    await mkdir(path.join(root, 'usr/lib/synit'), { recursive: true });
    await writeFile(path.join(root, 'usr/lib/synit/d'), '#!/bin/sh\n', { mode: 0o755 });
    const d = path.join(root, 'usr/lib/synit/d');
    const exec = (...argv: [string, ...string[]]): Command => ({ kind: 'exec', argv });
    const shell = (script: string): Command => ({ kind: 'shell', script });
    assert.deepEqual(commandUnderRoot(exec('/usr/lib/synit/d', 'a'), root), exec(d, 'a'));
    assert.deepEqual(commandUnderRoot(shell('/usr/lib/synit/d'), root), shell(d));
    assert.deepEqual(commandUnderRoot(shell('/usr/lib/synit/d --x "y z"'), root), shell(d + ' --x "y z"'));
    // Not in the root, relative, or no root: unchanged.
    assert.deepEqual(commandUnderRoot(shell('/usr/sbin/sshd -D'), root), shell('/usr/sbin/sshd -D'));
    assert.deepEqual(commandUnderRoot(exec('/bin/sh', '-c', 'true'), root), exec('/bin/sh', '-c', 'true'));
    assert.deepEqual(commandUnderRoot(shell('d'), root), shell('d'));
    assert.deepEqual(commandUnderRoot(shell('/usr/lib/synit/dd'), root), shell('/usr/lib/synit/dd'));
    assert.deepEqual(commandUnderRoot(exec('/usr/lib/synit/d'), undefined), exec('/usr/lib/synit/d'));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
