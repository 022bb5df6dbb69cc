// syndicate-server as a real process: --check, and running a config folder with the logger.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
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

test('-c runs the scripts of a folder; the logger prints log messages; SIGTERM exits 0', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'serve-'));
  await writeFile(path.join(dir, 'hello.pr'), [
    '<greeting "hi">',
    '? <greeting ?g> $log ! <log "2026-01-01T00:00:00+00:00" {service: <hello>, stream: stdout, line: $g, extra: 1}>',
  ].join('\n'));
  const p = spawn(process.execPath, [BIN, '--no-banner', '-c', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  await new Promise<void>((resolve, reject) => {
    p.stderr.on('data', (d) => { err += d; if (err.includes('\n')) resolve(); });
    p.on('exit', () => reject(new Error('server exited early: ' + err)));
  });
  assert.equal(err.trim(), '2026-01-01T00:00:00+00:00 <hello> stdout: hi extra=1');
  p.kill('SIGTERM');
  const code = await new Promise<number | null>((r) => p.on('exit', (c) => r(c)));
  assert.equal(code, 0);
});

test('npx syndicate-server --check works from the project folder (the package links its own bins)', () => {
  const r = spawnSync('npx', ['--no-install', 'syndicate-server', '--check', 'etc/syndicate'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /checked \d+ file\(s\): 0 error\(s\)/);
});
