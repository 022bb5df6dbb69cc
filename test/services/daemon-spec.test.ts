// Parsing the SPEC of `<daemon ID SPEC>`: every form, every key, defaults, and errors that name
// the field at fault.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from '../../src/preserves/index.ts';
import { DAEMON_SPEC_DEFAULTS, DaemonSpecError, parseDaemonSpec } from '../../src/services/daemon/daemon-spec.ts';

const spec = (text: string) => parseDaemonSpec(parse(text, { positions: true, includeAnnotations: true }));

test('a shell string gets every default', () => {
  const s = spec('"exec sshd -D"');
  assert.deepEqual(s.command, { kind: 'shell', script: 'exec sshd -D' });
  assert.equal(s.oneShot, false);
  assert.equal(s.readyOnStart, true);
  assert.equal(s.restart, 'always');
  assert.equal(s.protocol, 'none');
  assert.equal(s.clearEnv, false);
  assert.equal(s.dir, null);
  assert.equal(s.env.size, 0);
  assert.equal(s.stopTimeoutMs, 10_000);
  assert.equal(s.restartDelayMs, null);
  assert.equal(s.restartMaxDelayMs, 30_000);
  assert.equal(s.restartResetAfterMs, 10_000);
  assert.equal(s.readyNotify, null);
  assert.equal(s.finish, null);
  assert.equal(s.healthCheck, null);
  assert.equal(s.logMaxSize, DAEMON_SPEC_DEFAULTS.logMaxSize);
  assert.equal(s.logFiles, DAEMON_SPEC_DEFAULTS.logFiles);
});

test('an argv sequence is exec’d directly', () => {
  const s = spec('["/usr/sbin/sshd" "-D" "-e"]');
  assert.deepEqual(s.command, { kind: 'exec', argv: ['/usr/sbin/sshd', '-D', '-e'] });
  assert.equal(s.restart, 'always');
});

test('<one-shot CMD> changes readyOnStart and restart defaults', () => {
  for (const text of ['<one-shot "mount -a">', '<one-shot ["mount" "-a"]>']) {
    const s = spec(text);
    assert.equal(s.oneShot, true);
    assert.equal(s.readyOnStart, false);
    assert.equal(s.restart, 'on-error');
  }
  assert.deepEqual(spec('<one-shot ["mount" "-a"]>').command, { kind: 'exec', argv: ['mount', '-a'] });
});

test('the full form reads every key', () => {
  const s = spec(`{
    argv: ["prog" "a"]
    env: {FOO: "1" "BAR": #f}
    dir: "/srv"
    clearEnv: #t
    readyOnStart: #t
    restart: on-error
    protocol: text/syndicate
    stopTimeout: 2.5
    restartDelay: 0
    restartMaxDelay: 60
    restartResetAfter: 0.5
    readyNotify: <fd 3>
    finish: "echo done"
    healthCheck: {command: ["true"] interval: 1 failures: 2 timeout: 0.25}
    logMaxSize: 4096
    logFiles: 3
    someFutureKey: "ignored"
  }`);
  assert.deepEqual(s.command, { kind: 'exec', argv: ['prog', 'a'] });
  assert.deepEqual([...s.env], [['FOO', '1'], ['BAR', null]]);
  assert.equal(s.dir, '/srv');
  assert.equal(s.clearEnv, true);
  assert.equal(s.readyOnStart, true);
  assert.equal(s.restart, 'on-error');
  assert.equal(s.protocol, 'text/syndicate');
  assert.equal(s.stopTimeoutMs, 2500);
  assert.equal(s.restartDelayMs, 0);
  assert.equal(s.restartMaxDelayMs, 60_000);
  assert.equal(s.restartResetAfterMs, 500);
  assert.deepEqual(s.readyNotify, { kind: 'fd', fd: 3 });
  assert.deepEqual(s.finish, { kind: 'shell', script: 'echo done' });
  assert.deepEqual(s.healthCheck, { command: { kind: 'exec', argv: ['true'] }, intervalMs: 1000, failures: 2, timeoutMs: 250 });
  assert.equal(s.logMaxSize, 4096);
  assert.equal(s.logFiles, 3);
});

test('the full form with only argv has the simple form’s defaults', () => {
  const s = spec('{argv: "x"}');
  assert.deepEqual({ ...s, env: [...s.env] }, { ...spec('"x"'), env: [] });
  assert.equal(spec('{argv: "x" protocol: application/syndicate}').protocol, 'application/syndicate');
  for (const p of ['always', 'on-error', 'all', 'never']) assert.equal(spec(`{argv: "x" restart: ${p}}`).restart, p);
});

