import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, stat, writeFile, mkdir, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { assertionFileName, ensurePrivateDir, removeFileDurable, removeStaleTemps, writeFileDurable } from '../../src/config-lang/durable-file.ts';
import { record } from '../../src/preserves/index.ts';

test('writeFileDurable replaces the file whole with mode 0600 and leaves no temp', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'durable-'));
  const f = path.join(dir, 'a.pr');
  await writeFileDurable(f, 'one\n');
  await writeFileDurable(f, 'two\n');
  assert.equal(await readFile(f, 'utf8'), 'two\n');
  assert.equal((await stat(f)).mode & 0o777, 0o600);
  assert.deepEqual(await readdir(dir), ['a.pr']);
  await removeFileDurable(f);
  await removeFileDurable(f);
  assert.deepEqual(await readdir(dir), []);
});

test('removeStaleTemps removes only temp files', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'durable-'));
  await writeFile(path.join(dir, '.x.pr.tmp-1-abcd'), 'partial');
  await writeFile(path.join(dir, 'x.pr'), 'whole');
  assert.deepEqual(await removeStaleTemps(dir), ['.x.pr.tmp-1-abcd']);
  assert.deepEqual(await readdir(dir), ['x.pr']);
  assert.deepEqual(await removeStaleTemps(path.join(dir, 'missing')), []);
});

test('ensurePrivateDir narrows a looser folder to 0700', async () => {
  const dir = path.join(await mkdtemp(path.join(tmpdir(), 'durable-')), 'state');
  await mkdir(dir);
  await chmod(dir, 0o755);
  assert.equal(await ensurePrivateDir(dir), true);
  assert.equal((await stat(dir)).mode & 0o777, 0o700);
  assert.equal(await ensurePrivateDir(dir), false);
});

test('assertionFileName is the SHA-1 of the canonical form (the seed vector)', () => {
  assert.equal(assertionFileName(record('mobile-data-enabled')), '8814297f352be4ebbff19137770e619b2ebc5e91.pr');
});
