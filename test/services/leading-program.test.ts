// leadingProgram: which shell commands plainly name a program that can be checked before `sh` runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { leadingProgram } from '../../src/services/daemon/command.ts';

test('a simple command, or exec of one, names its program; builtins, options and compound lines do not', () => {
  const sh = (script: string) => leadingProgram({ kind: 'shell', script });
  assert.equal(sh('dockerd --experimental'), 'dockerd');
  assert.equal(sh('/usr/sbin/sshd -D'), '/usr/sbin/sshd');
  assert.equal(sh('exec /nonexistent/p arg'), '/nonexistent/p');
  assert.equal(sh('exec -a name prog'), null);
  assert.equal(sh('exec'), null);
  assert.equal(sh('echo hi'), null);
  assert.equal(sh('foo || bar'), null);
  assert.equal(sh('./relative/prog'), null);
  assert.equal(leadingProgram({ kind: 'exec', argv: ['/bin/true'] }), null);
});