test('readyNotify makes readyOnStart default to false, unless given', () => {
  const s = spec('{argv: "x" readyNotify: sd-notify}');
  assert.deepEqual(s.readyNotify, { kind: 'sd-notify' });
  assert.equal(s.readyOnStart, false);
  assert.equal(spec('{argv: "x" readyNotify: <fd 5> readyOnStart: #t}').readyOnStart, true);
});

test('healthCheck may be a bare command with documented defaults', () => {
  const s = spec('{argv: "x" healthCheck: "curl -f localhost"}');
  assert.deepEqual(s.healthCheck, {
    command: { kind: 'shell', script: 'curl -f localhost' },
    intervalMs: DAEMON_SPEC_DEFAULTS.healthCheckIntervalMs,
    timeoutMs: DAEMON_SPEC_DEFAULTS.healthCheckTimeoutMs,
    failures: DAEMON_SPEC_DEFAULTS.healthCheckFailures,
  });
  assert.deepEqual(spec('{argv: "x" finish: ["rm" "-f" "/run/x.pid"]}').finish, { kind: 'exec', argv: ['rm', '-f', '/run/x.pid'] });
});

test('errors name the field at fault and say whether the form or an option is bad', () => {
  const cases: [string, string, 'form' | 'option'][] = [
    ['42', 'spec', 'form'],
    ['<daemon "x">', 'spec', 'form'],
    ['[]', 'argv', 'form'],
    ['["prog" 3]', 'argv', 'form'],
    ['[""]', 'argv', 'form'],
    ['<one-shot>', 'spec', 'form'],
    ['<one-shot {argv: "x"}>', 'argv', 'form'],
    ['{dir: "/"}', 'argv', 'form'],
    ['{argv: 7}', 'argv', 'form'],
    ['{argv: "x" env: ["A"]}', 'env', 'option'],
    ['{argv: "x" env: {A: 1}}', 'env', 'option'],
    ['{argv: "x" env: {"A=B": "1"}}', 'env', 'option'],
    ['{argv: "x" dir: 3}', 'dir', 'option'],
    ['{argv: "x" clearEnv: "yes"}', 'clearEnv', 'option'],
    ['{argv: "x" readyOnStart: 1}', 'readyOnStart', 'option'],
    ['{argv: "x" restart: sometimes}', 'restart', 'option'],
    ['{argv: "x" restart: "always"}', 'restart', 'option'],
    ['{argv: "x" protocol: json}', 'protocol', 'option'],
    ['{argv: "x" stopTimeout: -1}', 'stopTimeout', 'option'],
    ['{argv: "x" restartDelay: "1s"}', 'restartDelay', 'option'],
    ['{argv: "x" restartMaxDelay: +inf}', 'restartMaxDelay', 'option'],
    ['{argv: "x" restartResetAfter: #f}', 'restartResetAfter', 'option'],
    ['{argv: "x" readyNotify: <fd 1>}', 'readyNotify', 'option'],
    ['{argv: "x" readyNotify: fd}', 'readyNotify', 'option'],
    ['{argv: "x" finish: #t}', 'finish', 'option'],
    ['{argv: "x" healthCheck: 5}', 'healthCheck', 'option'],
    ['{argv: "x" healthCheck: {interval: 1}}', 'healthCheck.command', 'option'],
    ['{argv: "x" healthCheck: {command: "true" interval: 0}}', 'healthCheck.interval', 'option'],
    ['{argv: "x" healthCheck: {command: "true" failures: 0}}', 'healthCheck.failures', 'option'],
    ['{argv: "x" healthCheck: {command: "true" timeout: "1"}}', 'healthCheck.timeout', 'option'],
    ['{argv: "x" logMaxSize: 0}', 'logMaxSize', 'option'],
    ['{argv: "x" logFiles: 1.5}', 'logFiles', 'option'],
  ];
  for (const [text, field, kind] of cases) {
    assert.throws(() => spec(text), (e: unknown) => {
      assert.ok(e instanceof DaemonSpecError, text);
      assert.equal(e.field, field, text);
      assert.equal(e.kind, kind, text);
      if (field !== 'spec') assert.match(e.message, new RegExp(`^daemon spec field "${field.replace('.', '\\.')}": `), text);
      return true;
    });
  }
  assert.throws(() => spec('{argv: "x" restart: sometimes}'),
    { message: 'daemon spec field "restart": expected one of always, on-error, all, never' });
});
