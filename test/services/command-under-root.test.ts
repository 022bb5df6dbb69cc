// `--root DIR`: a daemon program named by absolute path runs from under DIR when DIR has it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commandUnderRoot } from '../../src/services/daemon/command.ts';

const has = (...paths: string[]) => (p: string) => paths.includes(p);

test('absolute programs found under the root run from there; others are left alone', () => {
  const exists = has('/r/usr/lib/synit/interface-monitor', "/r o't/usr/sbin/sshd");
  assert.deepEqual(commandUnderRoot({ kind: 'exec', argv: ['/usr/lib/synit/interface-monitor', '--ready-fd', '3'] }, '/r', exists),
    { kind: 'exec', argv: ['/r/usr/lib/synit/interface-monitor', '--ready-fd', '3'] });
  assert.deepEqual(commandUnderRoot({ kind: 'exec', argv: ['/usr/sbin/sshd'] }, '/r', exists), { kind: 'exec', argv: ['/usr/sbin/sshd'] }, 'not under the root');
  assert.deepEqual(commandUnderRoot({ kind: 'exec', argv: ['udhcpc', '-i', 'eth0'] }, '/r', exists), { kind: 'exec', argv: ['udhcpc', '-i', 'eth0'] }, 'PATH programs');
  assert.deepEqual(commandUnderRoot({ kind: 'exec', argv: ['/usr/lib/synit/interface-monitor'] }, undefined, exists), { kind: 'exec', argv: ['/usr/lib/synit/interface-monitor'] }, 'no root');
  assert.deepEqual(commandUnderRoot({ kind: 'shell', script: " /usr/sbin/sshd -D" }, "/r o't", exists), { kind: 'shell', script: ` '/r o'\\''t/usr/sbin/sshd' -D` }, 'the first word of a shell command, quoted');
  assert.deepEqual(commandUnderRoot({ kind: 'shell', script: 'echo /usr/sbin/sshd' }, '/r', has('/r/usr/sbin/sshd')), { kind: 'shell', script: 'echo /usr/sbin/sshd' }, 'only the first word');
});
